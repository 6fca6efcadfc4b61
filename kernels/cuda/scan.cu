// selective_scan on the GPU, chunked along the sequence so that one long record fills the GPU.
//
// The recurrence h_t = a_t * h_{t-1} + b_t (a_t = exp(dt_t * A[d, n]), b_t = dt_t * B[t, n] *
// u[t, d]) is linear in h, so a run of positions maps an entering state h to
// (prod a_t) * h + local, where local is the run's own state from h = 0 and
// prod a_t = exp(A[d, n] * sum dt_t). Each sequence's positions (in processing order, so the
// reverse direction is the same code walking rows backwards) are cut into `chunks` chunks of
// `chunk_len`:
//   1. chunk_pass<false>: one thread per (sequence, chunk, channel d) runs its chunk from h = 0
//      with the channel's N states in registers, keeping local[n] and sum dt (and, when y is
//      wanted, storing each position's dt, so that pass 3 reads it instead of recomputing
//      dt_proj and softplus: the same bits, ~40 instructions and 2 special functions less per
//      position, and pass 3 then holds no dt_w row in registers);
//   2. carry_kernel: one thread per (sequence, d, n) walks the chunks in order from h_in and
//      stores the state entering every chunk (start), and h_out after the last;
//   3. chunk_pass<true>: the same threads as 1 rerun their chunk from start, now writing y.
// Passes 1 and 3 each compute every exp(dt * A): the chunking is chosen against a single
// direct pass with that cost in mind (chunk_length).
// A state-only call (y empty: the model's checkpoint sweep) stops after 2. h_out always comes
// from 2, so it is the same bitwise with or without y. A state-only call may keep what 2 found
// (ScanParams::chunk_states_out: the state entering every chunk, and h_out) for a later call
// with y over the same inputs, which then runs pass 3 alone, computing dt itself as pass 1
// would have (the same bits): the model's final sweep skips passes 1 and 2 of its right-to-left
// scans wherever the checkpoint sweep ran them. When one chunk covers each sequence
// (short windows, one decoding step) pass 3 runs alone from h_in and writes h_out itself, with
// or without y alike: no chunk states, no carry kernel. Chunks start where the call's rows
// start, so cutting a record into tiles changes the rounding of the result (not its value
// beyond fp32 rounding); the parity tests state the tolerance.
//
// Per position a thread computes dt once for its channel (softplus of delta + bias, or of the
// fused dt_proj: delta = dt_in[t, :] . dt_w[d, :], with dt_w's row in registers for ranks up to
// kRegRank), for all staged positions before their states, and then its N states. The rows'
// dt_in, B and C, the same for every channel of the block, are staged in shared memory kSub
// positions at a time, zero-padded to multiples of 4 so that every thread reads them as
// broadcast float4s; the staging is double-buffered with cp.async, so the next round's loads
// are in flight while this round's states update (H100: scan 0.75 -> 0.70 s per Mb, 1 Mb
// 2-5 % faster end to end). When every staged view is 16-byte aligned with whole float4s per
// row (the model's buffers), the copies are 16 bytes each, from per-thread pointers that move
// by whole rows (ScanArgs::vec). exp(dt * A) is exp2(dt * A * log2(e)) with A pre-scaled per
// thread. The chunk length is chosen so that the chunk passes run whole waves of resident blocks.
// Offsets are 64-bit throughout. Pass 3 keeps each position's C . h + D u in shared memory and
// finishes the round's outputs (gate, add, split) after its state updates, and pass 1 stores
// the round's dt after computing it: per-position branches had kept the compiler from
// overlapping the positions (H100, 131 kb: pass 1 550 -> 497 us, pass 3 ~5 % less).
//
// The passes are issue-bound, not memory- or exp-bound: on an H100 (ncu, a 65,536-row tile of
// the 131k model) they executed ~12 instructions per (position, channel, state), of which the
// state update itself is ~4.7 (pass 1) and ~5.5 (pass 3); the rest is per position and was
// mostly staging arithmetic, libm's softplus and per-position reloads of the options. Taking
// those out (16-byte staging, the series softplus, invariants in registers): pass 1 312 -> 268
// us, pass 3 351 -> 267 us; 128 vs 96 registers or 3 vs 5 blocks per multiprocessor made no
// difference there.
#include <algorithm>
#include <cstdint>
#include <map>
#include <mutex>
#include <type_traits>
#include <utility>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/tf32.cuh"

