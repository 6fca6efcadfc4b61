// The base sampler of `strand generate` (pipelines/sampler.h): the per-sequence random stream
// (reproducible for a (seed, stream) pair, independent across streams, uniform in [0, 1)) and
// sample_base's filters — greedy top-k 1 with ties to the first base, nucleus top-p, top-k,
// temperature — checked against softmax(logits) on empirical frequencies.
#include "pipelines/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <set>
#include <vector>

#include "pipelines/generate_options.h"

namespace strand::pipelines {
namespace {

using Logits = std::array<float, 4>;

SamplingOptions sampling(double temperature = 1.0, int top_k = 0, double top_p = 1.0) {
  SamplingOptions o;
  o.temperature = temperature;
  o.top_k = top_k;
  o.top_p = top_p;
  return o;
}

int sample(const Logits& logits, const SamplingOptions& o, SampleRng& rng) {
  return sample_base(std::span<const float, 4>(logits), o, rng);
}

// Frequencies of A, C, G, T over `draws` samples.
std::array<double, 4> frequencies(const Logits& logits, const SamplingOptions& o, int draws, uint64_t seed = 42) {
  SampleRng rng(seed, 0);
  std::array<double, 4> f{};
  for (int i = 0; i < draws; ++i) f[static_cast<size_t>(sample(logits, o, rng))] += 1.0;
  for (double& v : f) v /= draws;
  return f;
}

// softmax(logits / T) over the bases `keep` marks (the others 0).
std::array<double, 4> softmax(const Logits& logits, double temperature = 1.0, std::array<bool, 4> keep = {true, true, true, true}) {
  std::array<double, 4> p{};
  double sum = 0;
  for (size_t i = 0; i < 4; ++i)
    if (keep[i]) sum += p[i] = std::exp(static_cast<double>(logits[i]) / temperature);
  for (double& v : p) v /= sum;
  return p;
}

std::vector<uint64_t> draws(SampleRng rng, int n) {
  std::vector<uint64_t> v;
  for (int i = 0; i < n; ++i) v.push_back(rng.next());
  return v;
}

// Probabilities of about 0.52, 0.29, 0.13, 0.06 (A, C, G, T), all distinct.
const Logits kLogits = {1.5f, 0.9f, 0.1f, -0.7f};

TEST(SampleRng, SameSeedAndStreamGiveTheSameNumbers) {
  EXPECT_EQ(draws(SampleRng(1, 0), 1000), draws(SampleRng(1, 0), 1000));
  EXPECT_EQ(draws(SampleRng(0xDEADBEEFull, 123456), 1000), draws(SampleRng(0xDEADBEEFull, 123456), 1000));
  SampleRng a(7, 3), b(7, 3);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(a.uniform(), b.uniform()) << i;
}

TEST(SampleRng, DifferentStreamsAndSeedsDiffer) {
  // The streams generate uses: (prompt << 32) | sample.
  const std::vector<uint64_t> streams = {0, 1, 2, 3, uint64_t{1} << 32, (uint64_t{1} << 32) | 1, ~uint64_t{0}};
  std::set<std::vector<uint64_t>> seen;
  for (const uint64_t seed : {uint64_t{0}, uint64_t{1}, uint64_t{2}})
    for (const uint64_t stream : streams) {
      const std::vector<uint64_t> v = draws(SampleRng(seed, stream), 16);
      EXPECT_TRUE(seen.insert(v).second) << "seed " << seed << " stream " << stream << " repeats another sequence";
      // Not merely shifted copies of each other: the first numbers are all distinct.
      EXPECT_EQ(std::set<uint64_t>(v.begin(), v.end()).size(), v.size());
    }
  // Neighbouring streams are unrelated: the first draws agree in about half their bits.
  int differing_bits = 0;
  for (uint64_t s = 0; s < 64; ++s)
    differing_bits += std::popcount(SampleRng(5, s).next() ^ SampleRng(5, s + 1).next());
  EXPECT_NEAR(differing_bits / 64.0, 32.0, 4.0);
}

TEST(SampleRng, UniformIsInTheUnitIntervalWithASaneMeanAndVariance) {
  SampleRng rng(2024, 9);
  constexpr int kN = 100000;
  double sum = 0, sum2 = 0, lo = 1, hi = 0;
  std::array<int, 10> deciles{};
  for (int i = 0; i < kN; ++i) {
    const double u = rng.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    sum2 += u * u;
    lo = std::min(lo, u);
    hi = std::max(hi, u);
    ++deciles[static_cast<size_t>(u * 10)];
  }
  const double mean = sum / kN, var = sum2 / kN - mean * mean;
  EXPECT_NEAR(mean, 0.5, 0.005);  // sd of the mean: 0.0009
  EXPECT_NEAR(var, 1.0 / 12, 0.002);
  EXPECT_LT(lo, 1e-3);
  EXPECT_GT(hi, 1 - 1e-3);
  for (const int d : deciles) EXPECT_NEAR(d, kN / 10, 600);  // sd ~95
}

TEST(SampleBase, TopK1IsTheArgmaxAndDrawsNothing) {
  for (size_t best = 0; best < 4; ++best) {
    Logits l = {0.1f, -2.0f, 0.3f, -0.5f};
    l[best] = 5.0f;
    SampleRng rng(1, 0), untouched(1, 0);
    for (const double t : {0.1, 1.0, 10.0}) EXPECT_EQ(sample(l, sampling(t, 1), rng), static_cast<int>(best));
    EXPECT_EQ(rng.next(), untouched.next()) << "top_k 1 must not draw from the random stream";
  }
}

TEST(SampleBase, TopK1TiesGoToTheFirstBaseInACGTOrder) {
  SampleRng rng(1, 0);
  EXPECT_EQ(sample({1.0f, 1.0f, 1.0f, 1.0f}, sampling(1.0, 1), rng), 0);
  EXPECT_EQ(sample({0.0f, 2.0f, 2.0f, 2.0f}, sampling(1.0, 1), rng), 1);
  EXPECT_EQ(sample({0.0f, 1.0f, 2.0f, 2.0f}, sampling(1.0, 1), rng), 2);
  EXPECT_EQ(sample({-1.0f, -1.0f, -3.0f, -1.0f}, sampling(1.0, 1), rng), 0);
  EXPECT_EQ(sample({-3.0f, -1.0f, -3.0f, -1.0f}, sampling(1.0, 1), rng), 1);
}

TEST(SampleBase, SmallTopPKeepsOnlyTheMostLikelyBase) {
  for (const double p : {1e-6, 0.01, 0.3, 0.5}) {  // the top base alone holds ~0.52
    const std::array<double, 4> f = frequencies(kLogits, sampling(1.0, 0, p), 20000);
    EXPECT_EQ(f[0], 1.0) << "top_p " << p;
  }
  // Argmax elsewhere than A.
  const std::array<double, 4> f = frequencies({0.0f, 0.0f, 0.0f, 3.0f}, sampling(1.0, 0, 0.05), 5000);
  EXPECT_EQ(f[3], 1.0);
}

TEST(SampleBase, TopPKeepsTheSmallestPrefixWithThatMass) {
  // p ≈ 0.52, 0.29, 0.13, 0.06: 0.7 needs A and C (0.81), 0.9 needs A, C, G (0.94).
  const std::array<double, 4> p = softmax(kLogits);
  const std::array<double, 4> two = frequencies(kLogits, sampling(1.0, 0, 0.7), 200000);
  const std::array<double, 4> want2 = softmax(kLogits, 1.0, {true, true, false, false});
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(two[i], want2[i], 0.005) << i;
  EXPECT_EQ(two[2] + two[3], 0.0);
  const std::array<double, 4> three = frequencies(kLogits, sampling(1.0, 0, 0.9), 200000);
  EXPECT_EQ(three[3], 0.0);
  EXPECT_GT(three[2], 0.1);
  EXPECT_NEAR(three[2], p[2] / (p[0] + p[1] + p[2]), 0.005);
}

TEST(SampleBase, TemperatureOneMatchesTheSoftmax) {
  for (const Logits& l : {kLogits, Logits{0.0f, 0.0f, 0.0f, 0.0f}, Logits{-3.0f, 2.0f, 2.5f, 0.0f}}) {
    const std::array<double, 4> f = frequencies(l, sampling(), 200000);
    const std::array<double, 4> p = softmax(l);
    for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(f[i], p[i], 0.005) << "base " << i << " logits " << l[0] << "," << l[1];
  }
}

TEST(SampleBase, DefaultsAreTheSameAsNoFilter) {
  // top_k 4 and top_p 1 keep everything: the same draws as no filter (same stream).
  SampleRng a(3, 1), b(3, 1), c(3, 1);
  for (int i = 0; i < 2000; ++i) {
    const int x = sample(kLogits, sampling(), a);
    EXPECT_EQ(sample(kLogits, sampling(1.0, 4), b), x);
    EXPECT_EQ(sample(kLogits, sampling(1.0, 0, 1.0), c), x);
  }
}

TEST(SampleBase, LowTemperatureConcentratesOnTheArgmax) {
  const Logits l = {0.2f, 1.0f, 0.5f, 0.0f};  // argmax C, next G 0.5 below: ratio e^-10 at T 0.05
  const std::array<double, 4> f = frequencies(l, sampling(0.05), 50000);
  EXPECT_GE(f[1], 0.999);
}

TEST(SampleBase, TopK2NeverReturnsTheThirdOrFourthBase) {
  const Logits l = {0.1f, 1.2f, -0.4f, 0.8f};  // order C, T, A, G
  const std::array<double, 4> f = frequencies(l, sampling(1.0, 2), 200000);
  EXPECT_EQ(f[0], 0.0);
  EXPECT_EQ(f[2], 0.0);
  const std::array<double, 4> want = softmax(l, 1.0, {false, true, false, true});
  EXPECT_NEAR(f[1], want[1], 0.005);
  EXPECT_NEAR(f[3], want[3], 0.005);
  // Even at a high temperature (which would otherwise flatten towards them).
  const std::array<double, 4> hot = frequencies(l, sampling(100.0, 2), 50000);
  EXPECT_EQ(hot[0] + hot[2], 0.0);
  // top_k 3 drops only the least likely (G).
  const std::array<double, 4> three = frequencies(l, sampling(1.0, 3), 50000);
  EXPECT_EQ(three[2], 0.0);
  EXPECT_GT(three[0], 0.1);
}

TEST(SampleBase, TopKThenTopPOnTheKeptMass) {
  // sampler.h: top-k first, then top-p on what top-k kept (renormalised): with top_k 2 the kept
  // mass is A + C ≈ 0.81, and top_p 0.6 of it (0.49) is reached by A alone.
  const std::array<double, 4> f = frequencies(kLogits, sampling(1.0, 2, 0.6), 20000);
  EXPECT_EQ(f[0], 1.0);
}

TEST(SampleBase, HighTemperatureFlattens) {
  const std::array<double, 4> t1 = frequencies(kLogits, sampling(1.0), 200000);
  const std::array<double, 4> t2 = frequencies(kLogits, sampling(2.0), 200000);
  EXPECT_GT(t2[3], t1[3] + 0.03);  // least likely: ~0.06 → ~0.13
  EXPECT_LT(t2[0], t1[0] - 0.05);  // most likely: ~0.52 → ~0.38
  const std::array<double, 4> p2 = softmax(kLogits, 2.0);
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(t2[i], p2[i], 0.005) << i;
}

TEST(SampleBase, ExtremeLogitsStayInRange) {
  SampleRng rng(11, 0);
  for (const Logits& l : {Logits{80.0f, -80.0f, -80.0f, -80.0f}, Logits{-1e30f, -1e30f, -1e30f, 0.0f},
                          Logits{1e4f, 1e4f, -1e4f, -1e4f}})
    for (const double t : {0.01, 1.0, 50.0})
      for (int i = 0; i < 1000; ++i) {
        const int b = sample(l, sampling(t), rng);
        ASSERT_GE(b, 0);
        ASSERT_LT(b, 4);
      }
}

}  // namespace
}  // namespace strand::pipelines
