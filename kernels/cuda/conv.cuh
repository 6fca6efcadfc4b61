// The depthwise conv's arithmetic per output, shared by conv.cu and the fused conv + projection
// kernel (gemm_tf32x3.cu), so that both give the same bits: the sum in the reference's order
// (bias, then taps 0..K-1) with explicitly rounded multiplies and adds (no FMA contraction, so
// before the SiLU it is bitwise the CPU's), then SiLU on the special-function unit.
#pragma once

namespace strand::kernels::cuda {

// acc + w * x, each rounded (the CPU's order and rounding).
__device__ __forceinline__ float conv_tap(float acc, float w, float x) {
  return __fadd_rn(acc, __fmul_rn(w, x));
}

// v / (1 + exp(-v)) with exp2 and the division approximate (a few ulp: ~20 instructions less
// than expf and an IEEE division, which the fused kernel's many outputs per thread feel); 0 where
// exp(-v) > 2^126 (silu(v) < 1e-36 there).
__device__ __forceinline__ float conv_silu(float v) {
  return __fdividef(v, 1.0f + __expf(-v));
}

}  // namespace strand::kernels::cuda
