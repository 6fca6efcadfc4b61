// linear on the GPU: a cuBLAS GEMM, then a small kernel adding the bias per output column. The
// order is the CPU backend's: y = (x·w^T [+ y]) + bias. By precision:
//   fp32: compute type CUBLAS_COMPUTE_32F on a handle in the default math mode, so no TF32 and
//         no reduced-precision emulation: true fp32 products and sums;
//   tf32: CUBLAS_COMPUTE_32F_FAST_TF32 on the same fp32 operands (tensor cores);
//   tf32x3: fp32 products emulated on the TF32 tensor cores. Each operand is split into its
//         TF32 rounding and the remainder (a = a_big + a_small, both exact in fp32), and
//         x·w^T = x_big·w_big + x_small·w_big + x_big·w_small, the three products laid side by
//         side along K so that one TF32 GEMM of depth 3K sums them: x' = [x_big | x_small |
//         x_big], w' = [w_big | w_big | w_small] (compact scratch copies). The dropped
//         x_small·w_small and the TF32 rounding of the remainders (rounded here, not truncated
//         by the tensor cores, so that the errors do not add up one way along K) are ~2^-22 of
//         each product, near fp32's own 2^-24; the sums are fp32. Worth it where the fp32 rate
//         is the limit (cuBLAS fp32 ~40 TFLOP/s on an H100, this ~300 in TF32 terms) and x is
//         narrow next to y: splitting x moves 16 bytes per element, so products with fewer
//         than kSplitMinColumns output columns stay fp32 (H100, 65,536 rows: N = 512, K = 256
//         took 92 µs to split + 170 µs against 364 µs in fp32; N = 256, K = 512: 407 vs 360).
//   bf16: x and w rounded to bf16 into compact scratch copies (round to nearest even), then a
//         bf16 x bf16 GEMM with fp32 accumulation and fp32 y. The weights are converted at
//         every call: they are small next to x, and no cache can go stale.
// Products with few output columns (N < kReducedMinColumns: the mixers' x_proj, whose dt, B
// and C feed the scan's exponentials) stay fp32-accurate in every mode: in the tensor-core
// modes tf32x3 with x split in registers (gemm_tf32x3.cu) where that kernel takes the shape (at
// least 512 rows, x with 16-byte rows), otherwise fp32. Products of 64 to 383 columns run fp32
// in tf32x3 mode, unless x comes split (LinearParams::x_small: out_proj from the scan, in_proj
// from the norm as [big | small | big] rows with x_repeated; gemm_split_x).
//
// Row-major y[M, N] = x[M, K] · w[N, K]^T is, read column-major, y^T[N, M] = w · x^T, i.e.
// gemm(opA = T, opB = N, m = N, n = M, k = K, A = w (lda = w.ld), B = x (ldb = x.ld),
// C = y (ldc = y.ld)): the row strides of the row-major views are the leading dimensions.
#include <cuda_bf16.h>

#include <algorithm>
#include <climits>
#include <cstdint>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/tf32.cuh"

namespace strand::kernels::cuda {
namespace {

// Row kernels: a block per row (grid-strided over y), its threads over the columns: no
// division per element.
constexpr int kRowThreads = 128;
dim3 row_grid(int64_t rows) { return dim3(1, static_cast<unsigned>(std::clamp<int64_t>(rows, 1, 65535))); }

// y[i, j] = (replace ? 0 : y[i, j]) + bias[j] (bias may be null: then only the replace).
__global__ void add_bias_kernel(float* __restrict__ y, int64_t rows, int64_t cols, int64_t ld,
                                const float* __restrict__ bias, bool replace) {
  for (int64_t i = blockIdx.y; i < rows; i += gridDim.y) {
    float* row = y + i * ld;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      const float base = replace ? 0.0f : row[j];
      row[j] = bias ? base + bias[j] : base;
    }
  }
}

// y[i, j] = bf16(x[i * ld + j]): a strided [rows, cols] view to a compact bf16 copy.
__global__ void to_bf16_kernel(const float* __restrict__ x, int64_t rows, int64_t cols, int64_t ld,
                               __nv_bfloat16* __restrict__ y) {
  for (int64_t i = blockIdx.y; i < rows; i += gridDim.y) {
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) y[i * cols + j] = __float2bfloat16_rn(x[i * ld + j]);
  }
}

// y[i, :] = three blocks of cols: big | small | big (small_block = 1: the x side) or big | big |
// small (small_block = 2: the w side), from a strided [rows, cols] view; y is [rows, 3 * cols].
__global__ void split_tf32_kernel(const float* __restrict__ x, int64_t rows, int64_t cols, int64_t ld,
                                  float* __restrict__ y, int small_block) {
  for (int64_t i = blockIdx.y; i < rows; i += gridDim.y) {
    float* out = y + i * 3 * cols;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      const float v = x[i * ld + j], big = round_tf32(v), small = tf32_remainder(v, big);
      for (int b = 0; b < 3; ++b) out[b * cols + j] = b == small_block ? small : big;
    }
  }
}

