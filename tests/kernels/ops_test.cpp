// The reference backend against hand-computed cases and independent formulas (written here in
// double, the obvious way): it is the ground truth for every other backend, so it is checked
// on its own first.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>
#include <vector>

#include "kernels/backend.h"
#include "kernels/tensor.h"
#include "tests/kernels/kernels_test_support.h"

namespace strand::kernels {
namespace {

using test::Buffer;
using test::compare;
using test::fill_normal;

Backend& reference() {
  static const std::unique_ptr<Backend> backend = make_reference_backend();
  return *backend;
}

double silu(double v) {
  return v / (1.0 + std::exp(-v));
}
double softplus(double v) {
  return v > 20.0 ? v : std::log1p(std::exp(v));
}

TEST(Tensor, DtypeSizesAndNames) {
  EXPECT_EQ(dtype_size(DType::kF32), 4u);
  EXPECT_EQ(dtype_size(DType::kBF16), 2u);
  EXPECT_STREQ(to_string(DType::kF16), "F16");
}

TEST(ReferenceLinear, HandComputed) {
  // x [2, 2], w [3, 2], bias [3]
  std::vector<float> x = {1, 2, 3, 4}, w = {1, 0, 0, 1, 1, 1}, bias = {0.5f, 0, -1}, y(6, 7.0f);
  LinearParams p{ConstMatF(x.data(), 2, 2), ConstMatF(w.data(), 3, 2), bias.data(), MatF(y.data(), 2, 3)};
  reference().linear(p);
  EXPECT_EQ(y, (std::vector<float>{1.5f, 2, 2, 3.5f, 4, 6}));
  p.accumulate = true;
  reference().linear(p);
  EXPECT_EQ(y, (std::vector<float>{3, 4, 4, 7, 8, 12}));
}

TEST(ReferenceLinear, MatchesNaiveDoubleLoopOnStridedViews) {
  std::mt19937 rng(1);
  const int64_t m = 13, k = 37, n = 11;
  Buffer x(m, k, k + 5), w(n, k, k + 3), y(m, n, n + 2);
  fill_normal(rng, x);
  fill_normal(rng, w);
  const std::vector<float> bias = test::normal_vector(rng, n);
  reference().linear({x.cview(), w.cview(), bias.data(), y.view()});
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double acc = bias[j];
      for (int64_t kk = 0; kk < k; ++kk) acc += double(x.at(i, kk)) * w.at(j, kk);
      EXPECT_NEAR(y.at(i, j), acc, 1e-6 * (1 + std::abs(acc)));
    }
  }
  EXPECT_TRUE(y.padding_intact());
}

TEST(ReferenceLinear, RejectsMismatchedShapes) {
  std::vector<float> x(6), w(6), y(4);
  EXPECT_DEATH(
      reference().linear({ConstMatF(x.data(), 2, 3), ConstMatF(w.data(), 3, 2), nullptr, MatF(y.data(), 2, 2)}),
      "linear: w is \\[3, 2\\], expected \\[3, 3\\]");
}

// Aliasing is judged per element for views of one row stride: side-by-side column slices of one
// matrix (the model's xz halves) are apart, slices sharing a column are not, nor a view whose
// rows wrap into the next row's columns; the split inputs are checked too.
TEST(ReferenceLinear, AliasingIsPerElementForOneStride) {
  std::vector<float> m(8 * 10), w(4 * 4);
  const MatF all(m.data(), 8, 10);
  const ConstMatF wv(w.data(), 4, 4);
  reference().linear({all.col_slice(0, 4), wv, nullptr, all.col_slice(4, 4), false});  // apart
  reference().linear({all.col_slice(6, 4), wv, nullptr, all.col_slice(0, 4), false});  // apart
  EXPECT_DEATH(reference().linear({all.col_slice(0, 4), wv, nullptr, all.col_slice(3, 4), false}),
               "linear: y aliases x");
  // y's rows start at column 8 and run into the next row's columns 0 and 1: x's.
  EXPECT_DEATH(
      reference().linear({all.row_slice(0, 7).col_slice(0, 4), wv, nullptr, MatF(m.data() + 8, 7, 4, 10), false}),
      "linear: y aliases x");
  // Apart in rows: x in rows 0-3, y in rows 4-7 over the same columns.
  reference().linear({all.row_slice(0, 4).col_slice(0, 4), wv, nullptr, all.row_slice(4, 4).col_slice(0, 4), false});
  EXPECT_DEATH(
      check(LinearParams{all.col_slice(0, 4), wv, nullptr, all.col_slice(4, 4), false, false, all.col_slice(2, 4)}),
      "linear: y aliases x_small");
  // Split activations are refused by a backend that does not take them.
  std::vector<float> small(8 * 4);
  EXPECT_DEATH(reference().linear({all.col_slice(0, 4), wv, nullptr, all.col_slice(4, 4), false, false,
                                   ConstMatF(small.data(), 8, 4)}),
               "does not take split activations");
}

