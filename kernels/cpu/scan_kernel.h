// The selective-scan kernel for one (sequence, channel block), compiled twice: for the
// baseline ISA in scan.cpp and for AVX2 + FMA in scan_avx2.cpp, which scan.cpp picks at run
// time; its one-position form (scan_step_block, below) also for AVX-512 in scan_avx512.cpp. Everything here has internal linkage (unnamed namespace) and uses nothing with external linkage,
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

#include <immintrin.h>

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

// Row `row`'s outputs of channels [d0, d0 + width) from acc[i] = sum_n C[n] h[i][n]:
// y = (acc + D u) * silu(z), written or added (p.accumulate); with p.gate_sum
// y = (y + acc + D u) * silu(z). acc is overwritten.
inline void write_outputs(const ScanParams& p, int64_t row, int64_t d0, int64_t width, const float* u, float* acc) {
  float* y = (p.y.data + row * p.y.ld) + d0;
  const float* z = p.z.data == nullptr ? nullptr : (p.z.data + row * p.z.ld) + d0;
  for (int64_t i = 0; i < width; ++i) {
    float out = acc[i];
    if (p.Dskip) out += p.Dskip[d0 + i] * u[i];
    if (z && !p.gate_sum) out *= silu_fast(z[i]);
    acc[i] = out;
  }
  // A loop of its own: through memory, out * silu(z) cannot be contracted with y + out into
  // an FMA (GCC contracts across statements), so accumulate equals a separate add, bitwise.
  for (int64_t i = 0; i < width; ++i) y[i] = p.accumulate ? y[i] + acc[i] : acc[i];
  if (p.gate_sum)
    for (int64_t i = 0; i < width; ++i) y[i] *= silu_fast(z[i]);
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
    write_outputs(p, row, d0, width, u, acc);
  }
  if (p.h_out) {
    for (int64_t i = 0; i < width; ++i) {
      for (int64_t n = 0; n < nstate; ++n) p.h_out[(s * dim + d0 + i) * nstate + n] = h[n * kScanBlock + i];
    }
  }
}

// ---- one position (scan_step_block) -------------------------------------------------------

// out[i] = sum_j v[j] * m[i * ld + j] for rows i < count, summed in j order from 0.0f with one
// multiply-add per term: scan_block's `acc[i] += c * h[i]` and `fused[i] += x * w[i]` for a
// matrix stored row by row ([channel][j]). Generic: the rows are independent chains.
inline void dot_rows_generic(const float* m, int64_t ld, const float* v, int64_t cols, int64_t count, float* out) {
  for (int64_t i = 0; i < count; ++i) out[i] = 0.0f;
  for (int64_t j = 0; j < cols; ++j) {
    const float x = v[j];
    for (int64_t i = 0; i < count; ++i) out[i] += x * m[i * ld + j];
  }
}

