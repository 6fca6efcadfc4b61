// Helpers shared by the kernel tests: owning matrices with a row stride, seeded random fills,
// the error metric (||a - b|| / ||b|| and max |a - b|), and running code in a TBB arena of a
// given size.
#pragma once

#include <gtest/gtest.h>
#include <tbb/global_control.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/ops.h"
#include "kernels/tensor.h"

namespace strand::kernels::test {

// A [rows, cols] matrix stored with row stride ld >= cols; the padding holds a sentinel so
// that a kernel writing past cols is caught by padding_intact().
struct Buffer {
  static constexpr float kSentinel = -12345.5f;
  std::vector<float> data;
  int64_t rows = 0, cols = 0, ld = 0;

  Buffer() = default;
  Buffer(int64_t r, int64_t c, int64_t stride = -1)
      : data(std::max<int64_t>(r * (stride < 0 ? c : stride), 1), kSentinel),
        rows(r),
        cols(c),
        ld(stride < 0 ? c : stride) {
    for (int64_t i = 0; i < r; ++i) std::fill_n(data.data() + i * ld, c, 0.0f);
  }
  MatF view() { return MatF(data.data(), rows, cols, ld); }
  ConstMatF cview() const { return ConstMatF(data.data(), rows, cols, ld); }
  float& at(int64_t r, int64_t c) { return data[r * ld + c]; }
  float at(int64_t r, int64_t c) const { return data[r * ld + c]; }
  bool padding_intact() const {
    for (int64_t i = 0; i < rows; ++i) {
      for (int64_t c = cols; c < ld; ++c) {
        if (data[i * ld + c] != kSentinel) return false;
      }
    }
    return true;
  }
  // The elements of the view, row by row (padding excluded).
  std::vector<float> values() const {
    std::vector<float> v;
    v.reserve(rows * cols);
    for (int64_t i = 0; i < rows; ++i) v.insert(v.end(), data.begin() + i * ld, data.begin() + i * ld + cols);
    return v;
  }
};

inline void fill_normal(std::mt19937& rng, Buffer& b, float mean = 0.0f, float stddev = 1.0f) {
  std::normal_distribution<float> dist(mean, stddev);
  for (int64_t i = 0; i < b.rows; ++i) {
    for (int64_t c = 0; c < b.cols; ++c) b.at(i, c) = dist(rng);
  }
}

inline std::vector<float> normal_vector(std::mt19937& rng, int64_t n, float mean = 0.0f, float stddev = 1.0f) {
  std::normal_distribution<float> dist(mean, stddev);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

struct Difference {
  double relative = 0.0;  // ||a - b|| / ||b|| (||a - b|| when b is zero)
  double max_abs = 0.0;
  bool bitwise = true;
};

inline Difference compare(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  Difference d;
  double diff2 = 0.0, ref2 = 0.0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    const double e = double(a[i]) - double(b[i]);
    diff2 += e * e;
    ref2 += double(b[i]) * double(b[i]);
    d.max_abs = std::max(d.max_abs, std::abs(e));
    if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0) d.bitwise = false;
  }
  d.relative = ref2 > 0.0 ? std::sqrt(diff2 / ref2) : std::sqrt(diff2);
  return d;
}

inline Difference compare(const Buffer& a, const Buffer& b) {
  return compare(a.values(), b.values());
}

inline std::string describe(const Difference& d) {
  return "relative " + std::to_string(d.relative) + ", max abs " + std::to_string(d.max_abs);
}

// One conv1d_silu case of the backend tests.
struct ConvCase {
  int64_t seqs, len, channels;
  int kernel;
  bool reverse, bias, state_in, state_out;
};

// Selective-scan inputs laid out as the mixer has them: u and z column slices of in_proj's
// output, B and C column slices of x_proj's output [rows, 3 + 2N], A strided, realistic dt_bias
// and A = -(1..N) scaled. With dt_rank R > 0 the fused dt_proj's inputs too: x_proj's output is
// then [rows, R + 2N] = dt_in | B | C exactly as Mamba's xdbl, and dt_w [D, R] is strided; their
// product has mean delta_mean (dt_in ~ N(1, 1), dt_w ~ N(delta_mean / R, R^-1/2)). Views of them
// (ScanViews) may point at host or device copies.
struct ScanData;
struct ScanViews {
  ConstMatF xz, delta, dbc, a;
  const float *dt_bias, *dskip;
  ConstMatF dt_w = {};  // [D, R], when the data has a dt_rank
};
ScanViews views(const ScanData& d);
// fused: delta empty, dt_in (the dt columns of dbc) and dt_w given instead.
ScanParams scan_params(const ScanData& data, const ScanViews& v, MatF y, bool reverse, bool gate, bool bias, bool skip,
                       bool fused = false);