TEST(ReferenceConv, KernelOneIsSiluOfAffine) {
  std::mt19937 rng(2);
  const int64_t rows = 9, channels = 5;
  Buffer x(rows, channels), y(rows, channels);
  fill_normal(rng, x, 0.0f, 3.0f);
  const std::vector<float> w = test::normal_vector(rng, channels), bias = test::normal_vector(rng, channels);
  for (bool reverse : {false, true}) {
    reference().conv1d_silu({x.cview(), w.data(), bias.data(), y.view(), 3, 1, reverse});
    for (int64_t i = 0; i < rows; ++i) {
      for (int64_t c = 0; c < channels; ++c) {
        EXPECT_NEAR(y.at(i, c), silu(double(w[c]) * x.at(i, c) + bias[c]), 1e-6);
      }
    }
  }
}

TEST(ReferenceConv, HandComputedBothDirectionsWithState) {
  // One channel, K = 3, taps (w0, w1, w2), x = (1, 2, 3, 4), no bias.
  const std::vector<float> x = {1, 2, 3, 4}, w = {0.5f, -1.0f, 2.0f};
  std::vector<float> y(4), state = {10, 20}, state_out(2);
  ConvParams p{ConstMatF(x.data(), 4, 1), w.data(), nullptr, MatF(y.data(), 4, 1), 4, 3};
  p.state_in = state.data();
  p.state_out = state_out.data();
  reference().conv1d_silu(p);
  // forward: y[t] = w0 x[t-2] + w1 x[t-1] + w2 x[t], x[-2] = 10, x[-1] = 20 from the state.
  const double fwd[4] = {0.5 * 10 - 20 + 2 * 1, 0.5 * 20 - 1 + 2 * 2, 0.5 * 1 - 2 + 2 * 3, 0.5 * 2 - 3 + 2 * 4};
  for (int t = 0; t < 4; ++t) EXPECT_NEAR(y[t], silu(fwd[t]), 1e-6) << t;
  EXPECT_EQ(state_out, (std::vector<float>{3, 4}));  // the last two inputs, oldest first

  p.reverse = true;
  reference().conv1d_silu(p);
  // reverse: y[t] = w0 x[t+2] + w1 x[t+1] + w2 x[t], x[5] = 10, x[4] = 20 from the state.
  const double rev[4] = {0.5 * 3 - 2 + 2 * 1, 0.5 * 4 - 3 + 2 * 2, 0.5 * 20 - 4 + 2 * 3, 0.5 * 10 - 20 + 2 * 4};
  for (int t = 0; t < 4; ++t) EXPECT_NEAR(y[t], silu(rev[t]), 1e-6) << t;
  EXPECT_EQ(state_out, (std::vector<float>{2, 1}));  // processed last: x[1] then x[0]

  // Without state_in the missing inputs are zeros; state_out may alias state_in.
  p.reverse = false;
  p.state_in = nullptr;
  p.state_out = state.data();
  reference().conv1d_silu(p);
  EXPECT_NEAR(y[0], silu(2.0), 1e-6);
  EXPECT_NEAR(y[1], silu(-1.0 + 4.0), 1e-6);
  EXPECT_EQ(state, (std::vector<float>{3, 4}));
  // A sequence shorter than K-1 passes part of the old state on.
  state = {10, 20};
  p.state_in = state.data();
  p.x.rows = p.y.rows = p.seq_len = 1;
  reference().conv1d_silu(p);
  EXPECT_EQ(state, (std::vector<float>{20, 1}));
}