namespace strand::kernels::cuda {
namespace {

constexpr int kThreads = 128;       // channels per block
// Positions staged in shared memory at a time: with 16, pass 3's two staging buffers (u, dt, z,
// y columns of 128 channels) take 55-72 KB (32, single-buffered: 8% slower at 1 Mb on an H100;
// 8 for pass 3 with 5 blocks per multiprocessor forced: no faster).
constexpr int kSub = 16;
constexpr int64_t kMinChunk = 32;   // positions per chunk, at least
constexpr int64_t kMaxChunk = 4096;
constexpr int kCarryUnroll = 16;    // chunks whose inputs the carry kernel loads together
constexpr int kRegRank = 16;        // fused dt_proj ranks up to this keep dt_w in registers
constexpr int64_t kMaxState = 64;
constexpr float kLog2e = 1.4426950408889634f;

// Plain pointers and strides for the kernels (the Mat views' methods are host code).
struct ScanArgs {
  const float* u = nullptr;
  const float* delta = nullptr;       // null: fused dt_proj
  bool dt_final = false;              // delta is dt itself (pass 1's output): no bias, no softplus
  float* dt_out = nullptr;            // pass 1: dt of every position, [S * L, D] (ld dt_out_ld), or null
  int64_t dt_out_ld = 0;
  const float* dt_in = nullptr;
  const float* dt_w = nullptr;
  const float* delta_bias = nullptr;  // [D] or null
  const float* A = nullptr;
  const float* B = nullptr;
  const float* C = nullptr;
  const float* Dskip = nullptr;  // [D] or null
  const float* z = nullptr;      // null: no gate
  float* y = nullptr;            // null: state only
  const float* y_add = nullptr;  // accumulate: what is added to (y itself, or ScanParams::y_add)
  float* y_small = nullptr;      // split output: y the TF32 parts, y_small the remainders
  int64_t u_ld = 0, delta_ld = 0, dt_in_ld = 0, dt_w_ld = 0, A_ld = 0, B_ld = 0, C_ld = 0, z_ld = 0, y_ld = 0;
  int64_t y_add_ld = 0, y_small_ld = 0;
  int64_t dim = 0, len = 0;
  int nstate = 0, rank = 0;  // rank 0: delta given
  int rank_pad = 0;          // rank rounded up to a multiple of 4 (staged dt_in columns)
  bool reverse = false, accumulate = false;
  bool gate_sum = false;  // z gates y_add + the result (ScanParams::gate_sum)
  int64_t chunk_len = 0, chunks = 0;
  // Every staged array 16-byte aligned with a row stride of whole float4s, rank and nstate
  // multiples of 4: the staging copies 16 bytes at a time (vectorizable()).
  bool vec = false;
  // One chunk per sequence: pass 3 alone, starting from h_in and writing h_out itself (short
  // windows, one decoding step: no chunk states, no carry).
  bool direct = false;
  // [S, chunks, D, N] local states (pass 1) and entering states (pass 2); [S, chunks, D] sum dt.
  float* chunk_local = nullptr;
  float* chunk_start = nullptr;
  float* chunk_dt = nullptr;
  const float* start = nullptr;  // pass 3: the entering states it reads (chunk_start, or the caller's)
  float* h_keep = nullptr;       // pass 2: [S, D, N], a second copy of h_out (or null)
  const float* h_in = nullptr;  // [S, D, N] or null (zeros)
  float* h_out = nullptr;       // [S, D, N] or null; may equal h_in
  const float* chunk_states_in = nullptr;  // ScanParams' (kept_floats())
  float* chunk_states_out = nullptr;
  size_t chunk_state_floats = 0;

  __device__ int64_t row_of(int64_t s, int64_t q) const { return s * len + (reverse ? len - 1 - q : q); }
};

// 2^x on the special-function unit (one instruction, ~2 ulp); results below 2^-126 flush to 0,
// which as a decay factor is as good as its denormal value.
__device__ __forceinline__ float exp2_ftz(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}
// PyTorch's F.softplus with threshold 20, as max(v, 0) + log1p(e), e = exp(-|v|) in (0, 1],
// and log1p(e) = 2 atanh(s), s = e / (2 + e) in (0, 1/3]: the odd series to s^13 leaves
// < 1e-8 relative. A few ulp in all (libm's expf and log1pf took 40 instructions, a third of
// pass 1's; this is 17, two of them special functions). Below v = -87 the result flushes to 0
// (the reference's is < 2e-38).
// Branch-free (the v > 20 case is a select): a branch here kept the compiler from overlapping
// the staged positions' dt chains.
__device__ __forceinline__ float softplus(float v) {
  const float e = exp2_ftz(-fabsf(v) * kLog2e);
  const float s = __fdividef(e, 2.0f + e);
  const float s2 = s * s;
  float p = 1.0f / 13.0f;
  p = fmaf(p, s2, 1.0f / 11.0f);
  p = fmaf(p, s2, 1.0f / 9.0f);
  p = fmaf(p, s2, 1.0f / 7.0f);
  p = fmaf(p, s2, 1.0f / 5.0f);
  p = fmaf(p, s2, 1.0f / 3.0f);
  const float two_s = s + s;
  const float r = fmaxf(v, 0.0f) + fmaf(two_s * s2, p, two_s);
  return v > 20.0f ? v : r;
}
// F.silu with exp(-v) on the special-function unit and an approximate division: a few ulp,
// and 0 once exp(-v) > 2^126 (where silu(v) < 1e-36 anyway).
__device__ __forceinline__ float silu(float v) {
  return __fdividef(v, 1.0f + exp2_ftz(-v * kLog2e));
}

// One float from global to shared memory without holding a register: cp.async (sm_80+), so
// the next positions' inputs arrive while this round's states update. `valid` false writes 0.
__device__ __forceinline__ void stage_float(float* dst, const float* src, bool valid) {
#if __CUDA_ARCH__ >= 800
  const unsigned to = static_cast<unsigned>(__cvta_generic_to_shared(dst));
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(to), "l"(src), "r"(valid ? 4 : 0));
#else
  *dst = valid ? *src : 0.0f;
#endif
}
// Four floats (16-byte aligned at both ends), of which the first bytes / 4 are copied and the
// rest written 0; bypasses L1, as each is read once.
__device__ __forceinline__ void stage_float4(float* dst, const float* src, int bytes) {
#if __CUDA_ARCH__ >= 800
  const unsigned to = static_cast<unsigned>(__cvta_generic_to_shared(dst));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(to), "l"(src), "r"(bytes));
#else
  for (int k = 0; k < 4; ++k) dst[k] = 4 * k < bytes ? src[k] : 0.0f;
#endif
}
// Bytes of a float4 whose first `left` floats exist (the rest are zero-filled).
__device__ __forceinline__ int float4_bytes(int64_t left) {
  return left >= 4 ? 16 : left > 0 ? static_cast<int>(4 * left) : 0;
}
// Where the float4 at column j of a staged row (dt_in | B | C, B and C padded from nstate to kN)
// comes from: src + row * ld, `bytes` of it.
struct RowSource {
  const float* src;
  int64_t ld;
  int bytes;
};
template <int kN>
__device__ __forceinline__ RowSource row_source(const ScanArgs& a, int j, int rank_pad) {
  if (j < rank_pad) return {a.dt_in + j, a.dt_in_ld, 16};
  const bool is_b = j < rank_pad + kN;
  const int n = is_b ? j - rank_pad : j - rank_pad - kN;
  const int bytes = float4_bytes(a.nstate - n);
  if (bytes == 0) return {a.B, 0, 0};
  return is_b ? RowSource{a.B + n, a.B_ld, bytes} : RowSource{a.C + n, a.C_ld, bytes};
}
__device__ __forceinline__ void stage_commit() {
#if __CUDA_ARCH__ >= 800
  asm volatile("cp.async.commit_group;\n" ::);
#endif
}
// Waits until at most `pending` committed groups of this thread are still in flight.
template <int kPending>
__device__ __forceinline__ void stage_wait() {
#if __CUDA_ARCH__ >= 800
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending));
#endif
}

