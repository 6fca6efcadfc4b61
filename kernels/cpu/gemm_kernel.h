// The CPU linear's kernel, compiled three times: for the baseline ISA in gemm.cpp, for AVX2 + FMA
// in gemm_avx2.cpp and for AVX-512 in gemm_avx512.cpp; gemm.cpp picks one at run time. As in
// scan_kernel.h, everything here has internal linkage, so the copies cannot be merged by the
// linker.
//
// Why not Eigen: strand needs each y[i, j] to be the same sum in the same order whatever the rows
// computed with it (a tile of a long record, a batch of windows, one decoding step), so that
// results do not depend on --batch, tiling or threads. Eigen's GEMM sums in an order that depends
// on the row count (GEMV for one row, other micro-kernels for remainders), which forced padding
// every block to 24 rows and repacking the weights on each call: a decoding step paid 24x its work.
//
// The order here is fixed by construction: y[i, j] is a dot product of row i of x and row j of w
// (both contiguous along K) in 16 lanes, lane l summing k = l, l + 16, l + 32, ... in turn with
// one fused multiply-add each (separate multiply and add on the baseline ISA), then the lanes are
// added as a fixed tree (l + 8, then + 4, + 2, + 1), then + bias[j], then y + v when accumulating.
// The micro-kernel shape (rows x columns computed together) only decides what is loaded once:
// every output element gets the same operations, so AVX2 and AVX-512 give identical bits and any
// blocking gives identical bits.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/ops.h"

namespace strand::kernels::cpu {

constexpr int kGemmLanes = 16;

namespace {

#if defined(__AVX2__)
// The last three levels of the reduction tree, on 8 lanes s8[l] = s[l] + s[l + 8]: + 4, + 2, + 1.
inline float sum8_tree(__m256 s8) {
  const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
  const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
  return _mm_cvtss_f32(_mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1)));
}
#endif

#if defined(__AVX512F__)
// One 16-lane accumulator is one zmm register.
struct Lanes {
  __m512 v;
};
inline Lanes lanes_zero() {
  return {_mm512_setzero_ps()};
}
inline Lanes lanes_load(const float* p) {
  return {_mm512_loadu_ps(p)};
}
inline Lanes lanes_load_part(const float* p, int n) {
  return {_mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1u), p)};
}
inline void lanes_fma(Lanes& acc, const Lanes& a, const Lanes& b) {
  acc.v = _mm512_fmadd_ps(a.v, b.v, acc.v);
}
inline float lanes_sum(const Lanes& a) {
  // Through memory: GCC 12's 512-to-256-bit extracts warn (-Wuninitialized) from its own headers.
  alignas(64) float s[kGemmLanes];
  _mm512_store_ps(s, a.v);
  return sum8_tree(_mm256_add_ps(_mm256_load_ps(s), _mm256_load_ps(s + 8)));
}
constexpr int kMicroRows = 4, kMicroCols = 4, kRowCols = 8;
#elif defined(__AVX2__) && defined(__FMA__)
// Two ymm registers: lanes 0-7 and 8-15.
struct Lanes {
  __m256 lo, hi;
};
inline Lanes lanes_zero() {
  return {_mm256_setzero_ps(), _mm256_setzero_ps()};
}
inline Lanes lanes_load(const float* p) {
  return {_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8)};
}
inline __m256i lanes_mask(int n) {
  // Lane l is loaded when l < n (sign bit set).
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
inline Lanes lanes_load_part(const float* p, int n) {
  return {_mm256_maskload_ps(p, lanes_mask(n)), _mm256_maskload_ps(p + 8, lanes_mask(n - 8))};
}
inline void lanes_fma(Lanes& acc, const Lanes& a, const Lanes& b) {
  acc.lo = _mm256_fmadd_ps(a.lo, b.lo, acc.lo);
  acc.hi = _mm256_fmadd_ps(a.hi, b.hi, acc.hi);
}
inline float lanes_sum(const Lanes& a) {
  return sum8_tree(_mm256_add_ps(a.lo, a.hi));
}
constexpr int kMicroRows = 2, kMicroCols = 3, kRowCols = 4;
#else
// Portable: plain arrays that the compiler vectorises with whatever the baseline has (SSE2).
struct Lanes {
  float v[kGemmLanes];
};
inline Lanes lanes_zero() {
  return {};
}
inline Lanes lanes_load(const float* p) {
  Lanes r;
  for (int l = 0; l < kGemmLanes; ++l) r.v[l] = p[l];
  return r;
}
inline Lanes lanes_load_part(const float* p, int n) {
  Lanes r{};
  for (int l = 0; l < n; ++l) r.v[l] = p[l];
  return r;
}
inline void lanes_fma(Lanes& acc, const Lanes& a, const Lanes& b) {
  for (int l = 0; l < kGemmLanes; ++l) acc.v[l] += a.v[l] * b.v[l];
}
// The fixed reduction tree over the 16 lanes (the SIMD versions above do exactly these adds).
inline float lanes_sum(const Lanes& a) {
  float s[kGemmLanes];
  for (int l = 0; l < kGemmLanes; ++l) s[l] = a.v[l];
  for (int half = kGemmLanes / 2; half >= 1; half /= 2)
    for (int l = 0; l < half; ++l) s[l] = s[l] + s[l + half];
  return s[0];
}
constexpr int kMicroRows = 2, kMicroCols = 2, kRowCols = 4;
#endif

// acc[i][j] += x[i, k0 + l] * w[j, k0 + l] lane by lane, the lanes loaded by load(pointer).
template <int MR, int NR, typename Load>
inline void fma_step(Lanes (&acc)[MR][NR], const float* x, int64_t ldx, const float* w, int64_t ldw, const Load& load) {
  Lanes xv[MR], wv[NR];
  for (int i = 0; i < MR; ++i) xv[i] = load(x + i * ldx);
  for (int j = 0; j < NR; ++j) wv[j] = load(w + j * ldw);
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) lanes_fma(acc[i][j], xv[i], wv[j]);
}

