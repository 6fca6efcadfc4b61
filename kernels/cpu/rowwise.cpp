// The row-by-row ops on the CPU: fused add + RMSNorm, embedding lookup, elementwise
// combination, flips. Memory-bound: TBB over fixed blocks of rows, plain loops the compiler
// vectorises. Each row is computed by the same code whatever the block, so results are
// independent of the thread count.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/cpu/cpu_ops.h"
#include "kernels/cpu/parallel.h"

namespace strand::kernels::cpu {
namespace {

constexpr int64_t kRowBlock = 64;
// Independent partial sums of the mean of squares: a fixed association (so deterministic)
// that vectorises, unlike one serial sum.
constexpr int64_t kLanes = 8;

// r = x + residual_in (or either alone), written to `r`; returns sum(r^2) in double.
double add_rows(const float* x, const float* res, float* __restrict r, int64_t width) {
  if (!x)
    std::copy(res, res + width, r);
  else if (!res)
    std::copy(x, x + width, r);
  else
    for (int64_t c = 0; c < width; ++c) r[c] = x[c] + res[c];
  double part[kLanes] = {};
  const int64_t body = width - width % kLanes;
  for (int64_t c = 0; c < body; c += kLanes) {
    for (int64_t j = 0; j < kLanes; ++j) part[j] += double(r[c + j]) * double(r[c + j]);
  }
  double sum = 0.0;
  for (int64_t j = 0; j < kLanes; ++j) sum += part[j];
  for (int64_t c = body; c < width; ++c) sum += double(r[c]) * double(r[c]);
  return sum;
}

}  // namespace

// [R, W] row by row. The row buffer makes y = x and residual_out = residual_in safe.
void add_rms_norm(const AddRmsNormParams& p) {
  check(p);
  check_unsplit(p);
  const int64_t width = p.y.cols;
  for_each_block(p.y.rows, kRowBlock, [&](int64_t r0, int64_t r1) {
    std::vector<float> r(width);
    for (int64_t i = r0; i < r1; ++i) {
      const double sum_sq = add_rows(p.x.empty() ? nullptr : p.x.row(i),
                                     p.residual_in.empty() ? nullptr : p.residual_in.row(i), r.data(), width);
      const float mean_sq = width > 0 ? float(sum_sq / double(width)) : 0.0f;
      const float rstd = 1.0f / std::sqrt(mean_sq + p.eps);
      if (!p.residual_out.empty()) std::copy(r.begin(), r.end(), p.residual_out.row(i));
      float* y = p.y.row(i);
      for (int64_t c = 0; c < width; ++c) y[c] = r[c] * rstd * p.weight[c];
    }
  });
}

void embedding(const EmbeddingParams& p) {
  check(p);
  const int64_t width = p.y.cols;
  for_each_block(p.y.rows, 4 * kRowBlock, [&](int64_t r0, int64_t r1) {
    for (int64_t i = r0; i < r1; ++i) std::copy_n(p.table.row(p.ids[i]), width, p.y.row(i));
  });
}

void elementwise(const ElementwiseParams& p) {
  check(p);
  const int64_t width = p.y.cols;
  for_each_block(p.y.rows, 4 * kRowBlock, [&](int64_t r0, int64_t r1) {
    for (int64_t i = r0; i < r1; ++i) {
      // y may alias a or b exactly: each element is read before it is written.
      const float* a = p.a.row(i);
      const float* b = p.b.row(i);
      float* y = p.y.row(i);
      switch (p.op) {
        case ElementwiseOp::kAdd:
          for (int64_t c = 0; c < width; ++c) y[c] = a[c] + b[c];
          break;
        case ElementwiseOp::kMul:
          for (int64_t c = 0; c < width; ++c) y[c] = a[c] * b[c];
          break;
        case ElementwiseOp::kAverage:
          for (int64_t c = 0; c < width; ++c) y[c] = (a[c] + b[c]) * 0.5f;
          break;
      }
    }
  });
}

void flip(const FlipParams& p) {
  check(p);
  const int64_t rows = p.x.rows, width = p.x.cols;
  for_each_block(rows, 4 * kRowBlock, [&](int64_t r0, int64_t r1) {
    for (int64_t i = r0; i < r1; ++i) {
      const float* x = p.x.row(p.rows ? rows - 1 - i : i);
      float* y = p.y.row(i);
      if (p.cols)
        std::reverse_copy(x, x + width, y);
      else
        std::copy_n(x, width, y);
    }
  });
}

}  // namespace strand::kernels::cpu