// One channel, one state, by hand: A = -1 and delta = 0 give dt = softplus(0) = ln 2 and
// exp(dt * A) = 1/2.
// A one-channel, one-state scan over the `rows` values of u, delta, B, C (one sequence).
ScanParams single_channel(int64_t rows, const std::vector<float>& u, const std::vector<float>& delta,
                          const std::vector<float>& a, const std::vector<float>& b, const std::vector<float>& c) {
  ScanParams p;
  p.u = ConstMatF(u.data(), rows, 1);
  p.delta = ConstMatF(delta.data(), rows, 1);
  p.A = ConstMatF(a.data(), 1, 1);
  p.B = ConstMatF(b.data(), rows, 1);
  p.C = ConstMatF(c.data(), rows, 1);
  p.seq_len = rows;
  return p;
}

TEST(ReferenceScan, HandComputedSingleChannelSingleState) {
  const double ln2 = std::numbers::ln2;
  const std::vector<float> u = {1, 2}, delta = {0, 0}, a = {-1}, b = {1, 1}, c = {1, 1};
  std::vector<float> y(2), h(1);
  ScanParams p = single_channel(2, u, delta, a, b, c);
  p.y = MatF(y.data(), 2, 1);
  p.h_out = h.data();
  reference().selective_scan(p);
  // h0 = ln2 * 1; h1 = h0 / 2 + ln2 * 2 = 2.5 ln2
  EXPECT_NEAR(y[0], ln2, 1e-6);
  EXPECT_NEAR(y[1], 2.5 * ln2, 1e-6);
  EXPECT_NEAR(h[0], 2.5 * ln2, 1e-6);

  // Reverse, from h_in = 1, with D skip and gate: t = 1 first.
  const std::vector<float> dskip = {0.5f}, z = {1.0f, -2.0f};
  std::vector<float> h_in = {1.0f};
  p.reverse = true;
  p.h_in = h_in.data();
  p.h_out = h_in.data();  // in place
  p.Dskip = dskip.data();
  p.z = ConstMatF(z.data(), 2, 1);
  reference().selective_scan(p);
  const double h1 = 0.5 + 2 * ln2, h0 = h1 / 2 + ln2;
  EXPECT_NEAR(y[1], (h1 + 0.5 * 2) * silu(-2.0), 1e-6);
  EXPECT_NEAR(y[0], (h0 + 0.5 * 1) * silu(1.0), 1e-6);
  EXPECT_NEAR(h_in[0], h0, 1e-6);
}

TEST(ReferenceScan, RejectsAScanThatWantsNothing) {
  const std::vector<float> u = {1}, delta = {0}, a = {-1}, b = {1}, c = {1};
  const ScanParams p = single_channel(1, u, delta, a, b, c);
  EXPECT_DEATH(reference().selective_scan(p), "selective_scan: neither y nor h_out is wanted");
}

TEST(ReferenceScan, SoftplusThresholdIsTwenty) {
  // dt = delta above 20, log1p(exp(delta)) at and below it; A = -1e-3 keeps exp(dt A) moderate.
  for (float delta : {-30.0f, -3.0f, 0.5f, 19.9f, 20.0f, 20.001f, 35.0f}) {
    const std::vector<float> u = {1}, a = {-1e-3f}, bc = {1};
    std::vector<float> y(1);
    ScanParams p;
    p.u = ConstMatF(u.data(), 1, 1);
    p.delta = ConstMatF(&delta, 1, 1);
    p.A = ConstMatF(a.data(), 1, 1);
    p.B = ConstMatF(bc.data(), 1, 1);
    p.C = ConstMatF(bc.data(), 1, 1);
    p.y = MatF(y.data(), 1, 1);
    p.seq_len = 1;
    reference().selective_scan(p);  // from h = 0: y = dt * u * B * C = dt
    const float expected = delta > 20.0f ? delta : std::log1p(std::exp(delta));
    EXPECT_EQ(y[0], expected) << delta;
  }
}