// Passes 1 (kOutput false) and 3 (true). Grid: x = S * chunks, y = channel blocks.
// kN: the state count padded to a multiple of 4 (padding states have A = 0 and B = C = 0, so
// they stay 0 and add 0). kR: how delta comes: 0 given; kRegRank the fused dt_proj with this
// thread's dt_w row in registers (rank <= kRegRank); -1 fused with dt_w staged in shared memory.
template <int kN, int kR, bool kOutput>
__global__ void __launch_bounds__(kThreads) chunk_pass(const ScanArgs a) {
  extern __shared__ float4 smem4[];
  float* const smem = reinterpret_cast<float*>(smem4);
  const int64_t s = blockIdx.x / a.chunks, c = blockIdx.x - s * a.chunks;
  const int tid = threadIdx.x;
  const int64_t d = int64_t(blockIdx.y) * kThreads + tid;
  const bool active = d < a.dim;
  const int nstate = a.nstate, rank = a.rank, rank_pad = a.rank_pad;
  const int row_floats = rank_pad + kN * (kOutput ? 2 : 1);  // a multiple of 4
  const bool read_y = kOutput && a.accumulate && a.y;
  float* const s_w = smem;  // [rank][kThreads] when kR < 0
  // Two staging buffers, filled alternately: rounds of kSub positions, the next one loading
  // while this one is computed. Each: [kSub][row_floats] rows (dt_in, B, C: the same for every
  // channel of the block), then [kSub][kThreads] each of the threads' own columns of u, delta,
  // z and y (for accumulate).
  const int columns = 2 + (kOutput && a.z ? 1 : 0) + (read_y ? 1 : 0);
  const int buffer_floats = kSub * row_floats + columns * kSub * kThreads;
  float* const s_buffers = smem + (kR < 0 ? rank * kThreads : 0);

  float w[kR > 0 ? kR : 1];
  if constexpr (kR > 0) {
#pragma unroll
    for (int r = 0; r < kR; ++r) w[r] = active && r < rank ? a.dt_w[d * a.dt_w_ld + r] : 0.0f;
  } else if constexpr (kR < 0) {
    for (int r = 0; r < rank; ++r) s_w[r * kThreads + tid] = active ? a.dt_w[d * a.dt_w_ld + r] : 0.0f;
  }

  const int64_t chunk_base = (s * a.chunks + c) * a.dim + (active ? d : 0);
  float a2[kN], h[kN];
#pragma unroll
  for (int n = 0; n < kN; ++n) {
    a2[n] = active && n < nstate ? a.A[d * a.A_ld + n] * kLog2e : 0.0f;
    float start = 0.0f;
    if (kOutput && active && n < nstate)
      start = !a.direct ? a.start[chunk_base * nstate + n] : a.h_in ? a.h_in[(s * a.dim + d) * nstate + n] : 0.0f;
    h[n] = start;
  }
  const float dt_bias = active && a.delta_bias ? a.delta_bias[d] : 0.0f;
  const float d_skip = active && a.Dskip ? a.Dskip[d] : 0.0f;
  float sum_dt = 0.0f;

  const int64_t q_begin = c * a.chunk_len;
  const int64_t q_end = q_begin + a.chunk_len < a.len ? q_begin + a.chunk_len : a.len;
  const int64_t dir = a.reverse ? -1 : 1;
  // The 16-byte staging's fixed part (a.vec). Rows: with kThreads a multiple of the float4s per
  // row, thread tid copies float4 row_j / 4 of rows row_i0, row_i0 + row_di, ...; otherwise
  // (row_fixed false) the generic loop below. Columns: kThreads / 4 = 32 float4s per row.
  static_assert(kThreads == 128, "the column staging maps 32 float4s to a row");
  const int row4 = row_floats / 4;
  const bool row_fixed = kThreads % row4 == 0;
  const int row_i0 = tid / row4, row_di = kThreads / row4, row_j = 4 * (tid - row_i0 * row4);
  const RowSource row_fixed_src = a.vec && row_fixed ? row_source<kN>(a, row_j, rank_pad) : RowSource{a.B, 0, 0};
  const int col_i0 = tid / 32, col_k = 4 * (tid % 32);
  const int64_t col_dk = int64_t(blockIdx.y) * kThreads + col_k;
  const int col_bytes = float4_bytes(a.dim - col_dk);
  // Enqueues the copies of the round starting at q0 into buffer `buf` (one commit group).
  const auto stage = [&](int64_t q0, int buf) {
    const int count = q_end - q0 < kSub ? static_cast<int>(q_end - q0) : kSub;
    float* const rows = s_buffers + buf * buffer_floats;
    if (a.vec) {
      // 16-byte copies from the pointers set up below: each thread's float4 of a row sits at a
      // fixed column, so its source moves by whole rows from round to round.
      const int64_t row0 = a.row_of(s, q0);
      if (row_fixed) {
        const RowSource& r = row_fixed_src;
        for (int i = row_i0; i < count; i += row_di)
          stage_float4(rows + i * row_floats + row_j, r.src + (row0 + dir * i) * r.ld, r.bytes);
      } else {
        for (int f = tid; f < count * row4; f += kThreads) {
          const int i = f / row4;
          const RowSource r = row_source<kN>(a, 4 * (f - i * row4), rank_pad);
          stage_float4(rows + 4 * f, r.src + (row0 + dir * i) * r.ld, r.bytes);
        }
      }
      // The columns: row i of a column array as kThreads / 4 float4s of neighbouring channels,
      // this thread's at channel col_dk of rows col_i0, col_i0 + 4, ...
      const int64_t r = row0 + dir * col_i0;
      float* col = rows + kSub * row_floats + col_i0 * kThreads + col_k;
      const float* u_src = col_bytes ? a.u + r * a.u_ld + col_dk : a.u;
      const float* delta_src = kR == 0 && col_bytes ? a.delta + r * a.delta_ld + col_dk : a.delta;
      const float* z_src = kOutput && a.z && col_bytes ? a.z + r * a.z_ld + col_dk : a.z;
      const float* y_src = read_y && col_bytes ? a.y_add + r * a.y_add_ld + col_dk : a.y_add;
      const int64_t step = col_bytes ? 4 * dir : 0;
      for (int i = col_i0; i < count; i += 4, col += 4 * kThreads) {
        float* c = col;
        stage_float4(c, u_src, col_bytes);
        u_src += step * a.u_ld;
        c += kSub * kThreads;
        if (kR == 0) {
          stage_float4(c, delta_src, col_bytes);
          delta_src += step * a.delta_ld;
        }
        c += kSub * kThreads;
        if (kOutput && a.z) {
          stage_float4(c, z_src, col_bytes);
          z_src += step * a.z_ld;
          c += kSub * kThreads;
        }
        if (read_y) {
          stage_float4(c, y_src, col_bytes);
          y_src += step * a.y_add_ld;
        }
      }
      stage_commit();
      return;
    }
    for (int idx = tid; idx < count * row_floats; idx += kThreads) {
      const int i = idx / row_floats, j = idx - i * row_floats;
      const int64_t row = a.row_of(s, q0 + i);
      const float* src = a.B;
      bool valid = false;
      if (j < rank_pad) {
        valid = j < rank;
        if (valid) src = a.dt_in + row * a.dt_in_ld + j;
      } else if (j < rank_pad + kN) {
        valid = j - rank_pad < nstate;
        if (valid) src = a.B + row * a.B_ld + (j - rank_pad);
      } else {
        valid = j - rank_pad - kN < nstate;
        if (valid) src = a.C + row * a.C_ld + (j - rank_pad - kN);
      }
      stage_float(rows + idx, src, valid);
    }
    if (active) {
      float* col = rows + kSub * row_floats + tid;
      const int64_t row0 = a.row_of(s, q0);
      // u, delta, z, y [rows, D]: this thread's column, count rows in processing order
      for (int i = 0; i < count; ++i) stage_float(col + i * kThreads, a.u + (row0 + i * dir) * a.u_ld + d, true);
      col += kSub * kThreads;
      if (kR == 0)
        for (int i = 0; i < count; ++i)
          stage_float(col + i * kThreads, a.delta + (row0 + i * dir) * a.delta_ld + d, true);
      col += kSub * kThreads;
      if (kOutput && a.z) {
        for (int i = 0; i < count; ++i) stage_float(col + i * kThreads, a.z + (row0 + i * dir) * a.z_ld + d, true);
        col += kSub * kThreads;
      }
      if (read_y)
        for (int i = 0; i < count; ++i)
          stage_float(col + i * kThreads, a.y_add + (row0 + i * dir) * a.y_add_ld + d, true);
    }
    stage_commit();
  };

  float* y_p = kOutput && a.y ? a.y + a.row_of(s, q_begin) * a.y_ld + d : nullptr;
  float* y_small_p = kOutput && a.y_small ? a.y_small + a.row_of(s, q_begin) * a.y_small_ld + d : nullptr;
  float* dt_p = !kOutput && a.dt_out ? a.dt_out + a.row_of(s, q_begin) * a.dt_out_ld + d : nullptr;
  // Per-position invariants, held in registers (read from the parameters, they were tested
  // again at every position).
  const int64_t y_step = dir * a.y_ld, y_small_step = dir * a.y_small_ld, dt_step = dir * a.dt_out_ld;
  const bool gate = kOutput && a.z;
  if (q_begin < q_end) stage(q_begin, 0);
  for (int64_t q0 = q_begin, round = 0; q0 < q_end; q0 += kSub, ++round) {
    const int count = q_end - q0 < kSub ? static_cast<int>(q_end - q0) : kSub;
    const int buf = static_cast<int>(round & 1);
    // The next round's copies go out before this round waits for its own. Its buffer was
    // last read in the previous round, which every thread has finished (the barrier at the
    // end of the loop).
    if (q0 + kSub < q_end) {
      stage(q0 + kSub, buf ^ 1);
      stage_wait<1>();
    } else {
      stage_wait<0>();
    }
    __syncthreads();  // every thread's copies of this round have landed
    float* const s_rows = s_buffers + buf * buffer_floats;
    float* const s_u = s_rows + kSub * row_floats;
    float* const s_delta = s_u + kSub * kThreads;  // delta as staged (kR 0), then every position's dt
    float* const s_z = s_delta + kSub * kThreads;
    float* const s_y = s_z + (kOutput && a.z ? kSub * kThreads : 0);
    // No return or continue for the inactive threads: every thread must reach the same
    // barriers (a warp may hold active and inactive channels).
    if (active) {
      // The dt of the staged positions first (into this thread's own column of s_delta): they do
      // not depend on the state, so their dot products and softplus chains run side by side
      // instead of each one delaying its position's state update.
      if (kR != 0 || !a.dt_final) {
#pragma unroll 4
        for (int i = 0; i < count; ++i) {
          const float* staged = s_rows + i * row_floats;
          float delta = 0.0f;
          if constexpr (kR > 0) {
            const float4* dt4 = reinterpret_cast<const float4*>(staged);
#pragma unroll
            for (int r4 = 0; r4 < kR / 4; ++r4) {
              if (4 * r4 < rank_pad) {
                const float4 v = dt4[r4];
                delta = fmaf(v.x, w[4 * r4], delta);
                delta = fmaf(v.y, w[4 * r4 + 1], delta);
                delta = fmaf(v.z, w[4 * r4 + 2], delta);
                delta = fmaf(v.w, w[4 * r4 + 3], delta);
              }
            }
          } else if constexpr (kR < 0) {
            for (int r = 0; r < rank; ++r) delta = fmaf(staged[r], s_w[r * kThreads + tid], delta);
          } else {
            delta = s_delta[i * kThreads + tid];
          }
          const float dt = softplus(a.delta_bias ? delta + dt_bias : delta);
          s_delta[i * kThreads + tid] = dt;
          if (!kOutput) sum_dt += dt;
        }
        // Stored apart from the loop above: a conditional store inside it kept the positions'
        // chains from overlapping.
        if (!kOutput && dt_p) {
          for (int i = 0; i < count; ++i) {
            *dt_p = s_delta[i * kThreads + tid];
            dt_p += dt_step;
          }
        }
      }
      // Two positions per iteration: the next position's exps start while this one's states
      // update (7% faster scoring on an H100; the direct pass then needs 128 registers).
#pragma unroll 2
      for (int i = 0; i < count; ++i) {
        const float* staged = s_rows + i * row_floats;
        const float u = s_u[i * kThreads + tid];
        const float dt = s_delta[i * kThreads + tid];
        const float du = dt * u;
        const float4* b4 = reinterpret_cast<const float4*>(staged + rank_pad);
        const float4* c4 = b4 + kN / 4;
        float acc = 0.0f;
#pragma unroll
        for (int n4 = 0; n4 < kN / 4; ++n4) {
          const float4 b = b4[n4];
          const float bv[4] = {b.x, b.y, b.z, b.w};
          float cv[4] = {0.0f, 0.0f, 0.0f, 0.0f};
          if (kOutput) {
            const float4 cc = c4[n4];
            cv[0] = cc.x, cv[1] = cc.y, cv[2] = cc.z, cv[3] = cc.w;
          }
#pragma unroll
          for (int k = 0; k < 4; ++k) {
            const int n = 4 * n4 + k;
            h[n] = fmaf(exp2_ftz(dt * a2[n]), h[n], bv[k] * du);
            if (kOutput) acc = fmaf(cv[k], h[n], acc);
          }
        }
        // C . h goes where this position's dt was (read above): the outputs are finished and
        // stored after the round, so that no per-position branch splits the state updates.
        if (kOutput) s_delta[i * kThreads + tid] = fmaf(d_skip, u, acc);  // d_skip 0 without D
      }
      if (kOutput && y_p) {
        // Each option tested once per round, not per position. kGate: 0 none, 1 the result
        // (before the add), 2 the sum (gate_sum).
        const auto finish = [&](auto gate_mode, auto add, auto split) {
          constexpr int kGate = decltype(gate_mode)::value;
          for (int i = 0; i < count; ++i) {
            float v = s_delta[i * kThreads + tid];
            if constexpr (kGate == 1) v *= silu(s_z[i * kThreads + tid]);
            if constexpr (decltype(add)::value) v = s_y[i * kThreads + tid] + v;
            if constexpr (kGate == 2) v *= silu(s_z[i * kThreads + tid]);
            if constexpr (decltype(split)::value) {
              // z (which y_small may be) was staged before: this overwrites no unread input.
              const float big = round_tf32(v);
              *y_p = big;
              *y_small_p = tf32_remainder(v, big);
              y_small_p += y_small_step;
            } else {
              *y_p = v;
            }
            y_p += y_step;
          }
        };
        using T = std::true_type;
        using F = std::false_type;
        using None = std::integral_constant<int, 0>;
        using Own = std::integral_constant<int, 1>;
        using Sum = std::integral_constant<int, 2>;
        const bool split = y_small_p != nullptr;
        if (!gate) {
          if (read_y)
            split ? finish(None(), T(), T()) : finish(None(), T(), F());
          else
            split ? finish(None(), F(), T()) : finish(None(), F(), F());
        } else if (read_y && a.gate_sum) {
          split ? finish(Sum(), T(), T()) : finish(Sum(), T(), F());
        } else if (read_y) {
          split ? finish(Own(), T(), T()) : finish(Own(), T(), F());
        } else {
          split ? finish(Own(), F(), T()) : finish(Own(), F(), F());
        }
      }
    }
    __syncthreads();  // this buffer is read: the next round's stage() may fill it
  }
  if (!kOutput && active) {
#pragma unroll
    for (int n = 0; n < kN; ++n)
      if (n < nstate) a.chunk_local[chunk_base * nstate + n] = h[n];
    a.chunk_dt[chunk_base] = sum_dt;
  }
  if (kOutput && a.direct && active && a.h_out) {
#pragma unroll
    for (int n = 0; n < kN; ++n)
      if (n < nstate) a.h_out[(s * a.dim + d) * nstate + n] = h[n];
  }
}