// out[i * NR + j] = dot(x row i, w row j) over k, for MR rows and NR columns.
template <int MR, int NR>
inline void dot_block(const float* x, int64_t ldx, const float* w, int64_t ldw, int64_t k, float* out) {
  Lanes acc[MR][NR];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) acc[i][j] = lanes_zero();
  int64_t kk = 0;
  for (; kk + kGemmLanes <= k; kk += kGemmLanes)
    fma_step(acc, x + kk, ldx, w + kk, ldw, [](const float* p) { return lanes_load(p); });
  if (kk < k) {
    // The lanes past k load zeros on both sides: fma(0, 0, acc) leaves them unchanged.
    const int n = static_cast<int>(k - kk);
    fma_step(acc, x + kk, ldx, w + kk, ldw, [n](const float* p) { return lanes_load_part(p, n); });
  }
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) out[i * NR + j] = lanes_sum(acc[i][j]);
}

template <int MR, int NR>
inline void store_block(const LinearParams& p, int64_t r, int64_t c, const float* dots) {
  for (int i = 0; i < MR; ++i) {
    float* y = p.y.data + (r + i) * p.y.ld + c;
    for (int j = 0; j < NR; ++j) {
      float v = dots[i * NR + j];
      if (p.bias) v = v + p.bias[c + j];
      y[j] = p.accumulate ? y[j] + v : v;
    }
  }
}

template <int MR, int NR>
inline void compute_block(const LinearParams& p, int64_t r, int64_t c) {
  float dots[MR * NR];
  dot_block<MR, NR>(p.x.data + r * p.x.ld, p.x.ld, p.w.data + c * p.w.ld, p.w.ld, p.x.cols, dots);
  store_block<MR, NR>(p, r, c, dots);
}