// An independent double-precision scan, straight from the formulas of ops.h: from h_in when
// given, delta from dt_in and dt_w when it is not given itself.
std::vector<double> scan_in_double(const ScanParams& p) {
  const int64_t rows = p.u.rows, dim = p.u.cols, nstate = p.A.cols, len = p.seq_len;
  std::vector<double> y(rows * dim);
  for (int64_t s = 0; s < rows / len; ++s) {
    for (int64_t d = 0; d < dim; ++d) {
      std::vector<double> h(nstate, 0.0);
      if (p.h_in) std::copy_n(p.h_in + (s * dim + d) * nstate, nstate, h.begin());
      for (int64_t i = 0; i < len; ++i) {
        const int64_t t = s * len + (p.reverse ? len - 1 - i : i);
        double delta = 0.0;
        if (p.delta.empty()) {
          for (int64_t r = 0; r < p.dt_in.cols; ++r) delta += double(p.dt_in.at(t, r)) * p.dt_w.at(d, r);
        } else {
          delta = p.delta.at(t, d);
        }
        const double dt = softplus(delta + (p.delta_bias ? p.delta_bias[d] : 0.0));
        double out = 0.0;
        for (int64_t n = 0; n < nstate; ++n) {
          h[n] = std::exp(dt * p.A.at(d, n)) * h[n] + dt * p.B.at(t, n) * p.u.at(t, d);
          out += p.C.at(t, n) * h[n];
        }
        out += (p.Dskip ? p.Dskip[d] : 0.0) * p.u.at(t, d);
        if (!p.z.empty()) out *= silu(p.z.at(t, d));
        y[t * dim + d] = out;
      }
    }
  }
  return y;
}

TEST(ReferenceScan, MatchesDoublePrecisionFormula) {
  std::mt19937 rng(3);
  const int64_t seqs = 2, len = 50, dim = 6, nstate = 5;
  Buffer u(seqs * len, dim), delta(seqs * len, dim), a(dim, nstate), b(seqs * len, nstate), c(seqs * len, nstate),
      z(seqs * len, dim), y(seqs * len, dim);
  for (Buffer* m : {&u, &b, &c, &z}) fill_normal(rng, *m);
  fill_normal(rng, delta, -1.0f, 1.0f);
  for (int64_t d = 0; d < dim; ++d) {
    for (int64_t n = 0; n < nstate; ++n) a.at(d, n) = -float(n + 1);
  }
  const std::vector<float> bias = test::normal_vector(rng, dim), dskip = test::normal_vector(rng, dim);
  for (bool reverse : {false, true}) {
    ScanParams p;
    p.u = u.cview();
    p.delta = delta.cview();
    p.delta_bias = bias.data();
    p.A = a.cview();
    p.B = b.cview();
    p.C = c.cview();
    p.Dskip = dskip.data();
    p.z = z.cview();
    p.y = y.view();
    p.seq_len = len;
    p.reverse = reverse;
    reference().selective_scan(p);
    const std::vector<double> expected = scan_in_double(p);
    std::vector<float> expected_f(expected.begin(), expected.end());
    const auto diff = compare(y.values(), expected_f);
    EXPECT_LT(diff.relative, 1e-6) << "reverse " << reverse;
  }
}

// The fused dt_proj is the linear it replaces followed by the scan with that delta: bitwise, as
// the reference computes both dot products alike (in double, rounded once). And the fused scan
// is within 1e-6 of the double formula, as the explicit one is. Ranks 1, 16 and 33; dt_in a
// column slice of xdbl [rows, R + 2N] = dt | B | C, dt_w and delta strided; several sequences.
TEST(ReferenceScan, FusedDtProjEqualsLinearThenScan) {
  std::mt19937 rng(5);
  int flags = 0;
  for (int64_t rank : {1, 16, 33}) {
    for (int64_t dim : {5, 33}) {
      for (int i = 0; i < 4; ++i, flags += 3) {
        const bool reverse = flags & 1, gate = flags & 2, bias = flags & 4, skip = flags & 8, state = flags & 16;
        SCOPED_TRACE(testing::Message() << "R " << rank << " D " << dim << " flags " << flags);
        const test::ScanData data(rng, 3, 20, dim, 7, 0.0f, rank);
        const int64_t rows = data.seqs * data.len, states = int64_t(data.h_in.size());
        Buffer y_fused(rows, dim, dim + 1), y_linear(rows, dim, dim + 1), delta(rows, dim, dim + 3);
        std::vector<float> h_fused(states), h_linear(states), h_only(states);
        ScanParams p = data.params(y_fused.view(), reverse, gate, bias, skip, true);
        p.h_in = state ? data.h_in.data() : nullptr;
        p.h_out = h_fused.data();
        reference().selective_scan(p);

        // [rows, D] delta = dt_in[rows, R] · dt_w[D, R]^T, then the scan with it.
        reference().linear({p.dt_in, p.dt_w, nullptr, delta.view()});
        ScanParams q = data.params(y_linear.view(), reverse, gate, bias, skip);
        q.delta = delta.cview();
        q.h_in = p.h_in;
        q.h_out = h_linear.data();
        reference().selective_scan(q);
        EXPECT_TRUE(compare(y_fused, y_linear).bitwise);
        EXPECT_EQ(h_fused, h_linear);
        EXPECT_TRUE(y_fused.padding_intact());

        const std::vector<double> expected = scan_in_double(p);
        EXPECT_LT(compare(y_fused.values(), std::vector<float>(expected.begin(), expected.end())).relative, 1e-6);

        // State only: the same h_out.
        p.y = MatF();
        p.h_out = h_only.data();
        reference().selective_scan(p);
        EXPECT_EQ(h_only, h_fused);
      }
    }
  }
}