// Pass 2: one thread per (s, d, n), chunks in order. The chunks' inputs do not depend on the
// state, so kCarryUnroll of them are loaded before the dependent multiply-adds.
__global__ void carry_kernel(const ScanArgs a, int64_t states) {
  const int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;  // (s * D + d) * N + n
  if (idx >= states) return;
  const int64_t n = idx % a.nstate, sd = idx / a.nstate, s = sd / a.dim, d = sd - s * a.dim;
  const float a2 = a.A[d * a.A_ld + n] * kLog2e;
  float h = a.h_in ? a.h_in[idx] : 0.0f;
  for (int64_t c0 = 0; c0 < a.chunks; c0 += kCarryUnroll) {
    float local[kCarryUnroll], decay[kCarryUnroll];
#pragma unroll
    for (int j = 0; j < kCarryUnroll; ++j) {
      const int64_t base = (s * a.chunks + c0 + j) * a.dim + d;
      const bool ok = c0 + j < a.chunks;
      local[j] = ok ? a.chunk_local[base * a.nstate + n] : 0.0f;
      decay[j] = ok ? exp2_ftz(a.chunk_dt[base] * a2) : 1.0f;
    }
#pragma unroll
    for (int j = 0; j < kCarryUnroll; ++j) {
      if (c0 + j >= a.chunks) break;
      a.chunk_start[((s * a.chunks + c0 + j) * a.dim + d) * a.nstate + n] = h;
      h = fmaf(decay[j], h, local[j]);
    }
  }
  if (a.h_out) a.h_out[idx] = h;
  if (a.h_keep) a.h_keep[idx] = h;
}

