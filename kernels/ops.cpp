// Shape and aliasing checks shared by every backend. A violation is a bug in the calling
// (model) code, so it aborts through STRAND_ASSERT with the op and dimension named.
#include "kernels/ops.h"

#include <algorithm>
#include <cstdint>
#include <functional>

namespace strand::kernels {
namespace {

// A view is well formed: non-negative shape, ld >= cols, data present unless empty.
template <typename T>
void check_view(const char* op, const char* name, const Mat<T>& m) {
  STRAND_ASSERT(m.rows >= 0 && m.cols >= 0, op, ": ", name, " has negative shape [", m.rows, ", ", m.cols, "]");
  STRAND_ASSERT(m.ld >= m.cols, op, ": ", name, " has ld ", m.ld, " < cols ", m.cols);
  STRAND_ASSERT(m.data != nullptr || m.rows == 0 || m.cols == 0, op, ": ", name, " is null with shape [", m.rows, ", ",
                m.cols, "]");
}

template <typename T>
void check_shape(const char* op, const char* name, const Mat<T>& m, int64_t rows, int64_t cols) {
  check_view(op, name, m);
  STRAND_ASSERT(m.rows == rows && m.cols == cols, op, ": ", name, " is [", m.rows, ", ", m.cols, "], expected [", rows,
                ", ", cols, "]");
}

// Whether two views share an element. Views of one row stride are compared exactly, so that
// column slices of one matrix side by side (the model's xz halves) do not overlap; otherwise
// their memory spans are (the elements between rows count too).
bool overlaps(ConstMatF a, ConstMatF b) {
  if (a.rows == 0 || a.cols == 0 || b.rows == 0 || b.cols == 0) return false;
  const float* a_end = a.data + (a.rows - 1) * a.ld + a.cols;
  const float* b_end = b.data + (b.rows - 1) * b.ld + b.cols;
  const bool spans = std::less<const float*>()(a.data, b_end) && std::less<const float*>()(b.data, a_end);
  if (!spans || a.ld != b.ld || a.ld == 0) return spans;
  // b's row j starts at a's row q + j, column r (0 <= r < ld); past a's row end it wraps into
  // the next one. Column ranges per row of a's frame: [r, r + b.cols) clipped to the row, and
  // the wrapped part [0, r + b.cols - ld) one row further down.
  const int64_t ld = a.ld, offset = b.data - a.data;
  const int64_t q = offset >= 0 ? offset / ld : -((-offset + ld - 1) / ld), r = offset - q * ld;
  const auto rows_meet = [&](int64_t first) { return first < a.rows && first + b.rows > 0; };
  const bool head = r < a.cols && rows_meet(q);
  const bool wrapped = r + b.cols > ld && std::min(r + b.cols - ld, a.cols) > 0 && rows_meet(q + 1);
  return head || wrapped;
}

void check_sequences(const char* op, int64_t rows, int64_t seq_len) {
  STRAND_ASSERT(seq_len > 0 || rows == 0, op, ": seq_len ", seq_len, " must be positive");
  STRAND_ASSERT(rows == 0 || rows % seq_len == 0, op, ": ", rows, " rows are not a whole number of sequences of ",
                seq_len);
}

// Whether big and small are the first two column blocks of [big | small | big] rows (the
// tf32x3 GEMM's split layout: LinearParams::x_repeated, AddRmsNormParams::y_repeated).
template <typename T>
bool repeated_split_rows(const Mat<T>& big, const Mat<T>& small) {
  const int64_t k = big.cols;
  return !small.empty() && small.data == big.data + k && small.ld == big.ld && big.ld >= 3 * k;
}

}  // namespace

void check(const LinearParams& p) {
  check_view("linear", "x", p.x);
  check_shape("linear", "w", p.w, p.w.rows, p.x.cols);
  check_shape("linear", "y", p.y, p.x.rows, p.w.rows);
  STRAND_ASSERT(!overlaps(p.x, p.y), "linear: y aliases x");
  STRAND_ASSERT(!overlaps(p.w, p.y), "linear: y aliases w");
  if (!p.x_small.empty()) {
    check_shape("linear", "x_small", p.x_small, p.x.rows, p.x.cols);
    STRAND_ASSERT(!overlaps(p.x_small, p.y), "linear: y aliases x_small");
  }
  if (p.x_repeated) {
    const int64_t k = p.x.cols;
    STRAND_ASSERT(repeated_split_rows(p.x, p.x_small), "linear: x_repeated without [x | x_small | x] rows");
    STRAND_ASSERT(!overlaps(ConstMatF(p.x.data, p.x.rows, 3 * k, p.x.ld), p.y), "linear: y aliases x");
  }
}

void check(const ConvParams& p) {
  check_view("conv1d_silu", "x", p.x);
  check_shape("conv1d_silu", "y", p.y, p.x.rows, p.x.cols);
  check_sequences("conv1d_silu", p.x.rows, p.seq_len);
  STRAND_ASSERT(p.kernel >= 1, "conv1d_silu: kernel size ", p.kernel, " must be >= 1");
  STRAND_ASSERT(p.w != nullptr || p.x.cols == 0, "conv1d_silu: no weights");
  STRAND_ASSERT(!overlaps(p.x, p.y), "conv1d_silu: y aliases x");
}

void check(const ConvParams& conv, const LinearParams& lin) {
  check(conv);
  check(lin);
  STRAND_ASSERT(
      lin.x.data == conv.y.data && lin.x.rows == conv.y.rows && lin.x.cols == conv.y.cols && lin.x.ld == conv.y.ld,
      "conv1d_silu_linear: linear's x is not the conv's y");
  STRAND_ASSERT(lin.x_small.empty(), "conv1d_silu_linear: split x");
  STRAND_ASSERT(!overlaps(conv.x, lin.y), "conv1d_silu_linear: linear's y aliases the conv's x");
}

void check(const ScanParams& p) {
  const char* op = "selective_scan";
  const int64_t rows = p.u.rows, d = p.u.cols, n = p.A.cols;
  check_view(op, "u", p.u);
  if (p.delta.empty() && rows > 0 && d > 0) {
    check_view(op, "dt_in", p.dt_in);
    STRAND_ASSERT(p.dt_in.rows == rows, op, ": dt_in has ", p.dt_in.rows, " rows, expected ", rows);
    check_shape(op, "dt_w", p.dt_w, d, p.dt_in.cols);
  } else {
    check_shape(op, "delta", p.delta, rows, d);
    STRAND_ASSERT(p.dt_in.empty() && p.dt_w.empty(), op, ": both delta and dt_in/dt_w are given");
  }
  check_shape(op, "A", p.A, d, n);
  check_shape(op, "B", p.B, rows, n);
  check_shape(op, "C", p.C, rows, n);
  if (!p.z.empty()) check_shape(op, "z", p.z, rows, d);
  if (p.y.empty()) {
    STRAND_ASSERT(p.h_out, op, ": neither y nor h_out is wanted");
    STRAND_ASSERT(!p.accumulate && !p.gate_sum, op, ": accumulate without y");
    STRAND_ASSERT(!p.chunk_states_in, op, ": chunk states to read, but no y");
  } else {
    STRAND_ASSERT(!p.chunk_states_out, op, ": chunk states to store from a call with y");
    check_shape(op, "y", p.y, rows, d);
    for (const ConstMatF* in : {&p.u, &p.delta, &p.dt_in, &p.B, &p.C, &p.z, &p.y_add})
      STRAND_ASSERT(!overlaps(*in, p.y), op, ": y aliases an input");
    STRAND_ASSERT(!p.gate_sum || (p.accumulate && !p.z.empty()), op, ": gate_sum without accumulate and z");
    if (!p.y_add.empty()) {
      STRAND_ASSERT(p.accumulate, op, ": y_add without accumulate");
      check_shape(op, "y_add", p.y_add, rows, d);
    }
    if (!p.y_small.empty()) {
      check_shape(op, "y_small", p.y_small, rows, d);
      const bool is_z = p.y_small.data == p.z.data && p.y_small.ld == p.z.ld;
      for (const ConstMatF* in : {&p.u, &p.delta, &p.dt_in, &p.B, &p.C, &p.y_add, &p.z})
        STRAND_ASSERT(!overlaps(*in, p.y_small) || (in == &p.z && is_z), op, ": y_small aliases an input");
      STRAND_ASSERT(!overlaps(p.y_small, p.y), op, ": y_small aliases y");
    }
  }
  STRAND_ASSERT(!p.y.empty() || (p.y_add.empty() && p.y_small.empty()), op, ": y_add or y_small without y");
  if (!p.dt_scratch.empty()) {
    check_shape(op, "dt_scratch", p.dt_scratch, rows, d);
    for (const ConstMatF* v : {&p.u, &p.delta, &p.dt_in, &p.dt_w, &p.A, &p.B, &p.C, &p.z, &p.y_add})
      STRAND_ASSERT(!overlaps(*v, p.dt_scratch), op, ": dt_scratch aliases an input");
    for (const ConstMatF v : {ConstMatF(p.y), ConstMatF(p.y_small)})
      STRAND_ASSERT(!overlaps(v, p.dt_scratch), op, ": dt_scratch aliases an output");
  }
  check_sequences(op, rows, p.seq_len);
}

void check(const AddRmsNormParams& p) {
  const char* op = "add_rms_norm";
  STRAND_ASSERT(!p.x.empty() || !p.residual_in.empty(), op, ": both x and residual_in are empty");
  check_view(op, "y", p.y);
  const int64_t rows = p.y.rows, cols = p.y.cols;
  if (!p.x.empty()) check_shape(op, "x", p.x, rows, cols);
  if (!p.residual_in.empty()) check_shape(op, "residual_in", p.residual_in, rows, cols);
  if (!p.residual_out.empty()) check_shape(op, "residual_out", p.residual_out, rows, cols);
  STRAND_ASSERT(p.weight != nullptr || cols == 0, op, ": no weight");
  if (!p.y_small.empty()) {
    check_shape(op, "y_small", p.y_small, rows, cols);
    for (const ConstMatF* in : {&p.x, &p.residual_in})
      STRAND_ASSERT(!overlaps(*in, p.y_small), op, ": y_small aliases an input");
    STRAND_ASSERT(!overlaps(p.y_small, p.y) && !overlaps(p.y_small, p.residual_out), op, ": y_small aliases an output");
  }
  if (p.y_repeated) {
    STRAND_ASSERT(repeated_split_rows(p.y, p.y_small), op, ": y_repeated without [y | y_small | y] rows");
    const ConstMatF third(p.y.data + 2 * cols, rows, cols, p.y.ld);
    for (const ConstMatF* in : {&p.x, &p.residual_in})
      STRAND_ASSERT(!overlaps(*in, third), op, ": the repeated y aliases an input");
    STRAND_ASSERT(!overlaps(p.residual_out, third), op, ": the repeated y aliases residual_out");
  }
}

void check(const EmbeddingParams& p) {
  check_view("embedding", "table", p.table);
  check_shape("embedding", "y", p.y, p.y.rows, p.table.cols);
  STRAND_ASSERT(p.ids != nullptr || p.y.rows == 0, "embedding: no ids");
}

void check(const ElementwiseParams& p) {
  check_view("elementwise", "y", p.y);
  check_shape("elementwise", "a", p.a, p.y.rows, p.y.cols);
  check_shape("elementwise", "b", p.b, p.y.rows, p.y.cols);
}

void check(const FlipParams& p) {
  check_view("flip", "x", p.x);
  check_shape("flip", "y", p.y, p.x.rows, p.x.cols);
  STRAND_ASSERT(!overlaps(p.x, p.y), "flip: y aliases x");
}

void check_unsplit(const LinearParams& p) {
  STRAND_ASSERT(p.x_small.empty(), "linear: this backend does not take split activations (x_small)");
}

void check_unsplit(const AddRmsNormParams& p) {
  STRAND_ASSERT(p.y_small.empty() && !p.y_repeated,
                "add_rms_norm: this backend does not take split activations (y_small, y_repeated)");
}

void check_unsplit(const ScanParams& p) {
  STRAND_ASSERT(p.y_small.empty() && p.y_add.empty(),
                "selective_scan: this backend does not take split activations (y_small, y_add)");
}

}  // namespace strand::kernels