// y += v equals v into a fresh y and then a separate add, bitwise (gate on: the product that
// an FMA would fuse with the add), with the explicit delta and the fused dt_proj.
TEST(ReferenceScan, AccumulateIsASeparateAdd) {
  std::mt19937 rng(6);
  for (bool fused : {false, true}) {
    for (bool reverse : {false, true}) {
      const test::ScanData data(rng, 2, 30, 9, 5, 0.0f, 4);
      const int64_t rows = data.seqs * data.len;
      Buffer y0(rows, data.dim, data.dim + 2), plain(rows, data.dim);
      fill_normal(rng, y0);
      Buffer y = y0;
      reference().selective_scan(data.params(plain.view(), reverse, true, true, true, fused));
      ScanParams p = data.params(y.view(), reverse, true, true, true, fused);
      p.accumulate = true;
      reference().selective_scan(p);
      Buffer sum = y0;
      for (int64_t i = 0; i < rows; ++i) {
        for (int64_t c = 0; c < data.dim; ++c) sum.at(i, c) += plain.at(i, c);
      }
      EXPECT_TRUE(compare(y, sum).bitwise) << "fused " << fused << " reverse " << reverse;
      EXPECT_TRUE(y.padding_intact());
    }
  }
}

TEST(ReferenceScan, RejectsDeltaWithDtProjAndAccumulateWithoutY) {
  std::mt19937 rng(7);
  const test::ScanData data(rng, 1, 4, 3, 2, 0.0f, 2);
  Buffer y(4, 3);
  std::vector<float> h(data.h_in.size());
  ScanParams both = data.params(y.view(), false, false, false, false);
  both.dt_w = data.dt_w.cview();
  EXPECT_DEATH(reference().selective_scan(both), "selective_scan: both delta and dt_in/dt_w are given");
  ScanParams no_y = data.params(MatF(), false, false, false, false, true);
  no_y.h_out = h.data();
  no_y.accumulate = true;
  EXPECT_DEATH(reference().selective_scan(no_y), "selective_scan: accumulate without y");
  // z gating the sum needs both the sum (accumulate) and z.
  ScanParams no_add = data.params(y.view(), false, true, false, false, true);
  no_add.gate_sum = true;
  EXPECT_DEATH(reference().selective_scan(no_add), "selective_scan: gate_sum without accumulate and z");
  ScanParams no_z = data.params(y.view(), false, false, false, false, true);
  no_z.accumulate = no_z.gate_sum = true;
  EXPECT_DEATH(reference().selective_scan(no_z), "selective_scan: gate_sum without accumulate and z");
}

// dt_scratch: memory of y's shape that no other view of the call touches; a backend that keeps
// no dt (the reference) runs the same with it.
TEST(ReferenceScan, DtScratchRules) {
  std::mt19937 rng(9);
  const test::ScanData data(rng, 1, 4, 3, 2, 0.0f, 2);
  Buffer y(4, 3), plain(4, 3), lent(4, 8);
  const auto params = [&](MatF out) { return data.params(out, false, true, false, false, true); };
  reference().selective_scan(params(plain.view()));
  ScanParams p = params(y.view());
  p.dt_scratch = lent.view().col_slice(4, 3);
  reference().selective_scan(p);
  EXPECT_TRUE(compare(y, plain).bitwise);
  ScanParams shape = params(y.view());
  shape.dt_scratch = lent.view().col_slice(0, 2);
  EXPECT_DEATH(check(shape), "selective_scan: dt_scratch is \\[4, 2\\], expected \\[4, 3\\]");
  ScanParams over_u = params(y.view());
  over_u.dt_scratch = MatF(const_cast<float*>(over_u.u.data), 4, 3, over_u.u.ld);
  EXPECT_DEATH(check(over_u), "selective_scan: dt_scratch aliases an input");
  ScanParams over_y = params(y.view());
  over_y.dt_scratch = y.view();
  EXPECT_DEATH(check(over_y), "selective_scan: dt_scratch aliases an output");
}

