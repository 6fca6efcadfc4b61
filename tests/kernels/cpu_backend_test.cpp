// The CPU backend against the reference backend, on random inputs (seeded, fresh per case) at
// awkward sizes: lengths 1, 7, 127, 128, 129, 4097 and 100k, channel counts that are not
// multiples of the vector width, strided views and column slices, both directions, with and
// without state, gate, bias and skip.
//
// Tolerances (||cpu - ref|| / ||ref|| per output, max |cpu - ref| printed on failure):
//   embedding, elementwise, flip, and conv1d_silu's state_out: bitwise equal to the reference.
//   conv1d_silu: <= 1e-6 (same sums in the same order; silu_fast is within a few ulp of the
//     reference's std::exp formula).
//   selective_scan: y <= 1e-6, h_out <= 1e-5 (exp_fast, softplus_fast and silu_fast are within
//     a few ulp of the std:: formulas, the AVX2 kernel uses FMA; both the AVX2 and the portable
//     kernels are checked). The same with the fused dt_proj (R = 1, 16, 33): its fp32 sum over r
//     against the reference's double sum moves delta by a few ulp, well inside these bounds.
//     accumulate: bitwise equal to a separate add of the same backend's plain result.
//   add_rms_norm: <= 1e-6 (the double mean of squares is summed in another order).
//   linear: <= 1e-6 (fp32 16-lane dot products against a double-accumulated reference).
// Thread counts (arenas of 1 and 4 threads): bitwise identical for every op, GEMM included
// (its blocks depend on the shapes only). Tiling a sequence (rows [0, T) then [T, L) with the
// state carried; reverse: [T, L) first): bitwise identical for scan (fused dt_proj and
// accumulate included) and conv; so are one position at a time (their decoding-step paths)
// and one pass.
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/backend.h"
#include "kernels/cpu/cpu_ops.h"
#include "kernels/cpu/fast_math.h"
#include "tests/kernels/kernels_test_support.h"