const float* split_tf32(ConstMatF m, int small_block, Workspace::Slot slot, Workspace& ws, cudaStream_t stream) {
  auto* out = static_cast<float*>(ws.scratch(slot, static_cast<size_t>(m.rows * m.cols) * 3 * sizeof(float)));
  // [rows, cols] fp32 (ld) -> [rows, 3 * cols] fp32 (compact)
  split_tf32_kernel<<<row_grid(m.rows), kRowThreads, 0, stream>>>(m.data, m.rows, m.cols, m.ld, out, small_block);
  STRAND_CUDA_CHECK(cudaGetLastError());
  return out;
}

const __nv_bfloat16* to_bf16(ConstMatF m, Workspace::Slot slot, Workspace& ws, cudaStream_t stream) {
  auto* out = static_cast<__nv_bfloat16*>(ws.scratch(slot, static_cast<size_t>(m.rows * m.cols) * 2));
  // [rows, cols] fp32 (ld) -> [rows, cols] bf16 (compact)
  to_bf16_kernel<<<row_grid(m.rows), kRowThreads, 0, stream>>>(m.data, m.rows, m.cols, m.ld, out);
  STRAND_CUDA_CHECK(cudaGetLastError());
  return out;
}

constexpr int64_t kReducedMinColumns = 64;
constexpr int64_t kSplitMinColumns = 384;

// cuBLAS takes 32-bit dimensions and leading dimensions.
int to_int(int64_t v, const char* what) {
  STRAND_ASSERT(v >= 0 && v <= INT_MAX, "linear (cuda): ", what, " ", v, " does not fit cuBLAS's 32-bit int");
  return static_cast<int>(v);
}

// One cuBLAS GEMM, y [M, N] = x [M, K] · w [N, K]^T + beta · y (fp32 y), in the column-major
// reading above: C[N, M] (ldc = y.ld) = A^T · B with A = w as [K, N] (lda = ldw) and B = x as
// [K, M] (ldb = ldx); beta = 0 never reads y.
void gemm(cublasHandle_t handle, int64_t m, int64_t n, int64_t k, const void* w, int64_t ldw, const void* x,
          int64_t ldx, float beta, MatF y, cudaDataType_t operand_type = CUDA_R_32F,
          cublasComputeType_t compute = CUBLAS_COMPUTE_32F_FAST_TF32) {
  const float alpha = 1.0f;
  STRAND_CUBLAS_CHECK(cublasGemmEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, to_int(n, "N"), to_int(m, "M"), to_int(k, "K"),
                                   &alpha, w, operand_type, to_int(ldw, "w.ld"), x, operand_type, to_int(ldx, "x.ld"),
                                   &beta, y.data, CUDA_R_32F, to_int(y.ld, "y.ld"), compute, CUBLAS_GEMM_DEFAULT));
}

// tf32x3 from an x that comes split (LinearParams::x_small: the scan wrote out_proj's input so):
// only w is split, w' = [w_big | w_big | w_small] (split_tf32's w side), and
// y = x·w_small + [x | x_small]·[w_big | w_big] (the small products first), the second one GEMM
// of depth 2K where x_small's columns follow x's (else two of depth K). No 16-byte-per-element
// copy of x, which kept out_proj (K = 512, N = 256) in fp32: 0.21 -> 0.14 s per Mb on an H100.
// The bias is the caller's (linear).
void gemm_split_x(const LinearParams& p, cublasHandle_t handle, cudaStream_t stream, Workspace& ws) {
  const int64_t m = p.x.rows, n = p.w.rows, k = p.x.cols;
  const float* w3 = split_tf32(p.w, 2, Workspace::kGemmW, ws, stream);  // [N, 3K]
  if (p.x_repeated) {
    // [x | x_small | x] · [w_big | w_big | w_small]^T: the GEMM of the split-copy path in
    // linear, on the caller's rows (the same bits when their stride is 3K).
    gemm(handle, m, n, 3 * k, w3, 3 * k, p.x.data, p.x.ld, p.accumulate ? 1.0f : 0.0f, p.y);
    return;
  }
  gemm(handle, m, n, k, w3 + 2 * k, 3 * k, p.x.data, p.x.ld, p.accumulate ? 1.0f : 0.0f, p.y);
  if (p.x_small.data == p.x.data + k && p.x_small.ld == p.x.ld && p.x.ld >= 2 * k) {
    gemm(handle, m, n, 2 * k, w3, 3 * k, p.x.data, p.x.ld, 1.0f, p.y);
  } else {
    gemm(handle, m, n, k, w3 + k, 3 * k, p.x_small.data, p.x_small.ld, 1.0f, p.y);
    gemm(handle, m, n, k, w3, 3 * k, p.x.data, p.x.ld, 1.0f, p.y);
  }
}