// The split output's rules (ScanParams::y_small / y_add), checked for every backend; the CPU
// backends refuse the fields themselves.
TEST(ReferenceScan, SplitOutputRules) {
  std::mt19937 rng(8);
  const test::ScanData data(rng, 1, 4, 3, 2, 0.0f, 2);
  Buffer y(4, 3), sum(4, 3), small(4, 3), wide(4, 8);
  const auto params = [&] { return data.params(y.view(), false, true, false, false, true); };
  ScanParams add_only = params();
  add_only.y_add = sum.cview();
  EXPECT_DEATH(check(add_only), "selective_scan: y_add without accumulate");
  ScanParams over_y = params();
  over_y.y_small = y.view();
  EXPECT_DEATH(check(over_y), "selective_scan: y_small aliases");
  ScanParams over_u = params();
  over_u.y_small = MatF(const_cast<float*>(over_u.u.data), 4, 3, over_u.u.ld);
  EXPECT_DEATH(check(over_u), "selective_scan: y_small aliases an input");
  // z itself is allowed (read before written), a shifted view of it is not.
  ScanParams over_z = params();
  over_z.y_small = MatF(const_cast<float*>(over_z.z.data), 4, 3, over_z.z.ld);
  check(over_z);
  over_z.y_small = MatF(const_cast<float*>(over_z.z.data) + 1, 4, 3, over_z.z.ld);
  EXPECT_DEATH(check(over_z), "selective_scan: y_small aliases an input");
  ScanParams no_y = data.params(MatF(), false, false, false, false, true);
  std::vector<float> h(data.h_in.size());
  no_y.h_out = h.data();
  no_y.y_small = small.view();
  EXPECT_DEATH(check(no_y), "selective_scan: y_add or y_small without y");
  // Columns side by side in one matrix are apart; b before a (a negative offset) too.
  ScanParams side = params();
  side.y = wide.view().col_slice(4, 3);
  side.y_small = wide.view().col_slice(0, 3);
  check(side);
  ScanParams refused = params();
  refused.y_small = small.view();
  EXPECT_DEATH(reference().selective_scan(refused), "does not take split activations");
  EXPECT_DEATH(make_cpu_backend()->selective_scan(refused), "does not take split activations");
}

// The split forms' layout rules (LinearParams::x_repeated, AddRmsNormParams::y_small /
// y_repeated), and the reference backend refuses the split norm (cpu_backend_test: the CPU's).
TEST(ReferenceSplit, RepeatedLayoutRules) {
  Buffer rows3(4, 9), other(4, 3), y(4, 5), x(4, 3);
  std::vector<float> w(15), weight(3, 1.0f);
  const ConstMatF big = rows3.cview().col_slice(0, 3), small = rows3.cview().col_slice(3, 3);
  LinearParams lin{big, ConstMatF(w.data(), 5, 3), nullptr, y.view(), false, false, small, true};
  check(lin);
  lin.x_small = other.cview();
  EXPECT_DEATH(check(lin), "linear: x_repeated without \\[x \\| x_small \\| x\\] rows");
  lin.x_small = ConstMatF();
  EXPECT_DEATH(check(lin), "linear: x_repeated without");
  AddRmsNormParams np;
  np.x = x.cview();
  np.weight = weight.data();
  np.y = rows3.view().col_slice(0, 3);
  np.y_small = rows3.view().col_slice(3, 3);
  np.y_repeated = true;
  check(np);
  EXPECT_DEATH(reference().add_rms_norm(np), "add_rms_norm: this backend does not take split activations");
  np.y_small = other.view();
  EXPECT_DEATH(check(np), "add_rms_norm: y_repeated without");
  np.y_repeated = false;
  check(np);
  np.y_small = MatF(const_cast<float*>(np.x.data), 4, 3, np.x.ld);
  EXPECT_DEATH(check(np), "add_rms_norm: y_small aliases an input");
}

