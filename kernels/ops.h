// The ops of the forward pass: one plain params struct per op, shapes in the comment above
// each. Rows of an activation matrix are positions of one or more sequences stacked
// (batch * seq_len rows); channels are columns. All fp32 on the CPU. Implementations:
// kernels/reference/ (scalar, the ground truth for tests), kernels/cpu/ (TBB + SIMD),
// kernels/cuda/ (later). The model calls them through kernels::Backend (backend.h).
#pragma once

#include <cstdint>

#include "kernels/tensor.h"

namespace strand::kernels {

// y[M, N] = x[M, K] · w[N, K]^T (+ bias[N]) (+ y when accumulate).
// The nn.Linear convention: w is [out_features, in_features], row-major.
struct LinearParams {
  ConstMatF x;                  // [M, K]
  ConstMatF w;                  // [N, K]
  const float* bias = nullptr;  // [N] or null
  MatF y;                       // [M, N]; may not alias x
  bool accumulate = false;      // y += x·w^T (+ bias) instead of y =
  // x is the previous linear call's x (same view), unwritten since: a backend may reuse what it
  // derived from it then (the CUDA tf32x3 split copy). Results are the same bits either way.
  bool x_unchanged = false;
  // x in split form (ScanParams::y_small writes it): x holds TF32 values and x_small the
  // remainders, and the product is (x + x_small)·w^T to fp32 accuracy, on TF32 tensor cores
  // without a split copy of x. Only for a backend whose takes_split_activations() is true;
  // fastest with x_small's columns right after x's in the same rows.
  ConstMatF x_small{};  // [M, K] or empty
  // With x_small's columns right after x's: x's values again after x_small's in the same rows
  // ([x | x_small | x], ld >= 3K; AddRmsNormParams::y_repeated writes them so), so that the
  // product is one TF32 GEMM of depth 3K against [w_big | w_big | w_small].
  bool x_repeated = false;
};

// Depthwise causal convolution over time followed by SiLU, per sequence:
//   forward:  y[t, c] = silu(bias[c] + sum_k w[c, k] * x[t - (K-1) + k, c])
//   reverse (anti-causal, the reverse-direction mixer without flipping the sequence):
//             y[t, c] = silu(bias[c] + sum_k w[c, k] * x[t + (K-1) - k, c])
// Inputs before the first processed position come from state_in (zeros when null). The
// state holds the last K-1 inputs in processing order, oldest first: for the forward
// direction state[s, c, j] = x[t0 - (K-1) + j, c]; for reverse, x[t0 + (K-1) - j, c], where
// t0 is the first position processed. state_out receives the same for the position after the
// last one processed, so a long record can be processed tile by tile with identical results.
struct ConvParams {
  ConstMatF x;                       // [S * L, C]
  const float* w = nullptr;          // [C, K] row-major
  const float* bias = nullptr;       // [C] or null
  MatF y;                            // [S * L, C]; must not alias x
  int64_t seq_len = 0;               // L; rows = S * L
  int kernel = 4;                    // K
  bool reverse = false;
  const float* state_in = nullptr;   // [S, C, K-1] or null (zeros)
  float* state_out = nullptr;        // [S, C, K-1] or null; may equal state_in
};

// Mamba-1 selective scan with fp32 state, per sequence and channel d, state index n:
//   dt[t, d] = softplus(delta[t, d] + delta_bias[d])        (softplus(v) = v for v > 20)
//   h[d, n]  = exp(dt * A[d, n]) * h[d, n] + dt * B[t, n] * u[t, d]
//   y[t, d]  = (sum_n C[t, n] * h[d, n] + Dskip[d] * u[t, d]) * (z ? silu(z[t, d]) : 1)
// Positions run t = 0..L-1, or L-1..0 when reverse (the reverse-direction mixer). h starts
// from h_in (zeros when null); h_out receives the state after the last position processed.
// delta may be given through its low-rank projection instead (Mamba's dt_proj, fused so that
// the [S * L, D] delta matrix is never stored): delta[t, d] = sum_r dt_in[t, r] * dt_w[d, r],
// summed in r order. With accumulate, y += the result (the second direction of a mixer adding
// onto the first's output; y = y + v, one rounding, the same as a separate add). With gate_sum
// (accumulate and z), z gates the sum instead: y = (y + v') * silu(z), v' the result ungated:
// two directions that share z (tied in_proj) gate their summed outputs once.
struct ScanParams {
  ConstMatF u;                        // [S * L, D]
  ConstMatF delta;                    // [S * L, D] (before bias and softplus), or empty: dt_in/dt_w
  ConstMatF dt_in;                    // [S * L, R] when delta is empty
  ConstMatF dt_w;                     // [D, R] when delta is empty
  const float* delta_bias = nullptr;  // [D] or null
  ConstMatF A;                        // [D, N] (= -exp(A_log))
  ConstMatF B;                        // [S * L, N]
  ConstMatF C;                        // [S * L, N]
  const float* Dskip = nullptr;       // [D] or null
  ConstMatF z;                        // [S * L, D] or empty: no gate
  MatF y;                             // [S * L, D], or empty: only h_out is wanted
  int64_t seq_len = 0;                // L
  bool reverse = false;
  bool accumulate = false;            // y += result (y must not alias any input)
  bool gate_sum = false;              // with accumulate and z: y = (y + ungated result) * silu(z)
  // With accumulate: the values the result is added to, when they are not y's own (then y is
  // only written). Same shape; may not alias y or y_small.
  ConstMatF y_add{};
  // Split output (LinearParams::x_small's form): y receives each result v rounded to TF32 and
  // y_small the remainder, itself rounded to TF32 (v to ~2^-22 relative), so that out_proj
  // runs on TF32 tensor cores at fp32 accuracy without splitting y again. y_small may be z
  // itself: each z element is read before its remainder overwrites it. Only for a backend
  // whose takes_split_activations() is true.
  MatF y_small{};                     // [S * L, D] or empty
  const float* h_in = nullptr;        // [S, D, N] or null (zeros)
  float* h_out = nullptr;             // [S, D, N] or null; may equal h_in
  // States a backend that scans in chunks may hand from a state-only call to a later call
  // that wants y over the same rows, so that the later call skips the sweep that finds the
  // state entering each chunk (the model's checkpoint sweep, then its right-to-left mixer over
  // the same tile). Backend::scan_chunk_state_floats() gives the size (0: the backend keeps
  // none; pass neither), which chunk_state_floats must repeat. chunk_states_out: a state-only
  // call stores them there. chunk_states_in: a call with y on the same backend reads them
  // instead (and not h_in); its shapes and the values of u, delta or dt_in/dt_w, delta_bias,
  // A, B, C, direction and h_in must be the storing call's. The results are the same bits as
  // without them.
  float* chunk_states_out = nullptr;
  const float* chunk_states_in = nullptr;
  size_t chunk_state_floats = 0;
  // Memory the caller lends for the call's duration (dead there, overlapping no other view), for
  // a backend that keeps each position's dt between passes (CUDA, chunked calls with y) to use
  // instead of its own scratch; empty: its own. Its values afterwards are unspecified.
  MatF dt_scratch{};                  // [S * L, D] or empty
};

// Fused residual add + RMSNorm, row by row:
//   r = x + residual_in (x alone when residual_in is empty; residual_in alone when x is empty)
//   residual_out = r;  y = r / sqrt(mean(r^2) + eps) * weight
// Any of the views may be column slices of wider matrices; residual_out may alias
// residual_in and y may alias x (same row-by-row traversal).
struct AddRmsNormParams {
  ConstMatF x;             // [R, W] or empty
  ConstMatF residual_in;   // [R, W] or empty
  const float* weight = nullptr;  // [W]
  float eps = 1e-5f;
  MatF residual_out;       // [R, W] or empty
  MatF y;                  // [R, W]
  // Split output (LinearParams::x_small's form, for a linear that follows): y receives each
  // result rounded to TF32, y_small the rounded remainder; with y_repeated (y_small's columns
  // right after y's) the TF32 parts once more after y_small's (LinearParams::x_repeated). Only
  // for a backend whose takes_split_activations() is true.
  MatF y_small{};          // [R, W] or empty
  bool y_repeated = false;
};

// y[r, :] = table[ids[r], :]. Ids are checked by the caller (0 <= id < table.rows).
struct EmbeddingParams {
  const int32_t* ids = nullptr;  // [R]
  ConstMatF table;               // [V, W]
  MatF y;                        // [R, W]
};

// Elementwise y = a + b or y = a * b (the bidirectional strategies), y = (a + b) * 0.5
// (strand averaging) on matching shapes. y may alias a or b.
enum class ElementwiseOp { kAdd, kMul, kAverage };
struct ElementwiseParams {
  ElementwiseOp op = ElementwiseOp::kAdd;
  ConstMatF a, b;  // [R, W]
  MatF y;          // [R, W]
};

// y = x with the row order and/or the column order reversed (reverse complement of an
// RC-equivariant activation flips both). y may not alias x.
struct FlipParams {
  ConstMatF x;  // [R, W]
  MatF y;       // [R, W]
  bool rows = false, cols = false;
};

// Shape and aliasing checks shared by every backend (kernels/ops.cpp): STRAND_ASSERT with a
// message naming the op and the offending dimension. Each backend calls them on entry.
void check(const LinearParams& p);
void check(const ConvParams& p);
void check(const ScanParams& p);
void check(const AddRmsNormParams& p);
void check(const EmbeddingParams& p);
void check(const ElementwiseParams& p);
void check(const FlipParams& p);
// Backend::conv1d_silu_linear's pair: each op's checks, linear's x the conv's y.
void check(const ConvParams& conv, const LinearParams& lin);
// For backends without takes_split_activations(): no x_small, y_small or y_add.
void check_unsplit(const LinearParams& p);
void check_unsplit(const ScanParams& p);
void check_unsplit(const AddRmsNormParams& p);

}  // namespace strand::kernels