int padded_state(int64_t n) {
  int p = 4;
  while (p < n) p *= 2;
  return p;
}

// Shared memory of a chunk pass; `widest`: as if z and accumulate were on (pass 3's most).
template <int kN, int kR, bool kOutput>
size_t chunk_smem(const ScanArgs& a, bool widest = false) {
  const bool z = kOutput && (a.z || widest), y = kOutput && (a.accumulate || widest);
  const size_t columns = 2 + z + y;  // u, delta (dt), z, y
  const size_t buffer = size_t(kSub) * (a.rank_pad + kN * (kOutput ? 2 : 1)) + columns * kSub * kThreads;
  return sizeof(float) * ((kR < 0 ? size_t(a.rank) * kThreads : 0) + 2 * buffer);
}

// Blocks of the pass resident on the GPU at its widest, so that the chunking (and with it the
// rounding of h_out) is the same whether y, z or accumulate are asked for or not.
template <int kN, int kR, bool kOutput>
int resident_blocks(const ScanArgs& a, int sm_count) {
  const size_t smem = chunk_smem<kN, kR, kOutput>(a, true);
  // The answer depends on the kernel, the shared memory and the device only: asked once per
  // (device, size), so a decoding step does not pay two driver calls per kernel.
  // The kernel's shared-memory limit only ever grows (per device), so every size asked for
  // before stays launchable.
  static std::mutex mutex;
  static std::map<std::pair<int, size_t>, int> per_sm_of;
  static std::map<int, size_t> limit_of;
  int device = 0;
  STRAND_CUDA_CHECK(cudaGetDevice(&device));
  const std::lock_guard<std::mutex> lock(mutex);
  auto it = per_sm_of.find({device, smem});
  if (it == per_sm_of.end()) {
    size_t& limit = limit_of[device];
    if (smem > 48 * 1024 && smem > limit) {
      STRAND_CUDA_CHECK(cudaFuncSetAttribute(chunk_pass<kN, kR, kOutput>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                             static_cast<int>(smem)));
      limit = smem;
    }
    int per_sm = 0;
    STRAND_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, chunk_pass<kN, kR, kOutput>, kThreads, smem));
    STRAND_ASSERT(per_sm > 0, "selective_scan (cuda): the chunk kernel does not fit a multiprocessor (", smem,
                  " bytes of shared memory)");
    it = per_sm_of.emplace(std::make_pair(device, smem), per_sm).first;
  }
  return it->second * sm_count;
}

