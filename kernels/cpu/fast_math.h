// exp, log1p, softplus and SiLU in plain arithmetic that GCC vectorises (std::exp and
// std::log1p are library calls: they stop the vectoriser, and a scalar call per position and
// channel cost the selective scan more than its whole state update).
//
// exp_fast: the hot exp(dt * A) of the selective scan. Range reduction exp(x) = 2^k exp(r),
// |r| <= ln2/2, with ln2 split in two for an exact k*ln2, then the Cephes expf polynomial. The
// tests measure it against std::exp: within 2 ulp (2.4e-7 relative) on [-87.3, 88].
// Below -87.33 (where std::exp goes subnormal) it returns 0, an absolute error < 1.2e-38;
// above 88 it saturates at exp(88). The scan only ever calls it with x <= 0. Builtins only
// (no std::bit_cast): it is compiled into an AVX2 file too (scan_kernel.h).
#pragma once

#include <cstdint>

namespace strand::kernels::cpu {
namespace {

inline float exp_fast(float x) {
  constexpr float kLo = -87.33654f, kHi = 88.0f;
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
  const float xc = x < kLo ? kLo : (x > kHi ? kHi : x);
  const float k = (xc * kLog2e + kRound) - kRound;
  const float r = (xc - k * kLn2Hi) - k * kLn2Lo;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float e = p * (r * r) + r + 1.0f;
  const float scale = __builtin_bit_cast(float, (static_cast<int32_t>(k) + 127) << 23);
  return x < kLo ? 0.0f : e * scale;
}

// Natural log of a positive normal float: u = m * 2^e with m in [sqrt(1/2), sqrt(2)), then the
// Cephes logf polynomial for log(m) (within 1 ulp of std::log over the normal range).
inline float log_fast(float u) {
  const int32_t bits = __builtin_bit_cast(int32_t, u);
  int32_t e = ((bits >> 23) & 0xff) - 126;
  float m = __builtin_bit_cast(float, (bits & 0x007fffff) | 0x3f000000);  // [0.5, 1)
  const bool low = m < 0.707106781186547524f;
  e = low ? e - 1 : e;
  m = low ? m + m - 1.0f : m - 1.0f;
  const float z = m * m;
  float p = 7.0376836292e-2f;
  p = p * m - 1.1514610310e-1f;
  p = p * m + 1.1676998740e-1f;
  p = p * m - 1.2420140846e-1f;
  p = p * m + 1.4249322787e-1f;
  p = p * m - 1.6668057665e-1f;
  p = p * m + 2.0000714765e-1f;
  p = p * m - 2.4999993993e-1f;
  p = p * m + 3.3333331174e-1f;
  const float fe = static_cast<float>(e);
  float y = m * z * p;
  y += -2.12194440e-4f * fe;
  y += -0.5f * z;
  return (m + y) + 0.693359375f * fe;
}

// log(1 + x) for x >= 0, accurate for small x too: with u = 1 + x rounded, log1p(x) =
// log(u) * x / (u - 1) (the rounding of u cancels); u == 1 means x is below half an ulp of 1.
inline float log1p_fast(float x) {
  const float u = 1.0f + x;
  const float d = u - 1.0f;
  const float safe = d == 0.0f ? 1.0f : d;  // no division by zero, even in unused lanes
  const float l = log_fast(u) * (x / safe);
  return d == 0.0f ? x : l;
}

// The reference's softplus with threshold 20: v above it passes through.
inline float softplus_fast(float v) {
  const float s = log1p_fast(exp_fast(v < 20.0f ? v : 20.0f));
  return v > 20.0f ? v : s;
}

// silu(v) = v * sigmoid(v). For v < -88 exp_fast saturates and the result is a tiny negative
// number, as the exact value is.
inline float silu_fast(float v) {
  return v / (1.0f + exp_fast(-v));
}

}  // namespace
}  // namespace strand::kernels::cpu
