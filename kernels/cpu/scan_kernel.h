// The selective-scan kernel for one (sequence, channel block), compiled twice: for the
// baseline ISA in scan.cpp and for AVX2 + FMA in scan_avx2.cpp, which scan.cpp picks at run
// time. Everything here has internal linkage (unnamed namespace) and uses nothing with external linkage,
// so the two copies cannot be merged by the linker (an AVX2 copy of a shared inline function would
// crash a machine without AVX2).
//
// A task owns one sequence and a block of kScanBlock channels for the whole length, so the
// recurrence runs in order with its state h[n][channel] in a small local array (L1-resident).
// Vectorisation is across channels: at each position the loops over the block's channels
// have a fixed trip count and contiguous data (u, delta, z rows; A transposed to [n][channel]),
// B[t, n] and C[t, n] are broadcast scalars. exp(dt * A), softplus and silu are the vectorisable
// forms of fast_math.h (a few ulp from std::exp / std::log1p).
// The sums run in the reference's order (y = sum over n = 0..N-1, then + D*u, then * silu(z)).
// With the fused dt_proj (delta empty), delta for the block is computed at each position from the
// dt_in row (broadcast scalars) and dt_w transposed to [r][channel], summed over r = 0..R-1 in
// fp32 (the reference sums in double: a few ulp apart). Nothing of size [S * L, D] is stored.
#pragma once

#include <cstdint>

#include "kernels/cpu/fast_math.h"
#include "kernels/ops.h"

