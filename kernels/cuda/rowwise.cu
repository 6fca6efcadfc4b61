// The row-by-row ops on the GPU: fused add + RMSNorm (one warp per row), embedding lookup,
// elementwise combination and flips (one thread per element, a flat grid-stride loop with
// consecutive threads on consecutive columns, so loads and stores are coalesced). Every view
// has its own row stride; offsets are 64-bit. No pointer is __restrict__: y may alias a or b,
// x, and residual_out may alias residual_in, and each element is read by the thread that
// then writes it.
#include <cstdint>

#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/tf32.cuh"

namespace strand::kernels::cuda {
namespace {

constexpr int kWarp = 32;
constexpr unsigned kFullMask = 0xffffffffu;

// A view as the kernels take it (the Mat methods are host code).
struct View {
  float* data = nullptr;
  int64_t ld = 0;
};
struct ConstView {
  const float* data = nullptr;
  int64_t ld = 0;
};
View dev(MatF m) {
  return {m.data, m.ld};
}
ConstView dev(ConstMatF m) {
  return {m.data, m.ld};
}

// ---- add_rms_norm ---------------------------------------------------------------------------

struct NormArgs {
  ConstView x, residual_in;  // data null when empty
  const float* weight = nullptr;
  float eps = 0.0f;
  View residual_out, y;  // residual_out.data null when empty
  View y_small;          // data null: y unsplit (AddRmsNormParams::y_small)
  bool y_repeated = false;
  int64_t rows = 0, width = 0;
};

// r = x + residual_in (either alone when the other is empty), column c of one row.
__device__ __forceinline__ float norm_input(const float* x, const float* res, int64_t c) {
  if (!x) return res[c];
  if (!res) return x[c];
  return __fadd_rn(x[c], res[c]);
}

// One warp per row (grid-stride over rows; the row is warp-uniform, so whole warps loop and
// leave together). Lane l sums r^2 in double over columns l, l + 32, ...; a butterfly of
// shuffles adds the 32 partial sums in a fixed order (every lane ends with the same sum). The
// second pass recomputes r (read before written, by the same lane, element by element) and
// writes residual_out and y.
__global__ void add_rms_norm_kernel(const NormArgs a) {
  const int lane = threadIdx.x % kWarp;
  const int64_t warps = int64_t(gridDim.x) * blockDim.x / kWarp;
  for (int64_t row = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) / kWarp; row < a.rows; row += warps) {
    const float* x = a.x.data ? a.x.data + row * a.x.ld : nullptr;
    const float* res = a.residual_in.data ? a.residual_in.data + row * a.residual_in.ld : nullptr;
    double sum_sq = 0.0;
    for (int64_t c = lane; c < a.width; c += kWarp) {
      const double r = norm_input(x, res, c);
      sum_sq = __dadd_rn(sum_sq, __dmul_rn(r, r));
    }
    for (int offset = kWarp / 2; offset > 0; offset /= 2) {
      sum_sq = __dadd_rn(sum_sq, __shfl_xor_sync(kFullMask, sum_sq, offset));
    }
    const float mean_sq = a.width > 0 ? float(sum_sq / double(a.width)) : 0.0f;
    const float rstd = 1.0f / sqrtf(mean_sq + a.eps);
    float* res_out = a.residual_out.data ? a.residual_out.data + row * a.residual_out.ld : nullptr;
    float* y = a.y.data + row * a.y.ld;
    float* y_small = a.y_small.data ? a.y_small.data + row * a.y_small.ld : nullptr;
    for (int64_t c = lane; c < a.width; c += kWarp) {
      const float r = norm_input(x, res, c);
      if (res_out) res_out[c] = r;
      const float v = __fmul_rn(__fmul_rn(r, rstd), a.weight[c]);
      if (y_small) {
        // The split the tf32x3 linear would make of y (LinearParams::x_small, x_repeated).
        const float big = round_tf32(v);
        y[c] = big;
        y_small[c] = tf32_remainder(v, big);
        if (a.y_repeated) y[2 * a.width + c] = big;
      } else {
        y[c] = v;
      }
    }
  }
}

// ---- embedding, elementwise, flip -----------------------------------------------------------

// y[r, c] = table[ids[r], c]
__global__ void embedding_kernel(const int32_t* ids, ConstView table, View y, int64_t rows, int64_t width) {
  const int64_t total = rows * width;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; idx < total; idx += stride) {
    const int64_t r = idx / width, c = idx - r * width;
    y.data[r * y.ld + c] = table.data[int64_t(ids[r]) * table.ld + c];
  }
}