bool few_columns(int64_t n, GemmPrecision precision) {
  return n < (precision == GemmPrecision::kTf32x3 ? kSplitMinColumns : kReducedMinColumns);
}

}  // namespace

bool linear_uses_tf32x3_kernel(const LinearParams& p, GemmPrecision precision) {
  return p.x_small.empty() && p.x.cols > 0 && few_columns(p.w.rows, precision) && precision != GemmPrecision::kFp32 &&
         tf32x3_kernel_applies(p);
}

// x [M, K], w [N, K], bias [N], y [M, N]
void linear(const LinearParams& p, GemmPrecision precision, cublasHandle_t handle, cudaStream_t stream,
            Workspace& ws) {
  check(p);
  // What kGemmX holds from the previous call, taken here: this call sets it again only if it
  // splits x.
  const Workspace::SplitX held = ws.split_x;
  ws.split_x = {};
  const int64_t m = p.x.rows, n = p.w.rows, k = p.x.cols;
  if (m == 0 || n == 0) return;
  if (k == 0) {
    // An empty sum: y = (accumulate ? y : 0) + bias. cuBLAS is not asked (lda would be 0).
    if (p.accumulate && !p.bias) return;
    // y [M, N] (+)= bias [N]
    add_bias_kernel<<<row_grid(m), kRowThreads, 0, stream>>>(p.y.data, m, n, p.y.ld, p.bias, !p.accumulate);
    STRAND_CUDA_CHECK(cudaGetLastError());
    return;
  }
  const auto add_bias = [&] {
    if (!p.bias) return;
    // y [M, N] += bias [N]
    add_bias_kernel<<<row_grid(m), kRowThreads, 0, stream>>>(p.y.data, m, n, p.y.ld, p.bias, false);
    STRAND_CUDA_CHECK(cudaGetLastError());
  };
  if (!p.x_small.empty()) {
    STRAND_ASSERT(precision == GemmPrecision::kTf32x3, "linear (cuda): split x in ", to_string(precision), " mode");
    gemm_split_x(p, handle, stream, ws);
    add_bias();
    return;
  }
  const void* a_ptr = p.w.data;
  const void* b_ptr = p.x.data;
  int64_t lda = p.w.ld, ldb = p.x.ld, depth = k;
  cudaDataType_t operand_type = CUDA_R_32F;
  cublasComputeType_t compute = CUBLAS_COMPUTE_32F;
  // Few output columns: tf32x3 with x split in registers (fp32-accurate, which the reduced
  // modes keep there for exactness) where its kernel takes the shape; otherwise fp32.
  if (few_columns(n, precision)) {
    if (linear_uses_tf32x3_kernel(p, precision)) {
      tf32x3_linear(p, stream, ws);
      return;
    }
    precision = GemmPrecision::kFp32;
  }
  switch (precision) {
    case GemmPrecision::kFp32: break;
    case GemmPrecision::kTf32: compute = CUBLAS_COMPUTE_32F_FAST_TF32; break;
    case GemmPrecision::kTf32x3:
      a_ptr = split_tf32(p.w, 2, Workspace::kGemmW, ws, stream);
      // in_proj's z half reuses its x half's split of the same input.
      if (p.x_unchanged && held.data == p.x.data && held.rows == m && held.cols == k && held.ld == p.x.ld)
        b_ptr = ws.scratch(Workspace::kGemmX, static_cast<size_t>(m * k) * 3 * sizeof(float));
      else
        b_ptr = split_tf32(p.x, 1, Workspace::kGemmX, ws, stream);
      ws.split_x = {p.x.data, m, k, p.x.ld};
      lda = ldb = depth = 3 * k;
      compute = CUBLAS_COMPUTE_32F_FAST_TF32;
      break;
    case GemmPrecision::kBf16:
      a_ptr = to_bf16(p.w, Workspace::kGemmW, ws, stream);
      b_ptr = to_bf16(p.x, Workspace::kGemmX, ws, stream);
      lda = ldb = k;
      operand_type = CUDA_R_16BF;
      break;
  }
  gemm(handle, m, n, depth, a_ptr, lda, b_ptr, ldb, p.accumulate ? 1.0f : 0.0f, p.y, operand_type, compute);
  add_bias();
}

}  // namespace strand::kernels::cuda
