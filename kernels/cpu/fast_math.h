// exp in plain arithmetic that GCC vectorises (std::exp is a library call and stops the
// vectoriser): the hot exp(dt * A) of the selective scan. Range reduction exp(x) = 2^k exp(r),
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

}  // namespace
}  // namespace strand::kernels::cpu