// y = a + b, a * b or (a + b) * 0.5, element by element (op is ElementwiseOp as an int).
__global__ void elementwise_kernel(int op, ConstView a, ConstView b, View y, int64_t rows, int64_t width) {
  const int64_t total = rows * width;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; idx < total; idx += stride) {
    const int64_t r = idx / width, c = idx - r * width;
    const float va = a.data[r * a.ld + c], vb = b.data[r * b.ld + c];
    float out;
    switch (static_cast<ElementwiseOp>(op)) {
      case ElementwiseOp::kAdd: out = __fadd_rn(va, vb); break;
      case ElementwiseOp::kMul: out = __fmul_rn(va, vb); break;
      default: out = __fmul_rn(__fadd_rn(va, vb), 0.5f); break;  // kAverage
    }
    y.data[r * y.ld + c] = out;
  }
}

// y[i, c] = x[rows ? R-1-i : i, cols ? W-1-c : c]
__global__ void flip_kernel(ConstView x, View y, int64_t rows, int64_t width, bool flip_rows, bool flip_cols) {
  const int64_t total = rows * width;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; idx < total; idx += stride) {
    const int64_t i = idx / width, c = idx - i * width;
    const int64_t src_row = flip_rows ? rows - 1 - i : i, src_col = flip_cols ? width - 1 - c : c;
    y.data[i * y.ld + c] = x.data[src_row * x.ld + src_col];
  }
}

}  // namespace

// x, residual_in, residual_out, y [R, W]; weight [W]
void add_rms_norm(const AddRmsNormParams& p, cudaStream_t stream) {
  check(p);
  const int64_t rows = p.y.rows, width = p.y.cols;
  if (rows == 0) return;
  NormArgs a;
  a.x = p.x.empty() ? ConstView{} : dev(p.x);
  a.residual_in = p.residual_in.empty() ? ConstView{} : dev(p.residual_in);
  a.weight = p.weight;
  a.eps = p.eps;
  a.residual_out = p.residual_out.empty() ? View{} : dev(p.residual_out);
  a.y = dev(p.y);
  a.y_small = p.y_small.empty() ? View{} : dev(p.y_small);
  a.y_repeated = p.y_repeated;
  a.rows = rows;
  a.width = width;
  // [R, W]: one warp per row, kBlockThreads / 32 rows per block.
  add_rms_norm_kernel<<<grid_blocks(rows * kWarp), kBlockThreads, 0, stream>>>(a);
  STRAND_CUDA_CHECK(cudaGetLastError());
}

// ids [R] (device int32), table [V, W], y [R, W]
void embedding(const EmbeddingParams& p, cudaStream_t stream) {
  check(p);
  const int64_t rows = p.y.rows, width = p.y.cols;
  if (rows == 0 || width == 0) return;
  embedding_kernel<<<grid_blocks(rows * width), kBlockThreads, 0, stream>>>(p.ids, dev(p.table), dev(p.y), rows,
                                                                              width);
  STRAND_CUDA_CHECK(cudaGetLastError());
}

// a, b, y [R, W]
void elementwise(const ElementwiseParams& p, cudaStream_t stream) {
  check(p);
  const int64_t rows = p.y.rows, width = p.y.cols;
  if (rows == 0 || width == 0) return;
  elementwise_kernel<<<grid_blocks(rows * width), kBlockThreads, 0, stream>>>(static_cast<int>(p.op), dev(p.a),
                                                                                dev(p.b), dev(p.y), rows, width);
  STRAND_CUDA_CHECK(cudaGetLastError());
}

// x, y [R, W]
void flip(const FlipParams& p, cudaStream_t stream) {
  check(p);
  const int64_t rows = p.x.rows, width = p.x.cols;
  if (rows == 0 || width == 0) return;
  flip_kernel<<<grid_blocks(rows * width), kBlockThreads, 0, stream>>>(dev(p.x), dev(p.y), rows, width, p.rows, p.cols);
  STRAND_CUDA_CHECK(cudaGetLastError());
}

}  // namespace strand::kernels::cuda