#if defined(__AVX512F__)
// One row of x against 16 rows of w (decoding), for the outputs y[r, c:c + 16]. The rows of w
// are read one after the other, so that w streams in address order (dot_block's NR rows side
// by side stream from L3 at two thirds of the rate); out-of-order execution overlaps their
// independent chains. The 16 lane reductions are done together, each level of lanes_sum's tree
// (+ 8, + 4, + 2, + 1) one add across several outputs after a shuffle: the same additions of
// the same numbers, so the same bits.
inline void compute_row16(const LinearParams& p, int64_t r, int64_t c) {
  const float* x = p.x.data + r * p.x.ld;
  const int64_t k = p.x.cols;
  __m512 acc[16];
  for (int j = 0; j < 16; ++j) {
    const float* w = p.w.data + (c + j) * p.w.ld;
    Lanes a = lanes_zero();
    int64_t kk = 0;
    for (; kk + kGemmLanes <= k; kk += kGemmLanes) lanes_fma(a, lanes_load(x + kk), lanes_load(w + kk));
    if (kk < k) {
      const int n = static_cast<int>(k - kk);
      lanes_fma(a, lanes_load_part(x + kk, n), lanes_load_part(w + kk, n));
    }
    acc[j] = a.v;
  }
  // s[l] + s[l + 8]: [output 2i | output 2i + 1], 8 lanes each.
  __m512 s8[8], s4[4], s2[2];
  for (int i = 0; i < 8; ++i) {
    s8[i] = _mm512_add_ps(_mm512_shuffle_f32x4(acc[2 * i], acc[2 * i + 1], 0x44),
                          _mm512_shuffle_f32x4(acc[2 * i], acc[2 * i + 1], 0xEE));
  }
  // + 4: 128-bit block b of s4[i] holds output 4i + b.
  for (int i = 0; i < 4; ++i) {
    s4[i] = _mm512_add_ps(_mm512_shuffle_f32x4(s8[2 * i], s8[2 * i + 1], 0x88),
                          _mm512_shuffle_f32x4(s8[2 * i], s8[2 * i + 1], 0xDD));
  }
  // + 2: block b of s2[i] holds outputs 8i + b (lanes 0, 1) and 8i + 4 + b (lanes 2, 3).
  for (int i = 0; i < 2; ++i) {
    s2[i] = _mm512_add_ps(_mm512_shuffle_ps(s4[2 * i], s4[2 * i + 1], 0x44),
                          _mm512_shuffle_ps(s4[2 * i], s4[2 * i + 1], 0xEE));
  }
  // + 1: lane 4b + i holds output 4i + b; put them in order.
  const __m512 s1 = _mm512_add_ps(_mm512_shuffle_ps(s2[0], s2[1], 0x88), _mm512_shuffle_ps(s2[0], s2[1], 0xDD));
  __m512 v = _mm512_permutexvar_ps(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), s1);
  // As store_block: + bias, then y + v.
  if (p.bias) v = _mm512_add_ps(v, _mm512_loadu_ps(p.bias + c));
  float* y = p.y.data + r * p.y.ld + c;
  if (p.accumulate) v = _mm512_add_ps(_mm512_loadu_ps(y), v);
  _mm512_storeu_ps(y, v);
}
#endif

// y[r0:r1, c0:c1]. Columns outside, rows inside: the micro-kernel's NR rows of w (NR * K floats)
// stay in L1 while the rows of x stream past.
inline void gemm_tile(const LinearParams& p, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  if (r1 - r0 < kMicroRows) {
    // A few rows (decoding): one row at a time against kRowCols rows of w, more loads in flight.
    for (int64_t r = r0; r < r1; ++r) {
      int64_t c = c0;
#if defined(__AVX512F__)
      for (; c + 16 <= c1; c += 16) compute_row16(p, r, c);
#endif
      for (; c + kRowCols <= c1; c += kRowCols) compute_block<1, kRowCols>(p, r, c);
      for (; c < c1; ++c) compute_block<1, 1>(p, r, c);
    }
    return;
  }
  int64_t c = c0;
  for (; c + kMicroCols <= c1; c += kMicroCols) {
    int64_t r = r0;
    for (; r + kMicroRows <= r1; r += kMicroRows) compute_block<kMicroRows, kMicroCols>(p, r, c);
    for (; r < r1; ++r) compute_block<1, kMicroCols>(p, r, c);
  }
  for (; c < c1; ++c) {
    int64_t r = r0;
    for (; r + kMicroRows <= r1; r += kMicroRows) compute_block<kMicroRows, 1>(p, r, c);
    for (; r < r1; ++r) compute_block<1, 1>(p, r, c);
  }
}

}  // namespace
}  // namespace strand::kernels::cpu
