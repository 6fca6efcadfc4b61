// linear on the CPU: Eigen's GEMM (single-threaded; Eigen parallelises only through OpenMP,
// which strand does not use, and EIGEN_DONT_PARALLELIZE makes that explicit) over blocks of
// rows, in parallel with TBB. The blocks depend on the shapes only, and Eigen's depth blocking
// (kc) depends on K only, so each y[i, j] is the same sum in the same order whatever the thread
// count: results are bitwise identical across arenas.
//
// They are also identical whatever the number of rows computed together (a tile of a long
// record, a batch of windows): Eigen's kernels for row counts that are not a multiple of 4 (and
// GEMV for one row, and a coefficient-based product when rows + cols + depth < 20) sum in
// another order, so a block whose row count is not a multiple of 8, or is under 24, is
// computed zero-padded to the next multiple of 8 (at least 24). Checked over K 1..2048, N 1..70, 8..256 rows
// at any offset, baseline and -march=native (AVX-512): every row bitwise equal.
#define EIGEN_DONT_PARALLELIZE
#include <Eigen/Core>
#include <algorithm>
#include <cstdint>

#include "kernels/cpu/cpu_ops.h"
#include "kernels/cpu/parallel.h"

namespace strand::kernels::cpu {
namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstView = Eigen::Map<const RowMatrix, Eigen::Unaligned, Eigen::OuterStride<>>;
using View = Eigen::Map<RowMatrix, Eigen::Unaligned, Eigen::OuterStride<>>;

// Rows per task: large enough that packing w (K x N, once per task) is amortised.
constexpr int64_t kRowBlock = 256;
// With few row blocks (decoding, short records), output columns are split too.
constexpr int64_t kColBlock = 128;
constexpr int64_t kMinTasks = 8;

ConstView view(ConstMatF m) {
  return ConstView(m.data, m.rows, m.cols, Eigen::OuterStride<>(m.ld));
}
View view(MatF m) {
  return View(m.data, m.rows, m.cols, Eigen::OuterStride<>(m.ld));
}

constexpr int64_t kRowMultiple = 8;
constexpr int64_t kMinRows = 24;  // keeps Eigen off its small-product path for any N, K

// y[rows, cols] (+)= x[rows, :] · w[cols, :]^T (+ bias[cols]) for one block.
void gemm_block(const LinearParams& p, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
  const int64_t rows = r1 - r0, cols = c1 - c0, k = p.x.cols;
  const ConstView w = view(p.w.row_slice(c0, cols));
  View y = view(p.y.row_slice(r0, rows).col_slice(c0, cols));
  if (rows % kRowMultiple == 0 && rows >= kMinRows) {
    const ConstView x = view(p.x.row_slice(r0, rows));
    if (p.accumulate)
      y.noalias() += x * w.transpose();
    else
      y.noalias() = x * w.transpose();
  } else {
    // Same sums as a multiple-of-8 block would give: pad with zero rows (see the top).
    const int64_t padded = std::max(kMinRows, (rows + kRowMultiple - 1) / kRowMultiple * kRowMultiple);
    RowMatrix x_pad = RowMatrix::Zero(padded, k);
    x_pad.topRows(rows) = view(p.x.row_slice(r0, rows));
    const RowMatrix y_pad = x_pad * w.transpose();
    if (p.accumulate)
      y += y_pad.topRows(rows);
    else
      y = y_pad.topRows(rows);
  }
  if (p.bias) y.rowwise() += Eigen::Map<const Eigen::RowVectorXf>(p.bias + c0, cols);
}

}  // namespace

// x [M, K], w [N, K], y [M, N]
void linear(const LinearParams& p) {
  check(p);
  const int64_t m = p.x.rows, n = p.w.rows;
  if (m == 0 || n == 0) return;
  const int64_t row_blocks = (m + kRowBlock - 1) / kRowBlock;
  const int64_t col_block = row_blocks >= kMinTasks ? n : kColBlock;
  const int64_t col_blocks = (n + col_block - 1) / col_block;
  for_each_index(row_blocks * col_blocks, [&](int64_t task) {
    const int64_t rb = task / col_blocks, cb = task % col_blocks;
    gemm_block(p, rb * kRowBlock, std::min(m, (rb + 1) * kRowBlock), cb * col_block, std::min(n, (cb + 1) * col_block));
  });
}

}  // namespace strand::kernels::cpu