// Positions per chunk. A pass takes (waves of resident blocks: `resident` for the chunk passes,
// `direct_resident` for the direct one) x (chunk length) time and the carry kernel about
// kCarryStepCost positions' worth per chunk; chunking costs two passes (1 and 3), one chunk per
// sequence a single one. Among one chunk per sequence and the chunk
// counts that fill whole waves (1 to kMaxWaves of them) the cheapest is taken; the length is a
// multiple of kSub. Many short sequences (a batch of windows) fill the GPU without chunking.
int64_t chunk_length(int64_t seqs, int64_t len, int64_t dim, int64_t direct_resident, int64_t resident) {
  constexpr int kMaxWaves = 8;
  constexpr double kCarryStepCost = 0.25;
  const int64_t channel_blocks = (dim + kThreads - 1) / kThreads;
  const int64_t whole = (len + kSub - 1) / kSub * kSub;
  int64_t best = whole;
  double best_cost = double((seqs * channel_blocks + direct_resident - 1) / direct_resident) * double(len);
  for (int waves = 1; waves <= kMaxWaves; ++waves) {
    const int64_t chunks_wanted = std::max<int64_t>(1, waves * resident / (seqs * channel_blocks));
    int64_t chunk = (len + chunks_wanted - 1) / chunks_wanted;
    chunk = std::clamp<int64_t>((chunk + kSub - 1) / kSub * kSub, kMinChunk, kMaxChunk);
    const int64_t chunks = (len + chunk - 1) / chunk;
    const int64_t blocks = seqs * chunks * channel_blocks;
    if (chunks == 1) continue;  // the single pass, costed above
    const double cost =
        2.0 * double((blocks + resident - 1) / resident) * double(chunk) + kCarryStepCost * double(chunks);
    if (cost < best_cost) best_cost = cost, best = chunk;
  }
  return best;
}