#if defined(__AVX2__) && defined(__FMA__)
// The same for 8 rows, cols a multiple of 8: 8x8 blocks transposed in registers, so that each
// term is one FMA across the 8 rows (the generic loop reads m with a stride of ld).
inline void dot_rows8(const float* m, int64_t ld, const float* v, int64_t cols, float* out) {
  __m256 acc = _mm256_setzero_ps();
  for (int64_t j0 = 0; j0 < cols; j0 += 8) {
    __m256 r[8], t[8], c[8];
    for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(m + i * ld + j0);
    for (int i = 0; i < 8; i += 2) {
      t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
      t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
      r[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
      r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
      r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
      r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int j = 0; j < 4; ++j) {
      c[j] = _mm256_permute2f128_ps(r[j], r[j + 4], 0x20);
      c[j + 4] = _mm256_permute2f128_ps(r[j], r[j + 4], 0x31);
    }
    for (int j = 0; j < 8; ++j) acc = _mm256_fmadd_ps(_mm256_set1_ps(v[j0 + j]), c[j], acc);
  }
  _mm256_storeu_ps(out, acc);
}
#endif

inline void dot_rows(const float* m, int64_t ld, const float* v, int64_t cols, int64_t count, float* out) {
  int64_t i = 0;
#if defined(__AVX2__) && defined(__FMA__)
  if (cols % 8 == 0)
    for (; i + 8 <= count; i += 8) dot_rows8(m + i * ld, ld, v, cols, out + i);
#endif
  dot_rows_generic(m + i * ld, ld, v, cols, count - i, out + i);
}

// One channel's state h[n] <- exp(dt * a[n]) * h[n] + b[n] * du: scan_block's expression, along
// n. In place (h_in == h_out, the decoding stream) and out of place apart, so that neither loop
// needs a run-time overlap check (which equal pointers would fail, falling back to scalar code).
// kN > 0 fixes N (16, every published Mamba): the loop unrolls into whole vectors and the
// channel loop around it keeps exp_fast's constants in registers; kN == 0 takes N at run time.
template <int64_t kN>
inline void update_state(float* __restrict h, const float* __restrict a, const float* __restrict b, float dt, float du,
                         int64_t nstate) {
  const int64_t count = kN > 0 ? kN : nstate;
  for (int64_t n = 0; n < count; ++n) h[n] = exp_fast(dt * a[n]) * h[n] + b[n] * du;
}
template <int64_t kN>
inline void update_state(float* __restrict h_out, const float* __restrict h_in, const float* __restrict a,
                         const float* __restrict b, float dt, float du, int64_t nstate) {
  const int64_t count = kN > 0 ? kN : nstate;
  for (int64_t n = 0; n < count; ++n) h_out[n] = exp_fast(dt * a[n]) * h_in[n] + b[n] * du;
}
template <int64_t kN>
inline void update_state_from_zero(float* __restrict h_out, const float* __restrict a, const float* __restrict b,
                                   float dt, float du, int64_t nstate) {
  const int64_t count = kN > 0 ? kN : nstate;
  for (int64_t n = 0; n < count; ++n) h_out[n] = exp_fast(dt * a[n]) * 0.0f + b[n] * du;
}

// The state update of channels [0, width) of a block: h rows nstate apart, A rows lda apart.
template <int64_t kN>
inline void update_states(float* h_block, const float* h_in_block, const float* a_block, int64_t lda, const float* b,
                          const float* dt, const float* du, int64_t width, int64_t nstate) {
  for (int64_t i = 0; i < width; ++i) {
    float* hn = h_block + i * nstate;
    const float* an = a_block + i * lda;
    if (!h_in_block)
      update_state_from_zero<kN>(hn, an, b, dt[i], du[i], nstate);
    else if (h_in_block == h_block)
      update_state<kN>(hn, an, b, dt[i], du[i], nstate);
    else
      update_state<kN>(hn, h_in_block + i * nstate, an, b, dt[i], du[i], nstate);
  }
}

// One position of sequence s (seq_len 1: a decoding step), channels [d0, d0 + width), width <=
// kScanBlock, h_out not null: scan_block's arithmetic element for element (the same
// expressions, so the same roundings and FMA contractions: a record fed one token at a time
// equals it fed whole, bit for bit), on A, dt_w and the state in their own [channel][n]
// layouts. scan_block's transposes in and out of its [n][channel] scratch cost more than one
// position's update; here h_in is read and h_out written in place and nothing is allocated.
inline void scan_step_block(const ScanParams& p, int64_t s, int64_t d0, int64_t width) {
  const int64_t dim = p.u.cols, nstate = p.A.cols, rank = scan_rank(p);
  alignas(64) float dt[kScanBlock], du[kScanBlock], acc[kScanBlock], fused[kScanBlock];
  const float* u = (p.u.data + s * p.u.ld) + d0;
  const float* delta = nullptr;
  if (rank == 0) {
    delta = (p.delta.data + s * p.delta.ld) + d0;
  } else {
    // delta[i] = sum_r dt_in[s, r] * dt_w[d0 + i, r], in r order.
    dot_rows(p.dt_w.data + d0 * p.dt_w.ld, p.dt_w.ld, p.dt_in.data + s * p.dt_in.ld, rank, width, fused);
    delta = fused;
  }
  for (int64_t i = 0; i < width; ++i) {
    dt[i] = softplus_fast(p.delta_bias ? delta[i] + p.delta_bias[d0 + i] : delta[i]);
    du[i] = dt[i] * u[i];
  }
  const float* b_row = p.B.data + s * p.B.ld;
  float* h_block = p.h_out + (s * dim + d0) * nstate;
  const float* h_in_block = p.h_in ? p.h_in + (s * dim + d0) * nstate : nullptr;
  const float* a_block = p.A.data + d0 * p.A.ld;
  if (nstate == 16)
    update_states<16>(h_block, h_in_block, a_block, p.A.ld, b_row, dt, du, width, nstate);
  else
    update_states<0>(h_block, h_in_block, a_block, p.A.ld, b_row, dt, du, width, nstate);
  if (!p.y.data) return;
  // acc[i] = sum_n C[n] * h[i][n], in n order.
  dot_rows(h_block, nstate, p.C.data + s * p.C.ld, nstate, width, acc);
  write_outputs(p, s, d0, width, u, acc);
}

}  // namespace
}  // namespace strand::kernels::cpu
