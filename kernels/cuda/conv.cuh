// The depthwise conv's arithmetic per output, shared by conv.cu and the fused conv + projection
// kernel (gemm_tf32x3.cu), so that both give the same bits: the sum in the reference's order
// (bias, then taps 0..K-1) with explicitly rounded multiplies and adds (no FMA contraction, so
// before the SiLU it is bitwise the CPU's), then SiLU on the special-function unit; and the
// conv's arguments as both pass them to their kernels.
#pragma once

#include <cstdint>

#include "kernels/ops.h"

namespace strand::kernels::cuda {

// Plain pointers and strides for the kernels (the Mat views' methods are host code).
struct ConvArgs {
  const float* x = nullptr;
  int64_t x_ld = 0;
  const float* w = nullptr;     // [C, K]
  const float* bias = nullptr;  // [C] or null
  float* y = nullptr;
  int64_t y_ld = 0;
  int64_t rows = 0, channels = 0, len = 0;
  int kernel = 1;
  bool reverse = false;
  const float* state_in = nullptr;  // [S, C, K-1] or null
  float* state_out = nullptr;       // [S, C, K-1] or null; may equal state_in
};

inline ConvArgs conv_args(const ConvParams& p) {
  ConvArgs a;
  a.x = p.x.data;
  a.x_ld = p.x.ld;
  a.w = p.w;
  a.bias = p.bias;
  a.y = p.y.data;
  a.y_ld = p.y.ld;
  a.rows = p.x.rows;
  a.channels = p.x.cols;
  a.len = p.seq_len;
  a.kernel = p.kernel;
  a.reverse = p.reverse;
  a.state_in = p.state_in;
  a.state_out = p.state_out;
  return a;
}

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