bool aligned(const float* p, int64_t ld) {
  return reinterpret_cast<uintptr_t>(p) % 16 == 0 && ld % 4 == 0;
}

// Whether a pass can stage with 16-byte copies (see ScanArgs::vec).
bool vectorizable(const ScanArgs& a, bool output) {
  if (a.rank % 4 != 0 || a.nstate % 4 != 0) return false;
  if (!aligned(a.u, a.u_ld) || !aligned(a.B, a.B_ld) || !aligned(a.C, a.C_ld)) return false;
  if (a.rank == 0 ? !aligned(a.delta, a.delta_ld) : !aligned(a.dt_in, a.dt_in_ld)) return false;
  if (output && a.z && !aligned(a.z, a.z_ld)) return false;
  return !(output && a.accumulate && a.y && !aligned(a.y_add, a.y_add_ld));
}

template <int kN, int kR, bool kOutput>
void launch_chunk_pass(ScanArgs a, int64_t seqs, cudaStream_t stream) {
  a.vec = vectorizable(a, kOutput);
  const size_t smem = chunk_smem<kN, kR, kOutput>(a);
  const int64_t blocks_x = seqs * a.chunks, blocks_y = (a.dim + kThreads - 1) / kThreads;
  STRAND_ASSERT(blocks_x <= 0x7fffffff && blocks_y <= 65535, "selective_scan (cuda): grid ", blocks_x, " x ",
                blocks_y, " exceeds the limits");
  // u, delta, z, y [S * L, D]; dt_in [S * L, R]; dt_w [D, R]; A [D, N]; B, C [S * L, N]:
  // one thread per (s, chunk, d), kThreads channels per block.
  chunk_pass<kN, kR, kOutput><<<dim3(static_cast<unsigned>(blocks_x), static_cast<unsigned>(blocks_y)), kThreads,
                                smem, stream>>>(a);
  STRAND_CUDA_CHECK(cudaGetLastError());
}

// Positions per chunk of a call (and with it the chunk states it keeps): the same whether or
// not y is wanted, as the residencies are taken at the passes' widest. Asking also raises the
// direct pass's shared-memory limit before its first launch.
template <int kN, int kR>
int64_t planned_chunk_len(const ScanArgs& a, int64_t seqs, int sm_count) {
  // Passes 1 and 3 (which reads dt: kR 0) when chunked, or the direct pass (kR) alone.
  const int direct_resident = resident_blocks<kN, kR, true>(a, sm_count);
  const int resident = std::min(resident_blocks<kN, kR, false>(a, sm_count), resident_blocks<kN, 0, true>(a, sm_count));
  return chunk_length(seqs, a.len, a.dim, direct_resident, resident);
}

// Floats of the chunk states a chunked call keeps (ScanParams::chunk_states_out): the state
// entering each chunk, [S, chunks, D, N], then h_out's copy, [S, D, N].
size_t kept_floats(const ScanArgs& a, int64_t seqs) {
  return static_cast<size_t>(seqs * (a.chunks + 1) * a.dim * a.nstate);
}

template <int kN, int kR>
void run(ScanArgs a, int64_t seqs, cudaStream_t stream, Workspace& ws) {
  a.chunk_len = planned_chunk_len<kN, kR>(a, seqs, ws.sm_count());
  a.chunks = (a.len + a.chunk_len - 1) / a.chunk_len;
  if (a.chunks == 1) {
    // Whether or not y is wanted, so that h_out is the same either way. (A call in one chunk
    // keeps no chunk states: scan_chunk_state_floats() says 0, and any given are not used.)
    a.direct = true;
    launch_chunk_pass<kN, kR, true>(a, seqs, stream);
    return;
  }
  const size_t states = static_cast<size_t>(seqs * a.chunks * a.dim);
  STRAND_ASSERT(!(a.chunk_states_in || a.chunk_states_out) || a.chunk_state_floats == kept_floats(a, seqs),
                "selective_scan (cuda): ", a.chunk_state_floats, " floats of chunk states given, this call keeps ",
                kept_floats(a, seqs));
  if (a.chunk_states_in) {
    // Passes 1 and 2 ran in the state-only call that stored these: pass 3 alone, computing dt
    // itself (the same bits as pass 1's stored dt: the same code on the same inputs).
    ScanArgs out = a;
    out.start = a.chunk_states_in;
    launch_chunk_pass<kN, kR, true>(out, seqs, stream);
    if (a.h_out)
      STRAND_CUDA_CHECK(cudaMemcpyAsync(a.h_out, a.chunk_states_in + states * a.nstate,
                                        static_cast<size_t>(seqs * a.dim * a.nstate) * sizeof(float),
                                        cudaMemcpyDeviceToDevice, stream));
    return;
  }
  a.chunk_local = static_cast<float*>(ws.scratch(Workspace::kScanChunkLocal, states * a.nstate * sizeof(float)));
  a.chunk_start = a.chunk_states_out
                      ? a.chunk_states_out
                      : static_cast<float*>(ws.scratch(Workspace::kScanChunkStart, states * a.nstate * sizeof(float)));
  a.h_keep = a.chunk_states_out ? a.chunk_states_out + states * a.nstate : nullptr;
  a.chunk_dt = static_cast<float*>(ws.scratch(Workspace::kScanChunkDt, states * sizeof(float)));
  if (!a.y) {
    a.dt_out = nullptr;  // a state-only call keeps no dt
  } else if (!a.dt_out) {
    a.dt_out = static_cast<float*>(
        ws.scratch(Workspace::kScanDt, static_cast<size_t>(seqs * a.len * a.dim) * sizeof(float)));
    a.dt_out_ld = a.dim;
  }

  launch_chunk_pass<kN, kR, false>(a, seqs, stream);
  const int64_t total_states = seqs * a.dim * a.nstate;
  // chunk_local, chunk_dt -> chunk_start, h_out: one thread per (s, d, n)
  carry_kernel<<<grid_blocks(total_states), kBlockThreads, 0, stream>>>(a, total_states);
  STRAND_CUDA_CHECK(cudaGetLastError());
  if (!a.y) return;
  // Pass 3 reads pass 1's dt: [S * L, D], rows in memory order.
  ScanArgs out = a;
  out.start = a.chunk_start;
  out.delta = a.dt_out;
  out.delta_ld = a.dt_out_ld;
  out.dt_final = true;
  out.rank = out.rank_pad = 0;
  launch_chunk_pass<kN, 0, true>(out, seqs, stream);
}

