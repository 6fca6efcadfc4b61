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
#pragma once

#include <cstdint>

#include "kernels/cpu/fast_math.h"
#include "kernels/ops.h"

namespace strand::kernels::cpu {

constexpr int64_t kScanBlock = 32;     // channels per task (and vector loop trip count)
constexpr int64_t kPrefetchRows = 8;  // positions ahead that a task prefetches

namespace {

// One sequence s, channels [d0, d0 + width), width <= kScanBlock. Lanes past width are padding
// (dt = 0, so exp(0) = 1 and h stays 0) and are never stored.
// a_t and h are zeroed scratch of nstate * kScanBlock floats each (allocated by the caller, so
// that this header instantiates nothing from the standard library: see scan_avx2.cpp).
inline void scan_block(const ScanParams& p, int64_t s, int64_t d0, int64_t width, float* __restrict a_t,
                       float* __restrict h) {
  const int64_t dim = p.u.cols, nstate = p.A.cols, len = p.seq_len;
  for (int64_t n = 0; n < nstate; ++n) {
    for (int64_t i = 0; i < width; ++i) {
      a_t[n * kScanBlock + i] = p.A.data[(d0 + i) * p.A.ld + n];
      if (p.h_in) h[n * kScanBlock + i] = p.h_in[(s * dim + d0 + i) * nstate + n];
    }
  }
  alignas(64) float dt[kScanBlock] = {}, du[kScanBlock] = {}, acc[kScanBlock];
  for (int64_t q = 0; q < len; ++q) {
    const int64_t row = s * len + (p.reverse ? len - 1 - q : q);
    if (q + kPrefetchRows < len) {
      // A task walks rows a few KB apart: every row is a new page, which the hardware
      // prefetcher does not follow, so fetch the rows kPrefetchRows ahead explicitly.
      const int64_t ahead = s * len + (p.reverse ? len - 1 - q - kPrefetchRows : q + kPrefetchRows);
      __builtin_prefetch(p.u.data + ahead * p.u.ld + d0);
      __builtin_prefetch(p.delta.data + ahead * p.delta.ld + d0);
      __builtin_prefetch(p.B.data + ahead * p.B.ld);
      if (p.z.data) __builtin_prefetch(p.z.data + ahead * p.z.ld + d0);
      if (p.y.data) __builtin_prefetch(p.y.data + ahead * p.y.ld + d0, 1);
    }
    const float* u = (p.u.data + row * p.u.ld) + d0;
    const float* delta = (p.delta.data + row * p.delta.ld) + d0;
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
      y[i] = out;
    }
  }
  if (p.h_out) {
    for (int64_t n = 0; n < nstate; ++n) {
      for (int64_t i = 0; i < width; ++i) p.h_out[(s * dim + d0 + i) * nstate + n] = h[n * kScanBlock + i];
    }
  }
}

}  // namespace
}  // namespace strand::kernels::cpu