namespace strand::kernels {
namespace {

using test::Buffer;
using test::compare;
using test::ConvCase;
using test::describe;
using test::Difference;
using test::fill_normal;
using test::in_arena;
using test::normal_vector;
using test::ScanData;

constexpr double kTolerance = 1e-6;
// The scan's h_out of one channel is a vector of N numbers only: one rounding difference (FMA
// in the AVX2 kernel) in a component that cancelled is not averaged out as in y.
constexpr double kStateTolerance = 1e-5;
const int64_t kLengths[] = {1, 7, 127, 128, 129, 4097};

Backend& reference() {
  static const std::unique_ptr<Backend> backend = make_reference_backend();
  return *backend;
}
Backend& cpu() {
  static const std::unique_ptr<Backend> backend = make_cpu_backend();
  return *backend;
}

// The tile arithmetic every backend's default_tile_rows uses (backend.h).
TEST(TileRows, FewestTilesEvenedOutWithinMemory) {
  EXPECT_EQ(even_tile_rows(0, 100), 1);
  EXPECT_EQ(even_tile_rows(100, 100), 100);
  EXPECT_EQ(even_tile_rows(101, 100), 51);
  EXPECT_EQ(even_tile_rows(1000000, 393216), 333334);
  EXPECT_EQ(even_tile_rows(1000000, 1), 1);
  // 8 GiB free at 14 KiB a row: 3/4 of it is 449,389 rows; 2 GiB: 112,347.
  EXPECT_EQ(tile_rows_in_memory(size_t(8) << 30, 14 * 1024), 449389);
  EXPECT_EQ(tile_rows_in_memory(size_t(2) << 30, 14 * 1024), 112347);
  EXPECT_EQ(even_tile_rows(1000000, tile_rows_in_memory(size_t(2) << 30, 14 * 1024)), 111112);  // 9 tiles
  EXPECT_EQ(tile_rows_in_memory(size_t(1) << 20, 14 * 1024), kMinTileRowsInMemory);
  EXPECT_EQ(tile_rows_in_memory(0, 14 * 1024), kMinTileRowsInMemory);
  EXPECT_EQ(tile_rows_in_memory(size_t(1) << 30, 0), std::numeric_limits<int64_t>::max());
  // The CPU backend's choice does not depend on memory.
  const auto cpu = make_cpu_backend();
  EXPECT_EQ(cpu->default_tile_rows(1000000, 0), cpu->default_tile_rows(1000000, size_t(1) << 40));
}

TEST(FastExp, WithinTwoUlpOfStdExp) {
  double worst = 0.0;
  for (float x = -87.3f; x <= 88.0f; x += 1.37e-3f) {
    const double e = std::exp(double(x));
    worst = std::max(worst, std::abs(double(cpu::exp_fast(x)) - e) / e);
  }
  EXPECT_LT(worst, 2.4e-7);
  EXPECT_EQ(cpu::exp_fast(0.0f), 1.0f);
  EXPECT_EQ(cpu::exp_fast(-100.0f), 0.0f);
  EXPECT_EQ(cpu::exp_fast(-std::numeric_limits<float>::infinity()), 0.0f);
}

// log1p_fast over the whole range softplus feeds it (exp(v) for v <= 20), densely near 0 where
// log1p differs from log(1 + x); softplus_fast and silu_fast against their std:: formulas.
TEST(FastLog1p, WithinFewUlpOfStdLog1p) {
  double worst = 0.0;
  const auto check = [&](float x) {
    const double want = std::log1p(double(x));
    if (want > 0.0) worst = std::max(worst, std::abs(double(cpu::log1p_fast(x)) - want) / want);
  };
  for (float x = 1e-30f; x < 5e8f; x *= 1.0007f) check(x);
  for (float x = 0.0f; x < 4.0f; x += 3.1e-4f) check(x);
  EXPECT_LT(worst, 4.8e-7);
  EXPECT_EQ(cpu::log1p_fast(0.0f), 0.0f);
  EXPECT_EQ(cpu::log1p_fast(1e-30f), 1e-30f);
  EXPECT_NEAR(cpu::log_fast(1.0f), 0.0f, 0.0f);
}

TEST(FastSoftplusSilu, MatchTheReferenceFormulas) {
  double worst_softplus = 0.0, worst_silu = 0.0;
  for (float v = -80.0f; v < 40.0f; v += 7.3e-4f) {
    const double sp = v > 20.0f ? double(v) : std::log1p(std::exp(double(v)));
    worst_softplus = std::max(worst_softplus, std::abs(double(cpu::softplus_fast(v)) - sp) / sp);
    const double si = double(v) / (1.0 + std::exp(-double(v)));
    if (si != 0.0) worst_silu = std::max(worst_silu, std::abs(double(cpu::silu_fast(v)) - si) / std::abs(si));
  }
  EXPECT_LT(worst_softplus, 6e-7);
  EXPECT_LT(worst_silu, 6e-7);
  EXPECT_EQ(cpu::softplus_fast(25.0f), 25.0f);  // the reference's threshold: passes through
  EXPECT_EQ(cpu::silu_fast(0.0f), 0.0f);
  EXPECT_EQ(cpu::silu_fast(100.0f), 100.0f);
  EXPECT_LT(cpu::silu_fast(-100.0f), 0.0f);
  EXPECT_GT(cpu::silu_fast(-100.0f), -1e-30f);
}

// ---- linear ---------------------------------------------------------------------------------

void check_linear(std::mt19937& rng, int64_t m, int64_t k, int64_t n, bool strided, bool bias, bool accumulate) {
  SCOPED_TRACE(testing::Message() << "M " << m << " K " << k << " N " << n << " strided " << strided << " bias " << bias
                                  << " accumulate " << accumulate);
  // Strided: x and w with padded rows, y a column slice of a wider matrix.
  Buffer x(m, k, strided ? k + 5 : k), w(n, k, strided ? k + 3 : k), y0(m, strided ? n + 9 : n);
  fill_normal(rng, x);
  fill_normal(rng, w, 0.0f, 0.1f);
  fill_normal(rng, y0);
  const std::vector<float> b = normal_vector(rng, n);
  auto run = [&](Backend& backend, int threads) {
    Buffer y = y0;
    LinearParams p{x.cview(), w.cview(), bias ? b.data() : nullptr, y.view().col_slice(strided ? 4 : 0, n), accumulate};
    in_arena(threads, [&] { backend.linear(p); });
    return y;
  };
  const Buffer ref = run(reference(), 1), one = run(cpu(), 1), many = run(cpu(), 4);
  const Difference d = compare(one, ref);
  EXPECT_LE(d.relative, kTolerance) << describe(d);
  EXPECT_TRUE(compare(many, one).bitwise) << "thread count changed the GEMM result";
}

TEST(CpuLinear, MatchesReference) {
  std::mt19937 rng(10);
  int i = 0;
  for (int64_t m : kLengths) {
    for (auto [k, n] : {std::pair<int64_t, int64_t>{16, 16}, {37, 70}, {256, 130}}) {
      ++i;
      check_linear(rng, m, k, n, i % 2, i % 3 != 0, i % 4 == 1);
    }
  }
  check_linear(rng, 7, 2048, 256, true, true, false);
  check_linear(rng, 300, 1024, 64, false, true, true);
  check_linear(rng, 129, 0, 5, false, true, false);  // K = 0: y = bias
}

TEST(CpuLinear, RowBlocksOfATiledCallAgree) {
  std::mt19937 rng(11);
  const int64_t m = 4097, k = 96, n = 80;
  Buffer x(m, k), w(n, k), whole(m, n), tiled(m, n);
  fill_normal(rng, x);
  fill_normal(rng, w);
  cpu().linear({x.cview(), w.cview(), nullptr, whole.view()});
  for (auto [r0, rows] : {std::pair<int64_t, int64_t>{0, 1000}, {1000, 3097}}) {
    cpu().linear({x.cview().row_slice(r0, rows), w.cview(), nullptr, tiled.view().row_slice(r0, rows)});
  }
  const Difference d = compare(tiled, whole);
  EXPECT_LE(d.relative, kTolerance) << describe(d);
  RecordProperty("gemm_tiled_bitwise", d.bitwise ? "yes" : "no");
}

// The portable build of the kernel (no FMA) against the SIMD one this CPU picks: the same sums in
// the same order, so only rounding differs; and both keep rows independent of their batch.
TEST(CpuLinear, BaselineAndSimdKernelsAgree) {
  std::mt19937 rng(12);
  for (auto [m, k, n] : {std::tuple<int64_t, int64_t, int64_t>{1, 256, 1024}, {5, 33, 17}, {130, 512, 48}, {64, 15, 9}}) {
    SCOPED_TRACE(testing::Message() << "M " << m << " K " << k << " N " << n);
    Buffer x(m, k), w(n, k), simd(m, n), base(m, n), base_row(1, n);
    fill_normal(rng, x);
    fill_normal(rng, w, 0.0f, 0.1f);
    const std::vector<float> b = normal_vector(rng, n);
    cpu::linear({x.cview(), w.cview(), b.data(), simd.view()}, cpu::Simd::kAuto);
    cpu::linear({x.cview(), w.cview(), b.data(), base.view()}, cpu::Simd::kBaseline);
    const Difference d = compare(base, simd);
    EXPECT_LE(d.relative, kTolerance) << describe(d);
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
      // AVX2 and AVX-512 run the same fused multiply-adds lane by lane: identical bits.
      Buffer avx2(m, n);
      cpu::linear({x.cview(), w.cview(), b.data(), avx2.view()}, cpu::Simd::kAvx2);
      EXPECT_TRUE(compare(avx2, simd).bitwise) << "the AVX2 kernel differs from the widest one";
    }
    cpu::linear({x.cview().row_slice(m - 1, 1), w.cview(), b.data(), base_row.view()}, cpu::Simd::kBaseline);
    EXPECT_TRUE(std::equal(base_row.data.begin(), base_row.data.begin() + n, base.data.begin() + (m - 1) * n))
        << "the baseline kernel's last row changed when computed alone";
  }
}

// ---- conv1d_silu ----------------------------------------------------------------------------

void check_conv(std::mt19937& rng, const ConvCase& c) {
  SCOPED_TRACE(testing::Message() << "S " << c.seqs << " L " << c.len << " C " << c.channels << " K " << c.kernel
                                  << " reverse " << c.reverse << " bias " << c.bias << " state " << c.state_in
                                  << c.state_out);
  const int64_t rows = c.seqs * c.len, k1 = c.kernel - 1;
  Buffer xz(rows, 2 * c.channels + 1);  // x is a column slice, as of in_proj's output
  fill_normal(rng, xz);
  const ConstMatF x = xz.cview().col_slice(1, c.channels);
  const std::vector<float> w = normal_vector(rng, c.channels * c.kernel, 0.0f, 0.5f);
  const std::vector<float> b = normal_vector(rng, c.channels);
  const std::vector<float> s_in = normal_vector(rng, c.seqs * c.channels * k1);
  auto run = [&](Backend& backend, int threads, std::vector<float>& s_out) {
    Buffer y(rows, c.channels, c.channels + 3);
    s_out.assign(s_in.size(), -1.0f);
    ConvParams p{x,
                 w.data(),
                 c.bias ? b.data() : nullptr,
                 y.view(),
                 c.len,
                 c.kernel,
                 c.reverse,
                 c.state_in ? s_in.data() : nullptr,
                 c.state_out ? s_out.data() : nullptr};
    in_arena(threads, [&] { backend.conv1d_silu(p); });
    EXPECT_TRUE(y.padding_intact());
    return y;
  };
  std::vector<float> s_ref, s_one, s_many;
  const Buffer ref = run(reference(), 1, s_ref), one = run(cpu(), 1, s_one), many = run(cpu(), 4, s_many);
  const Difference d = compare(one, ref);
  EXPECT_LE(d.relative, kTolerance) << describe(d);
  EXPECT_TRUE(compare(s_one, s_ref).bitwise);
  EXPECT_TRUE(compare(many, one).bitwise);
  EXPECT_TRUE(compare(s_many, s_one).bitwise);
}

TEST(CpuConv, MatchesReference) {
  std::mt19937 rng(20);
  int i = 0;
  for (int64_t len : kLengths) {
    for (int64_t channels : {1, 5, 37, 130}) {
      for (int kernel : {1, 2, 4}) {
        ++i;
        check_conv(rng, {1 + i % 3, len, channels, kernel, i % 2 == 0, i % 3 != 0, i % 4 < 2, i % 5 < 3});
      }
    }
  }
  check_conv(rng, {1, 100000, 6, 4, false, true, true, true});
  check_conv(rng, {1, 100000, 6, 4, true, true, true, true});
}

// A record processed in two tiles with the state carried equals one pass, bit for bit.
TEST(CpuConv, TilesCarryStateExactly) {
  std::mt19937 rng(21);
  const int64_t len = 1000, channels = 19;
  const int kernel = 4;
  Buffer x(len, channels);
  fill_normal(rng, x);
  const std::vector<float> w = normal_vector(rng, channels * kernel), b = normal_vector(rng, channels);
  for (bool reverse : {false, true}) {
    for (int64_t tile : {1, 2, 129, 500, 999}) {
      Buffer whole(len, channels), tiled(len, channels);
      std::vector<float> s_whole(channels * (kernel - 1)), state(channels * (kernel - 1), 0.0f);
      cpu().conv1d_silu({x.cview(), w.data(), b.data(), whole.view(), len, kernel, reverse, nullptr, s_whole.data()});
      // Forward: [0, tile) then [tile, len); reverse: [tile, len) then [0, tile).
      std::vector<std::pair<int64_t, int64_t>> tiles = {{0, tile}, {tile, len - tile}};
      if (reverse) std::swap(tiles[0], tiles[1]);
      for (auto [r0, rows] : tiles) {
        cpu().conv1d_silu({x.cview().row_slice(r0, rows), w.data(), b.data(), tiled.view().row_slice(r0, rows), rows,
                           kernel, reverse, state.data(), state.data()});
      }
      EXPECT_TRUE(compare(tiled, whole).bitwise) << "tile " << tile << " reverse " << reverse;
      EXPECT_TRUE(compare(state, s_whole).bitwise) << "tile " << tile << " reverse " << reverse;
    }
  }
}

// One position at a time (the decoding step's own path: seq_len 1), several sequences side by
// side, equals one pass over each whole sequence, bit for bit, output and state; the first step
// starts from zero state (state_in null) or from a given one.
TEST(CpuConv, OnePositionStepsEqualOnePass) {
  std::mt19937 rng(22);
  for (auto [seqs, channels, kernel] : {std::array<int64_t, 3>{1, 512, 4}, {3, 37, 4}, {2, 19, 2}, {2, 5, 1}}) {
    const int64_t len = 9, k1 = kernel - 1;
    Buffer x(seqs * len, channels, channels + 1);
    fill_normal(rng, x);
    const std::vector<float> w = normal_vector(rng, channels * kernel, 0.0f, 0.5f), b = normal_vector(rng, channels);
    const std::vector<float> s0 = normal_vector(rng, seqs * channels * k1);
    for (int variant = 0; variant < 8; ++variant) {
      const bool reverse = variant & 1, bias = variant & 2, zero_start = variant & 4;
      SCOPED_TRACE(testing::Message() << "S " << seqs << " C " << channels << " K " << kernel << " reverse " << reverse
                                      << " bias " << bias << " zero start " << zero_start);
      Buffer whole(seqs * len, channels), stepped(seqs * len, channels);
      std::vector<float> s_whole(s0.size()), state = zero_start ? std::vector<float>(s0.size(), 0.0f) : s0;
      cpu().conv1d_silu({x.cview(), w.data(), bias ? b.data() : nullptr, whole.view(), len, int(kernel), reverse,
                         zero_start ? nullptr : s0.data(), s_whole.data()});
      for (int64_t q = 0; q < len; ++q) {
        // Row t of every sequence: a view with the rows len apart.
        const int64_t t = reverse ? len - 1 - q : q;
        const ConstMatF xs(x.cview().row(t), seqs, channels, x.ld * len);
        const MatF ys(stepped.view().row(t), seqs, channels, stepped.ld * len);
        in_arena(q % 2 ? 4 : 1, [&] {
          cpu().conv1d_silu({xs, w.data(), bias ? b.data() : nullptr, ys, 1, int(kernel), reverse,
                             zero_start && q == 0 ? nullptr : state.data(), state.data()});
        });
      }
      EXPECT_TRUE(compare(stepped, whole).bitwise);
      EXPECT_TRUE(compare(state, s_whole).bitwise);
    }
  }
}

// The split norm output is for the tensor-core backend (takes_split_activations).
TEST(CpuNorm, RefusesSplitOutput) {
  Buffer x(4, 3), y(4, 9);
  std::vector<float> weight(3, 1.0f);
  AddRmsNormParams np;
  np.x = x.cview();
  np.weight = weight.data();
  np.y = y.view().col_slice(0, 3);
  np.y_small = y.view().col_slice(3, 3);
  EXPECT_DEATH(cpu().add_rms_norm(np), "add_rms_norm: this backend does not take split activations");
}

// ---- selective_scan -------------------------------------------------------------------------

// The CPU backend with the scan forced to the baseline ISA (only selective_scan is used).
class BaselineScan final : public Backend {
 public:
  std::string name() const override { return "cpu-baseline"; }
  void selective_scan(const ScanParams& p) override { cpu::selective_scan(p, cpu::Simd::kBaseline); }
  void linear(const LinearParams&) override {}
  void conv1d_silu(const ConvParams&) override {}
  void add_rms_norm(const AddRmsNormParams&) override {}
  void embedding(const EmbeddingParams&) override {}
  void elementwise(const ElementwiseParams&) override {}
  void flip(const FlipParams&) override {}
};

// flags: 1 reverse, 2 gate, 4 bias, 8 skip, 16 h_in, 32 accumulate (onto a random y), 64 with
// gate and accumulate: z gates the sum (ScanParams::gate_sum). rank > 0:
// delta through the fused dt_proj of that rank (dt_in a column slice of xdbl = dt | B | C).
void check_scan(std::mt19937& rng, int64_t seqs, int64_t len, int64_t dim, int64_t nstate, int flags,
                float delta_mean = 0.0f, int64_t rank = 0) {
  const bool reverse = flags & 1, gate = flags & 2, bias = flags & 4, skip = flags & 8, state = flags & 16,
             accumulate = flags & 32, fused = rank > 0;
  const bool gate_sum = (flags & 64) && gate && accumulate;
  SCOPED_TRACE(testing::Message() << "S " << seqs << " L " << len << " D " << dim << " N " << nstate << " R " << rank
                                  << " reverse " << reverse << " gate " << gate << " bias " << bias << " skip " << skip
                                  << " state " << state << " accumulate " << accumulate << " gate_sum " << gate_sum);
  const ScanData data(rng, seqs, len, dim, nstate, delta_mean, rank);
  Buffer y0(seqs * len, dim, dim + 1);
  if (accumulate) fill_normal(rng, y0);
  auto run = [&](Backend& backend, int threads, std::vector<float>& h_out, bool add) {
    Buffer y = y0;
    ScanParams p = data.params(y.view(), reverse, gate, bias, skip, fused);
    p.accumulate = add;
    p.gate_sum = add && gate_sum;
    h_out.assign(data.h_in.size(), -1.0f);
    p.h_in = state ? data.h_in.data() : nullptr;
    p.h_out = h_out.data();
    in_arena(threads, [&] { backend.selective_scan(p); });
    EXPECT_TRUE(y.padding_intact());
    return y;
  };
  std::vector<float> h_ref, h_one, h_many, h_base;
  const Buffer ref = run(reference(), 1, h_ref, accumulate), one = run(cpu(), 1, h_one, accumulate),
               many = run(cpu(), 4, h_many, accumulate);
  const Difference dy = compare(one, ref), dh = compare(h_one, h_ref);
  EXPECT_LE(dy.relative, kTolerance) << "y: " << describe(dy);
  EXPECT_LE(dh.relative, kStateTolerance) << "h_out: " << describe(dh);
  // The portable kernel too, whatever this CPU would pick.
  BaselineScan baseline;
  const Buffer base = run(baseline, 1, h_base, accumulate);
  const Difference db = compare(base, ref);
  EXPECT_LE(db.relative, kTolerance) << "baseline y: " << describe(db);
  EXPECT_LE(compare(h_base, h_ref).relative, kStateTolerance);
  EXPECT_TRUE(compare(many, one).bitwise);
  EXPECT_TRUE(compare(h_many, h_one).bitwise);
  if (accumulate && !gate_sum) {
    // y += v is y0 + (the scan into a fresh y), one add, bitwise, in both kernels.
    for (Backend* backend : {static_cast<Backend*>(&cpu()), static_cast<Backend*>(&baseline)}) {
      std::vector<float> unused;
      const Buffer plain = run(*backend, 1, unused, false);
      Buffer sum = y0;
      for (int64_t i = 0; i < sum.rows; ++i) {
        for (int64_t c = 0; c < dim; ++c) sum.at(i, c) += plain.at(i, c);
      }
      EXPECT_TRUE(compare(backend == &baseline ? base : one, sum).bitwise) << backend->name() << ": y += v";
    }
  }
  // State only (y empty, as the forward pass's checkpoint sweep asks): the same h_out, bitwise.
  const auto state_only = [&](Backend& backend) {
    Buffer unused(seqs * len, dim);
    ScanParams p = data.params(unused.view(), reverse, gate, bias, skip, fused);
    p.y = MatF();
    std::vector<float> h(data.h_in.size(), -1.0f);
    p.h_in = state ? data.h_in.data() : nullptr;
    p.h_out = h.data();
    backend.selective_scan(p);
    return h;
  };
  EXPECT_EQ(state_only(cpu()), h_one);
  EXPECT_EQ(state_only(baseline), h_base);
  EXPECT_EQ(state_only(reference()), h_ref);
}

TEST(CpuScan, MatchesReference) {
  std::mt19937 rng(30);
  int flags = 0;
  for (int64_t len : kLengths) {
    for (int64_t dim : {1, 33, 70}) {
      for (int64_t nstate : {16, 7, 1}) {
        check_scan(rng, 1 + flags % 2, len, dim, nstate, flags % 64);
        ++flags;
      }
    }
  }
  for (int f = 0; f < 128; ++f) check_scan(rng, 2, 129, 37, 16, f);  // every option combination
  check_scan(rng, 1, 300, 20, 16, 0b11111, 21.0f);                   // dt above the softplus threshold
  check_scan(rng, 1, 100000, 5, 16, 0b01110);
  check_scan(rng, 1, 100000, 5, 16, 0b11111);
}

// delta through the fused dt_proj (ranks 1, 16 = Caduceus' d_model 256 / 16, and 33: more than
// one vector of r), against the reference's double-accumulated dot product.
TEST(CpuScan, FusedDtProjMatchesReference) {
  std::mt19937 rng(32);
  int flags = 0;
  for (int64_t rank : {1, 16, 33}) {
    for (int64_t len : {1, 7, 128, 4097}) {
      for (int64_t dim : {1, 33, 70}) {
        check_scan(rng, 1 + flags % 3, len, dim, flags % 2 ? 16 : 7, flags % 64, 0.0f, rank);
        flags += 5;
      }
    }
  }
  for (int f = 0; f < 64; ++f) check_scan(rng, 3, 65, 37, 16, f, 0.0f, 16);  // every option combination
  check_scan(rng, 1, 300, 20, 16, 0b111111, 21.0f, 16);                      // dt around the threshold
  check_scan(rng, 1, 100000, 5, 16, 0b101110, 0.0f, 16);
}

// Tiles with the state carried equal one pass, bitwise: the explicit delta, and the fused
// dt_proj accumulating onto y (the reverse direction's mixer output).
TEST(CpuScan, TilesCarryStateExactly) {
  std::mt19937 rng(31);
  const int64_t len = 1000, dim = 45, nstate = 16;
  const ScanData data(rng, 1, len, dim, nstate, 0.0f, 16);
  Buffer y0(len, dim);
  fill_normal(rng, y0);
  for (bool fused : {false, true}) {
    for (bool reverse : {false, true}) {
      for (int64_t tile : {1, 128, 333, 999}) {
        Buffer whole = y0, tiled = y0;
        std::vector<float> h_whole(dim * nstate), h(data.h_in);
        ScanParams p = data.params(whole.view(), reverse, true, true, true, fused);
        p.accumulate = fused;
        p.h_in = data.h_in.data();
        p.h_out = h_whole.data();
        cpu().selective_scan(p);
        std::vector<std::pair<int64_t, int64_t>> tiles = {{0, tile}, {tile, len - tile}};
        if (reverse) std::swap(tiles[0], tiles[1]);
        for (auto [r0, rows] : tiles) {
          ScanParams t = data.params(tiled.view(), reverse, true, true, true, fused);
          for (ConstMatF* m : {&t.u, &t.delta, &t.dt_in, &t.B, &t.C, &t.z}) {
            if (!m->empty()) *m = m->row_slice(r0, rows);
          }
          t.y = t.y.row_slice(r0, rows);
          t.accumulate = fused;
          t.seq_len = rows;
          t.h_in = t.h_out = h.data();
          cpu().selective_scan(t);
        }
        const std::string where =
            "tile " + std::to_string(tile) + " reverse " + std::to_string(reverse) + " fused " + std::to_string(fused);
        EXPECT_TRUE(compare(tiled, whole).bitwise) << where;
        EXPECT_TRUE(compare(h, h_whole).bitwise) << where;
      }
    }
  }
}

// One position at a time (the decoding step's own path: seq_len 1, state read and written in
// place), several sequences side by side, equals one pass over each whole sequence, bit for
// bit, y and h: every option, every step kernel (AVX-512, AVX2, portable) against the whole
// pass (AVX2 for the first two, portable for the last), N and R that are and are not
// multiples of the vector width, a first step from zero state (h_in null), from a given state
// into another buffer (h_in != h_out), or in place.
void check_scan_steps(std::mt19937& rng, int64_t seqs, int64_t dim, int64_t nstate, int64_t rank, int flags,
                      cpu::Simd simd) {
  const bool reverse = flags & 1, gate = flags & 2, bias = flags & 4, skip = flags & 8, accumulate = flags & 16;
  const int start = (flags >> 5) % 3;  // 0: zero state, 1: h_in given (out of place), 2: in place
  const bool fused = rank > 0;
  SCOPED_TRACE(testing::Message() << "S " << seqs << " D " << dim << " N " << nstate << " R " << rank << " flags "
                                  << flags << " simd " << int(simd));
  const int64_t len = 6;
  const ScanData data(rng, seqs, len, dim, nstate, 0.0f, rank);
  Buffer y0(seqs * len, dim, dim + 2);
  fill_normal(rng, y0);
  Buffer whole = y0, stepped = y0;
  std::vector<float> h_whole(data.h_in.size()), h(data.h_in.size()), h_other(data.h_in.size());
  ScanParams p = data.params(whole.view(), reverse, gate, bias, skip, fused);
  p.accumulate = accumulate;
  p.h_in = start == 0 ? nullptr : data.h_in.data();
  p.h_out = h_whole.data();
  cpu::selective_scan(p, simd);
  if (start == 2) h = data.h_in;
  for (int64_t q = 0; q < len; ++q) {
    const int64_t t = reverse ? len - 1 - q : q;
    ScanParams step = data.params(stepped.view(), reverse, gate, bias, skip, fused);
    // Row t of every sequence: views with the rows len apart.
    for (ConstMatF* m : {&step.u, &step.delta, &step.dt_in, &step.B, &step.C, &step.z}) {
      if (!m->empty()) *m = ConstMatF(m->row(t), seqs, m->cols, m->ld * len);
    }
    step.y = MatF(step.y.row(t), seqs, dim, step.y.ld * len);
    step.seq_len = 1;
    step.accumulate = accumulate;
    step.h_in = q > 0 ? h.data() : start == 0 ? nullptr : start == 1 ? data.h_in.data() : h.data();
    step.h_out = h.data();
    if (q == 0 && start == 1) step.h_out = h_other.data();  // then carried on from there
    if (q == 1 && start == 1) step.h_in = h_other.data();
    in_arena(q % 2 ? 4 : 1, [&] { cpu::selective_scan(step, simd); });
  }
  EXPECT_TRUE(compare(stepped, whole).bitwise);
  EXPECT_TRUE(compare(h, h_whole).bitwise);
  EXPECT_TRUE(stepped.padding_intact());
}

TEST(CpuScan, OnePositionStepsEqualOnePass) {
  std::mt19937 rng(32);
  for (cpu::Simd simd : {cpu::Simd::kAuto, cpu::Simd::kAvx2, cpu::Simd::kBaseline}) {
    for (int64_t rank : {0, 16}) {
      for (int flags = 0; flags < 96; ++flags) check_scan_steps(rng, 1 + flags % 3, 45, 16, rank, flags, simd);
    }
    for (int flags : {0b11110, 0b111111, 0b1011110}) {
      check_scan_steps(rng, 1, 512, 16, 16, flags, simd);  // the decoding shape
      check_scan_steps(rng, 2, 37, 7, 5, flags, simd);     // N, R not multiples of 8
      check_scan_steps(rng, 2, 300, 24, 48, flags, simd);  // more than one task of channels
      check_scan_steps(rng, 1, 20, 16, 0, flags, simd);
    }
  }
}

// ---- add_rms_norm ---------------------------------------------------------------------------

void check_norm(std::mt19937& rng, int64_t rows, int64_t width, int variant) {
  const bool has_x = variant % 3 != 1, has_res = variant % 3 != 0, res_out = variant % 2, in_place = variant % 4 == 3;
  SCOPED_TRACE(testing::Message() << "R " << rows << " W " << width << " x " << has_x << " residual_in " << has_res
                                  << " residual_out " << res_out << " in place " << in_place);
  // x and residual are column slices (one channel half of a PS model's stream).
  Buffer x0(rows, 2 * width + 1), res0(rows, 2 * width + 1);
  fill_normal(rng, x0);
  fill_normal(rng, res0, 0.0f, 3.0f);
  const std::vector<float> weight = normal_vector(rng, width, 1.0f, 0.2f);
  auto run = [&](Backend& backend, int threads, Buffer& r_out) {
    Buffer x = x0, y(rows, width, width + 1);
    r_out = res0;
    const ConstMatF xs = x.cview().col_slice(width, width);
    const MatF rs = r_out.view().col_slice(1, width);
    AddRmsNormParams p{has_x ? xs : ConstMatF(),
                       has_res ? ConstMatF(rs) : ConstMatF(),
                       weight.data(),
                       1e-5f,
                       res_out ? rs : MatF(),
                       y.view()};
    if (in_place && has_x) p.y = x.view().col_slice(width, width);
    in_arena(threads, [&] { backend.add_rms_norm(p); });
    return in_place && has_x ? x : y;
  };
  Buffer r_ref, r_one, r_many;
  const Buffer ref = run(reference(), 1, r_ref), one = run(cpu(), 1, r_one), many = run(cpu(), 4, r_many);
  const Difference d = compare(one, ref);
  EXPECT_LE(d.relative, kTolerance) << describe(d);
  EXPECT_TRUE(compare(r_one, r_ref).bitwise);
  EXPECT_TRUE(compare(many, one).bitwise);
}

TEST(CpuNorm, MatchesReference) {
  std::mt19937 rng(40);
  int variant = 0;
  for (int64_t rows : kLengths) {
    for (int64_t width : {1, 7, 37, 256, 513}) check_norm(rng, rows, width, variant++);
  }
  for (int v = 0; v < 12; ++v) check_norm(rng, 130, 200, v);
}

// ---- embedding, elementwise, flip -----------------------------------------------------------

TEST(CpuRowOps, MatchReferenceBitwise) {
  std::mt19937 rng(50);
  for (int64_t rows : {1, 129, 4097}) {
    for (int64_t width : {1, 37, 256}) {
      SCOPED_TRACE(testing::Message() << "R " << rows << " W " << width);
      Buffer table(16, width, width + 2), a(rows, width, width + 1), b(rows, width);
      fill_normal(rng, table);
      fill_normal(rng, a);
      fill_normal(rng, b);
      std::vector<int32_t> ids(rows);
      for (int32_t& id : ids) id = int32_t(rng() % 16);
      auto both = [&](const auto& op) {
        Buffer y_ref(rows, width, width + 3), y_cpu(rows, width, width + 3);
        op(reference(), y_ref.view());
        in_arena(4, [&] { op(cpu(), y_cpu.view()); });
        EXPECT_TRUE(compare(y_cpu, y_ref).bitwise);
        EXPECT_TRUE(y_cpu.padding_intact());
      };
      both([&](Backend& be, MatF y) { be.embedding({ids.data(), table.cview(), y}); });
      for (auto op : {ElementwiseOp::kAdd, ElementwiseOp::kMul, ElementwiseOp::kAverage}) {
        both([&](Backend& be, MatF y) { be.elementwise({op, a.cview(), b.cview(), y}); });
      }
      for (int f = 0; f < 4; ++f) {
        both([&](Backend& be, MatF y) { be.flip({a.cview(), y, bool(f & 1), bool(f & 2)}); });
      }
    }
  }
}

}  // namespace
}  // namespace strand::kernels