// Calls f(integral_constant kN, integral_constant kR) with the kernels' template arguments for
// a: the state count padded, and how delta comes (given, dt_w in registers, dt_w staged).
template <typename F>
void dispatch(const ScanArgs& a, const F& f) {
  const auto with_state = [&](auto n) {
    if (a.rank == 0)
      f(n, std::integral_constant<int, 0>());
    else if (a.rank <= kRegRank)
      f(n, std::integral_constant<int, kRegRank>());
    else
      f(n, std::integral_constant<int, -1>());
  };
  switch (padded_state(a.nstate)) {
    case 4: with_state(std::integral_constant<int, 4>()); break;
    case 8: with_state(std::integral_constant<int, 8>()); break;
    case 16: with_state(std::integral_constant<int, 16>()); break;
    case 32: with_state(std::integral_constant<int, 32>()); break;
    case 64: with_state(std::integral_constant<int, 64>()); break;
    default: STRAND_ASSERT(false, "selective_scan (cuda): d_state ", a.nstate);
  }
}

ScanArgs make_args(const ScanParams& p) {
  ScanArgs a;
  a.u = p.u.data;
  a.delta = p.delta.data;
  a.dt_in = p.dt_in.data;
  a.dt_w = p.dt_w.data;
  a.delta_bias = p.delta_bias;
  a.A = p.A.data;
  a.B = p.B.data;
  a.C = p.C.data;
  a.Dskip = p.Dskip;
  a.z = p.z.data;
  a.y = p.y.data;
  a.y_add = p.y_add.empty() ? p.y.data : p.y_add.data;
  a.y_add_ld = p.y_add.empty() ? p.y.ld : p.y_add.ld;
  a.y_small = p.y_small.data;
  a.y_small_ld = p.y_small.ld;
  a.u_ld = p.u.ld;
  a.delta_ld = p.delta.ld;
  a.dt_in_ld = p.dt_in.ld;
  a.dt_w_ld = p.dt_w.ld;
  a.A_ld = p.A.ld;
  a.B_ld = p.B.ld;
  a.C_ld = p.C.ld;
  a.z_ld = p.z.ld;
  a.y_ld = p.y.ld;
  a.dim = p.u.cols;
  a.len = p.seq_len;
  a.nstate = static_cast<int>(p.A.cols);
  a.rank = p.delta.empty() ? static_cast<int>(p.dt_in.cols) : 0;
  a.reverse = p.reverse;
  a.accumulate = p.accumulate;
  a.gate_sum = p.gate_sum;
  a.h_in = p.h_in;
  a.h_out = p.h_out;
  a.chunk_states_in = p.chunk_states_in;
  a.chunk_states_out = p.chunk_states_out;
  a.chunk_state_floats = p.chunk_state_floats;
  a.dt_out = p.dt_scratch.data;  // pass 1's dt goes there (else into the workspace's scratch)
  a.dt_out_ld = p.dt_scratch.ld;
  a.rank_pad = (a.rank + 3) / 4 * 4;
  return a;
}

}  // namespace

// u, delta, z, y [S * L, D]; dt_in [S * L, R]; dt_w [D, R]; A [D, N]; B, C [S * L, N];
// h [S, D, N]
void selective_scan(const ScanParams& p, cudaStream_t stream, Workspace& ws) {
  check(p);
  const int64_t rows = p.u.rows, dim = p.u.cols, nstate = p.A.cols;
  STRAND_ASSERT(nstate <= kMaxState, "selective_scan (cuda): d_state ", nstate, " > ", kMaxState, " is not supported");
  if (rows == 0 || dim == 0) return;
  const ScanArgs a = make_args(p);
  const int64_t seqs = rows / p.seq_len;
  dispatch(a, [&](auto n, auto r) { run<decltype(n)::value, decltype(r)::value>(a, seqs, stream, ws); });
}

size_t scan_chunk_state_floats(const ScanParams& p, int sm_count) {
  const int64_t rows = p.u.rows, dim = p.u.cols, nstate = p.A.cols;
  if (rows == 0 || dim == 0 || p.seq_len <= 0 || nstate > kMaxState) return 0;
  ScanArgs a = make_args(p);
  const int64_t seqs = rows / p.seq_len;
  dispatch(a, [&](auto n, auto r) {
    a.chunk_len = planned_chunk_len<decltype(n)::value, decltype(r)::value>(a, seqs, sm_count);
  });
  a.chunks = (a.len + a.chunk_len - 1) / a.chunk_len;
  return a.chunks > 1 ? kept_floats(a, seqs) : 0;
}

}  // namespace strand::kernels::cuda