TEST(ReferenceNorm, HandComputedAndDirectFormula) {
  // r = (3, 4): mean(r^2) = 12.5; y = r / sqrt(12.5) * w.
  std::vector<float> x = {1, 5}, res = {2, -1}, w = {1, 2}, y(2), res_out(2);
  reference().add_rms_norm({ConstMatF(x.data(), 1, 2), ConstMatF(res.data(), 1, 2), w.data(), 0.0f,
                            MatF(res_out.data(), 1, 2), MatF(y.data(), 1, 2)});
  EXPECT_EQ(res_out, (std::vector<float>{3, 4}));
  EXPECT_NEAR(y[0], 3 / std::sqrt(12.5), 1e-6);
  EXPECT_NEAR(y[1], 8 / std::sqrt(12.5), 1e-6);

  std::mt19937 rng(4);
  const int64_t rows = 5, width = 300;
  Buffer a(rows, width, width + 4), r(rows, width), out(rows, width);
  fill_normal(rng, a);
  fill_normal(rng, r);
  const std::vector<float> weight = test::normal_vector(rng, width);
  const Buffer a0 = a, r0 = r;
  // In place: y = x and residual_out = residual_in.
  reference().add_rms_norm({a.cview(), r.cview(), weight.data(), 1e-5f, r.view(), a.view()});
  for (int64_t i = 0; i < rows; ++i) {
    double ss = 0.0;
    for (int64_t c = 0; c < width; ++c) ss += std::pow(double(a0.at(i, c)) + r0.at(i, c), 2);
    const double rms = std::sqrt(ss / width + 1e-5);
    for (int64_t c = 0; c < width; ++c) {
      EXPECT_EQ(r.at(i, c), a0.at(i, c) + r0.at(i, c));
      EXPECT_NEAR(a.at(i, c), (double(a0.at(i, c)) + r0.at(i, c)) / rms * weight[c], 1e-5);
    }
  }
  EXPECT_TRUE(a.padding_intact());
  // x alone (residual_in empty) and residual_in alone give the same result.
  Buffer y1(rows, width), y2(rows, width);
  reference().add_rms_norm({a0.cview(), {}, weight.data(), 1e-5f, {}, y1.view()});
  reference().add_rms_norm({{}, a0.cview(), weight.data(), 1e-5f, {}, y2.view()});
  EXPECT_TRUE(compare(y1, y2).bitwise);
}

TEST(ReferenceRowOps, EmbeddingElementwiseFlip) {
  const std::vector<float> table = {0, 1, 10, 11, 20, 21};  // [3, 2]
  const std::vector<int32_t> ids = {2, 0, 2};
  std::vector<float> y(6);
  reference().embedding({ids.data(), ConstMatF(table.data(), 3, 2), MatF(y.data(), 3, 2)});
  EXPECT_EQ(y, (std::vector<float>{20, 21, 0, 1, 20, 21}));

  std::vector<float> a = {1, 2, 3, 4}, b = {4, 3, 2, 1}, out(4);
  auto run = [&](ElementwiseOp op) {
    reference().elementwise({op, ConstMatF(a.data(), 2, 2), ConstMatF(b.data(), 2, 2), MatF(out.data(), 2, 2)});
    return out;
  };
  EXPECT_EQ(run(ElementwiseOp::kAdd), (std::vector<float>{5, 5, 5, 5}));
  EXPECT_EQ(run(ElementwiseOp::kMul), (std::vector<float>{4, 6, 6, 4}));
  EXPECT_EQ(run(ElementwiseOp::kAverage), (std::vector<float>{2.5f, 2.5f, 2.5f, 2.5f}));
  reference().elementwise({ElementwiseOp::kAdd, ConstMatF(a.data(), 2, 2), ConstMatF(b.data(), 2, 2),
                           MatF(a.data(), 2, 2)});  // y aliases a
  EXPECT_EQ(a, (std::vector<float>{5, 5, 5, 5}));

  const std::vector<float> x = {1, 2, 3, 4, 5, 6};  // [2, 3]
  std::vector<float> f(6);
  auto flip = [&](bool rows, bool cols) {
    reference().flip({ConstMatF(x.data(), 2, 3), MatF(f.data(), 2, 3), rows, cols});
    return f;
  };
  EXPECT_EQ(flip(false, false), x);
  EXPECT_EQ(flip(true, false), (std::vector<float>{4, 5, 6, 1, 2, 3}));
  EXPECT_EQ(flip(false, true), (std::vector<float>{3, 2, 1, 6, 5, 4}));
  EXPECT_EQ(flip(true, true), (std::vector<float>{6, 5, 4, 3, 2, 1}));
}

}  // namespace
}  // namespace strand::kernels
