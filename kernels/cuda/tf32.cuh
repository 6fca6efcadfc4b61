// TF32 rounding shared by the GEMM paths that emulate fp32 products on the TF32 tensor cores
// (gemm.cu's split copies, gemm_tf32x3.cu's split in registers): an fp32 value is its TF32
// rounding `big` plus a remainder `small`, both exact in fp32, and the tensor cores multiply
// each of them without further rounding.
#pragma once

#include <cstdint>

namespace strand::kernels::cuda {

// TF32 rounding (to nearest, ties away, as cvt.rna.tf32.f32; the tensor cores' own input
// conversion keeps the top 10 mantissa bits, so a pre-rounded operand reaches them unchanged),
// on the integer bits: the conversion instruction runs at a quarter of the integer pipe's rate,
// and it exists only from sm_80. Infinities and NaNs are kept as they are (adding to a NaN's
// bits could carry it into the sign, 0x7fffffff -> -0).
__device__ __forceinline__ float round_tf32(float v) {
  return isfinite(v) ? __uint_as_float((__float_as_uint(v) + 0x1000u) & 0xffffe000u) : v;
}

// The remainder's own TF32 rounding (rounded, not truncated by the tensor cores, so that the
// errors do not add up one way along K). An infinite big part (v infinite, or rounded past the
// largest float) has no remainder: inf - inf would be NaN.
__device__ __forceinline__ float tf32_remainder(float v, float big) {
  return isfinite(big) ? round_tf32(v - big) : 0.0f;
}

}  // namespace strand::kernels::cuda