// ---- throughput (not a test: run with --gtest_also_run_disabled_tests) ------------------------

namespace strand::kernels {
namespace {

template <typename F>
double best_seconds(int reps, const F& f) {
  double best = 1e30;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

TEST(CpuThroughput, DISABLED_GemmAndScan) {
  std::mt19937 rng(60);
  for (int threads : {1, 0}) {
    const int arena_threads = threads ? threads : tbb::this_task_arena::max_concurrency();
    for (auto [m, k, n] : {std::array<int64_t, 3>{8192, 256, 1024}, {8192, 512, 256}, {8192, 512, 48}}) {
      Buffer x(m, k), w(n, k), y(m, n);
      fill_normal(rng, x);
      fill_normal(rng, w);
      const double s = best_seconds(5, [&] {
        in_arena(arena_threads, [&] { cpu().linear({x.cview(), w.cview(), nullptr, y.view()}); });
      });
      std::printf("linear    threads %d  M %ld K %ld N %ld: %.1f GFLOP/s\n", arena_threads, long(m), long(k), long(n),
                  2.0 * m * k * n / s * 1e-9);
    }
    const int64_t len = 8192, dim = 512, nstate = 16;
    const ScanData data(rng, 1, len, dim, nstate, 0.0f, 16);
    Buffer y(len, dim);
    for (bool fused : {false, true}) {
      const double s = best_seconds(3, [&] {
        in_arena(arena_threads, [&] { cpu().selective_scan(data.params(y.view(), false, true, true, true, fused)); });
      });
      std::printf("scan      threads %d  L %ld D %ld N %ld%s: %.3g (D*N elements)/s, %.1f us per position\n",
                  arena_threads, long(len), long(dim), long(nstate), fused ? " R 16 fused" : "",
                  double(len) * dim * nstate / s, s / len * 1e6);
    }
    Buffer cx(len, 2 * dim), cy(len, 2 * dim);
    fill_normal(rng, cx);
    const std::vector<float> w = normal_vector(rng, 2 * dim * 4), b = normal_vector(rng, 2 * dim);
    const double sc = best_seconds(3, [&] {
      in_arena(arena_threads, [&] {
        cpu().conv1d_silu({cx.cview(), w.data(), b.data(), cy.view(), len, 4, false, nullptr, nullptr});
      });
    });
    std::printf("conv      threads %d  L %ld C %ld K 4: %.3g elements/s\n", arena_threads, long(len), long(2 * dim),
                double(len) * 2 * dim / sc);
  }
}

}  // namespace
}  // namespace strand::kernels

namespace strand::kernels {
namespace {

// Batch/tile invariance: any run of rows computed on its own equals the same rows computed
// inside one large call, bit for bit (what lets `score` promise identical output whatever
// --batch, and the forward pass whatever its tile size).
TEST(CpuLinear, RowsAreBitwiseIndependentOfTheirBatch) {
  auto cpu = make_cpu_backend();
  std::mt19937 rng(2024);
  std::normal_distribution<float> dist;
  for (const auto& [k, n] : {std::pair<int64_t, int64_t>{16, 17}, {256, 1024}, {512, 48}, {7, 3}}) {
    const int64_t m = 700;
    std::vector<float> x(static_cast<size_t>(m * k)), w(static_cast<size_t>(n * k)), bias(static_cast<size_t>(n));
    for (float& v : x) v = dist(rng);
    for (float& v : w) v = dist(rng);
    for (float& v : bias) v = dist(rng);
    for (const bool accumulate : {false, true}) {
      std::vector<float> init(static_cast<size_t>(m * n));
      for (float& v : init) v = dist(rng);
      std::vector<float> all = init;
      cpu->linear({ConstMatF(x.data(), m, k), ConstMatF(w.data(), n, k), bias.data(), MatF(all.data(), m, n), accumulate});
      for (const auto& [r0, rows] : {std::pair<int64_t, int64_t>{0, 1}, {3, 1}, {5, 7}, {100, 13}, {256, 300}, {699, 1}}) {
        std::vector<float> part(init.begin() + r0 * n, init.begin() + (r0 + rows) * n);
        cpu->linear({ConstMatF(x.data() + r0 * k, rows, k), ConstMatF(w.data(), n, k), bias.data(),
                     MatF(part.data(), rows, n), accumulate});
        EXPECT_TRUE(std::equal(part.begin(), part.end(), all.begin() + r0 * n))
            << "K " << k << " N " << n << " rows [" << r0 << ", " << r0 + rows << ") accumulate " << accumulate;
      }
    }
  }
}

}  // namespace
}  // namespace strand::kernels
