// linear on the GPU: cuBLAS fp32 GEMM (compute type CUBLAS_COMPUTE_32F on a handle in the
// default math mode, so no TF32 and no reduced-precision emulation: true fp32 products and
// sums), then a small kernel adding the bias per output column. The order is the CPU
// backend's: y = (x·w^T [+ y]) + bias.
//
// Row-major y[M, N] = x[M, K] · w[N, K]^T is, read column-major, y^T[N, M] = w · x^T, i.e.
// gemm(opA = T, opB = N, m = N, n = M, k = K, A = w (lda = w.ld), B = x (ldb = x.ld),
// C = y (ldc = y.ld)): the row strides of the row-major views are the leading dimensions.
#include <climits>
#include <cstdint>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_ops.h"

namespace strand::kernels::cuda {
namespace {

// y[i, j] = (replace ? 0 : y[i, j]) + bias[j] (bias may be null: then only the replace).
// Grid-stride over the rows * cols elements of y, consecutive threads on consecutive columns.
__global__ void add_bias_kernel(float* __restrict__ y, int64_t rows, int64_t cols, int64_t ld,
                                const float* __restrict__ bias, bool replace) {
  const int64_t total = rows * cols;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; idx < total; idx += stride) {
    const int64_t i = idx / cols, j = idx - i * cols;
    float* out = y + i * ld + j;
    const float base = replace ? 0.0f : *out;
    *out = bias ? base + bias[j] : base;
  }
}

// cuBLAS takes 32-bit dimensions and leading dimensions.
int to_int(int64_t v, const char* what) {
  STRAND_ASSERT(v >= 0 && v <= INT_MAX, "linear (cuda): ", what, " ", v, " does not fit cuBLAS's 32-bit int");
  return static_cast<int>(v);
}

}  // namespace

// x [M, K], w [N, K], bias [N], y [M, N]
void linear(const LinearParams& p, cublasHandle_t handle, cudaStream_t stream) {
  check(p);
  const int64_t m = p.x.rows, n = p.w.rows, k = p.x.cols;
  if (m == 0 || n == 0) return;
  if (k == 0) {
    // An empty sum: y = (accumulate ? y : 0) + bias. cuBLAS is not asked (lda would be 0).
    if (p.accumulate && !p.bias) return;
    // y [M, N] (+)= bias [N]
    add_bias_kernel<<<grid_blocks(m * n), kBlockThreads, 0, stream>>>(p.y.data, m, n, p.y.ld, p.bias, !p.accumulate);
    STRAND_CUDA_CHECK(cudaGetLastError());
    return;
  }
  const float alpha = 1.0f, beta = p.accumulate ? 1.0f : 0.0f;
  // Column-major: C[N, M] (ldc = y.ld) = A^T · B with A = w as [K, N] (lda = w.ld) and
  // B = x as [K, M] (ldb = x.ld); beta = 0 never reads y.
  STRAND_CUBLAS_CHECK(cublasGemmEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, to_int(n, "N"), to_int(m, "M"), to_int(k, "K"),
                                   &alpha, p.w.data, CUDA_R_32F, to_int(p.w.ld, "w.ld"), p.x.data, CUDA_R_32F,
                                   to_int(p.x.ld, "x.ld"), &beta, p.y.data, CUDA_R_32F, to_int(p.y.ld, "y.ld"),
                                   CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
  if (p.bias) {
    // y [M, N] += bias [N]
    add_bias_kernel<<<grid_blocks(m * n), kBlockThreads, 0, stream>>>(p.y.data, m, n, p.y.ld, p.bias, false);
    STRAND_CUDA_CHECK(cudaGetLastError());
  }
}

}  // namespace strand::kernels::cuda