namespace strand::kernels::cpu {

constexpr int64_t kScanBlock = 32;    // channels per task (and vector loop trip count)
constexpr int64_t kPrefetchRows = 8;  // positions ahead that a task prefetches
constexpr int64_t kLineFloats = 16;   // floats per 64-byte cache line

namespace {

// The number of dt_proj columns the kernel reads (R), 0 when delta is given: the caller sizes the
// w_t scratch with it.
inline int64_t scan_rank(const ScanParams& p) {
  return p.delta.data ? 0 : p.dt_in.cols;
}

// One sequence s, channels [d0, d0 + width), width <= kScanBlock. Lanes past width are padding
// (dt = 0, so exp(0) = 1 and h stays 0) and are never stored.
// a_t and h are zeroed scratch of nstate * kScanBlock floats each, w_t of scan_rank(p) *
// kScanBlock (allocated by the caller, so that this header instantiates nothing from the
// standard library: see scan_avx2.cpp).
inline void scan_block(const ScanParams& p, int64_t s, int64_t d0, int64_t width, float* __restrict a_t,
                       float* __restrict h, float* __restrict w_t) {
  const int64_t dim = p.u.cols, nstate = p.A.cols, len = p.seq_len, rank = scan_rank(p);
  // Channel outer, state inner: A, h_in and h_out are read and written contiguously (a decoding
  // step's scan is little more than this transpose in and out).
  for (int64_t i = 0; i < width; ++i) {
    for (int64_t n = 0; n < nstate; ++n) {
      a_t[n * kScanBlock + i] = p.A.data[(d0 + i) * p.A.ld + n];
      if (p.h_in) h[n * kScanBlock + i] = p.h_in[(s * dim + d0 + i) * nstate + n];
    }
  }
  // dt_w [D, R] to [r][channel]: padding lanes stay 0 (their delta is never read).
  for (int64_t i = 0; i < width; ++i) {
    for (int64_t r = 0; r < rank; ++r) w_t[r * kScanBlock + i] = p.dt_w.data[(d0 + i) * p.dt_w.ld + r];
  }
  alignas(64) float dt[kScanBlock] = {}, du[kScanBlock] = {}, acc[kScanBlock], fused[kScanBlock];
  for (int64_t q = 0; q < len; ++q) {
    const int64_t row = s * len + (p.reverse ? len - 1 - q : q);
    if (q + kPrefetchRows < len) {
      // A task walks rows a few KB apart: every row is a new page, which the hardware
      // prefetcher does not follow, so fetch the rows kPrefetchRows ahead explicitly.
      const int64_t ahead = s * len + (p.reverse ? len - 1 - q - kPrefetchRows : q + kPrefetchRows);
      __builtin_prefetch(p.u.data + ahead * p.u.ld + d0);
      if (rank == 0) {
        __builtin_prefetch(p.delta.data + ahead * p.delta.ld + d0);
      } else {
        // The whole dt_in row (R floats, every cache line of it) instead of the delta row.
        const float* dt_in = p.dt_in.data + ahead * p.dt_in.ld;
        for (int64_t r = 0; r < rank; r += kLineFloats) __builtin_prefetch(dt_in + r);
        __builtin_prefetch(dt_in + rank - 1);
      }
      __builtin_prefetch(p.B.data + ahead * p.B.ld);
      if (p.z.data) __builtin_prefetch(p.z.data + ahead * p.z.ld + d0);
      if (p.y.data) __builtin_prefetch(p.y.data + ahead * p.y.ld + d0, 1);
    }
    const float* u = (p.u.data + row * p.u.ld) + d0;
    const float* delta = nullptr;
    if (rank == 0) {
      delta = (p.delta.data + row * p.delta.ld) + d0;
    } else {
      // delta[i] = sum_r dt_in[row, r] * dt_w[d0 + i, r], in r order, across the block's channels.
      const float* dt_in = p.dt_in.data + row * p.dt_in.ld;
      for (int64_t i = 0; i < kScanBlock; ++i) fused[i] = 0.0f;
      for (int64_t r = 0; r < rank; ++r) {
        const float x = dt_in[r];
        const float* wr = w_t + r * kScanBlock;
        for (int64_t i = 0; i < kScanBlock; ++i) fused[i] += x * wr[i];
      }
      delta = fused;
    }
    for (int64_t i = 0; i < width; ++i) {
      dt[i] = softplus_fast(p.delta_bias ? delta[i] + p.delta_bias[d0 + i] : delta[i]);
      du[i] = dt[i] * u[i];
    }
    const float* b_row = (p.B.data + row * p.B.ld);
    if (!p.y.data) {
      // Only the state is wanted (h_out): no C · h, no output.
      for (int64_t n = 0; n < nstate; ++n) {
        const float b = b_row[n];
        float* hn = h + n * kScanBlock;
        const float* an = a_t + n * kScanBlock;
        for (int64_t i = 0; i < kScanBlock; ++i) hn[i] = exp_fast(dt[i] * an[i]) * hn[i] + b * du[i];
      }
      continue;
    }
    for (int64_t i = 0; i < kScanBlock; ++i) acc[i] = 0.0f;
    const float* c_row = (p.C.data + row * p.C.ld);
    for (int64_t n = 0; n < nstate; ++n) {
      const float b = b_row[n], c = c_row[n];
      float* hn = h + n * kScanBlock;
      const float* an = a_t + n * kScanBlock;
      for (int64_t i = 0; i < kScanBlock; ++i) {
        hn[i] = exp_fast(dt[i] * an[i]) * hn[i] + b * du[i];
        acc[i] += c * hn[i];
      }
    }
    float* y = (p.y.data + row * p.y.ld) + d0;
    const float* z = p.z.data == nullptr ? nullptr : (p.z.data + row * p.z.ld) + d0;
    for (int64_t i = 0; i < width; ++i) {
      float out = acc[i];
      if (p.Dskip) out += p.Dskip[d0 + i] * u[i];
      if (z) out *= silu_fast(z[i]);
      acc[i] = out;
    }
    // A loop of its own: through memory, out * silu(z) cannot be contracted with y + out into
    // an FMA (GCC contracts across statements), so accumulate equals a separate add, bitwise.
    for (int64_t i = 0; i < width; ++i) y[i] = p.accumulate ? y[i] + acc[i] : acc[i];
  }
  if (p.h_out) {
    for (int64_t i = 0; i < width; ++i) {
      for (int64_t n = 0; n < nstate; ++n) p.h_out[(s * dim + d0 + i) * nstate + n] = h[n * kScanBlock + i];
    }
  }
}

}  // namespace
}  // namespace strand::kernels::cpu