// aligned: every view starts on 16 bytes and has a row stride of whole float4s (u at column 0,
// z at the next multiple of 4, B after 4 unused columns or dt_in), as the model's buffers are; the
// CUDA scan then stages with 16-byte copies. Otherwise u starts at column 1 (no view aligned).
struct ScanData {
  int64_t seqs, len, dim, nstate, rank;
  bool aligned;
  Buffer xz, delta, dbc, a, dt_w;
  std::vector<float> dt_bias, dskip, h_in;

  ScanData(std::mt19937& rng, int64_t s, int64_t l, int64_t d, int64_t n, float delta_mean = 0.0f, int64_t dt_rank = 0,
           bool align = false)
      : seqs(s),
        len(l),
        dim(d),
        nstate(n),
        rank(dt_rank),
        aligned(align),
        xz(s * l, align ? 2 * round4(d) : 2 * d + 1),
        delta(s * l, d, align ? round4(d) + 4 : d + 2),
        dbc(s * l, dt_cols() + 2 * n, align ? round4(dt_cols() + 2 * n) : dt_cols() + 2 * n),
        a(d, n, n + 1),
        dt_w(dt_rank > 0 ? Buffer(d, dt_rank, dt_rank + 1) : Buffer()) {
    fill_normal(rng, xz);
    fill_normal(rng, delta, delta_mean, 1.0f);
    fill_normal(rng, dbc);
    std::uniform_real_distribution<float> unit(0.0f, 1.0f);
    for (int64_t i = 0; i < d; ++i) {
      for (int64_t j = 0; j < n; ++j) a.at(i, j) = -float(j + 1) * (0.5f + unit(rng));
      // softplus^-1 of dt in [1e-3, 0.1], as Mamba initialises dt_proj's bias.
      const float dt = std::exp(std::log(1e-3f) + unit(rng) * (std::log(0.1f) - std::log(1e-3f)));
      dt_bias.push_back(dt + std::log(-std::expm1(-dt)));
    }
    dskip = normal_vector(rng, d, 1.0f, 0.5f);
    h_in = normal_vector(rng, s * d * n);
    if (rank > 0) {
      std::normal_distribution<float> dt_in(1.0f, 1.0f);
      for (int64_t i = 0; i < dbc.rows; ++i) {
        for (int64_t r = 0; r < rank; ++r) dbc.at(i, r) = dt_in(rng);
      }
      fill_normal(rng, dt_w, delta_mean / float(rank), 1.0f / std::sqrt(float(rank)));
    }
  }
  static int64_t round4(int64_t v) { return (v + 3) / 4 * 4; }
  // Columns of dbc before B: dt_in's R, or 3 (aligned: 4) unused ones without a dt_rank.
  int64_t dt_cols() const { return rank > 0 ? rank : aligned ? 4 : 3; }
  int64_t u_col() const { return aligned ? 0 : 1; }
  int64_t z_col() const { return aligned ? round4(dim) : 1 + dim; }
  // Params over the host copies.
  ScanParams params(MatF y, bool reverse, bool gate, bool bias, bool skip, bool fused = false) const {
    return scan_params(*this, views(*this), y, reverse, gate, bias, skip, fused);
  }
};

inline ScanViews views(const ScanData& d) {
  return {d.xz.cview(), d.delta.cview(), d.dbc.cview(), d.a.cview(), d.dt_bias.data(), d.dskip.data(), d.dt_w.cview()};
}

inline ScanParams scan_params(const ScanData& data, const ScanViews& v, MatF y, bool reverse, bool gate, bool bias,
                              bool skip, bool fused) {
  const int64_t dim = data.dim, n = data.nstate, b0 = data.dt_cols();
  ScanParams p;
  p.u = v.xz.col_slice(data.u_col(), dim);
  if (fused) {
    p.dt_in = v.dbc.col_slice(0, data.rank);
    p.dt_w = v.dt_w;
  } else {
    p.delta = v.delta;
  }
  p.delta_bias = bias ? v.dt_bias : nullptr;
  p.A = v.a;
  p.B = v.dbc.col_slice(b0, n);
  p.C = v.dbc.col_slice(b0 + n, n);
  p.Dskip = skip ? v.dskip : nullptr;
  if (gate) p.z = v.xz.col_slice(data.z_col(), dim);
  p.y = y;
  p.seq_len = data.len;
  p.reverse = reverse;
  return p;
}

// Runs f on an arena of `threads` threads (the CPU backend uses whatever arena it is called in).
// TBB caps its workers at the core count; the cap is lifted so that an arena of 4 threads
// really runs 4 on a 2-core machine.
template <typename F>
void in_arena(int threads, const F& f) {
  static tbb::global_control allow(tbb::global_control::max_allowed_parallelism, 8);
  tbb::task_arena arena(threads);
  arena.execute(f);
}

}  // namespace strand::kernels::test
