// Non-owning views of activations and weights. Everything the forward pass touches is a 2-D
// row-major matrix [rows, cols] with a row stride `ld` (elements), so column slices (one channel
// half of an RC-equivariant model, the dt/B/C parts of x_proj's output) and row slices (a tile
// of a long record, one sequence of a batch) need no copy. Where the data lives (host or
// device) is the backend's business: a view is just a pointer and a shape.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/error.h"

namespace strand::kernels {

enum class DType : uint8_t { kF32, kF16, kBF16 };
size_t dtype_size(DType dtype);
const char* to_string(DType dtype);

template <typename T>
struct Mat {
  T* data = nullptr;
  int64_t rows = 0, cols = 0;
  int64_t ld = 0;  // elements from one row to the next (>= cols)

  Mat() = default;
  Mat(T* d, int64_t r, int64_t c, int64_t stride = -1) : data(d), rows(r), cols(c), ld(stride < 0 ? c : stride) {}
  // A view of const elements from a view of mutable ones.
  operator Mat<const T>() const { return Mat<const T>(data, rows, cols, ld); }

  T* row(int64_t r) const { return data + r * ld; }
  T& at(int64_t r, int64_t c) const { return data[r * ld + c]; }
  bool empty() const { return data == nullptr; }
  // Columns [c0, c0 + n) of every row.
  Mat col_slice(int64_t c0, int64_t n) const {
    STRAND_ASSERT(c0 >= 0 && n >= 0 && c0 + n <= cols, "column slice [", c0, ", ", c0 + n, ") of ", cols);
    return Mat(data + c0, rows, n, ld);
  }
  // Rows [r0, r0 + n).
  Mat row_slice(int64_t r0, int64_t n) const {
    STRAND_ASSERT(r0 >= 0 && n >= 0 && r0 + n <= rows, "row slice [", r0, ", ", r0 + n, ") of ", rows);
    return Mat(data + r0 * ld, n, cols, ld);
  }
};

using MatF = Mat<float>;
using ConstMatF = Mat<const float>;

}  // namespace strand::kernels
