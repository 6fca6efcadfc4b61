#include "pipelines/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace strand::pipelines {
namespace {

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

SampleRng::SampleRng(uint64_t seed, uint64_t stream) {
  // Mix the stream index in through a second splitmix so that nearby (seed, stream) pairs give
  // unrelated states.
  uint64_t x = seed;
  uint64_t y = splitmix64(x) ^ (stream * 0xD1B54A32D192ED03ull);
  for (uint64_t& v : s_) v = splitmix64(y);
}

uint64_t SampleRng::next() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double SampleRng::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

int sample_base(std::span<const float, 4> logits, const SamplingOptions& o, SampleRng& rng) {
  // Bases by decreasing logit (stable: ties keep A, C, G, T order).
  std::array<int, 4> order{0, 1, 2, 3};
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return logits[static_cast<size_t>(a)] > logits[static_cast<size_t>(b)]; });
  if (o.top_k == 1) return order[0];
  const double top = logits[static_cast<size_t>(order[0])];
  std::array<double, 4> p{};
  for (size_t i = 0; i < 4; ++i) p[i] = std::exp(static_cast<double>(logits[static_cast<size_t>(order[i])]) - top);
  size_t keep = o.top_k > 0 ? std::min<size_t>(4, static_cast<size_t>(o.top_k)) : 4;
  if (o.top_p < 1.0) {
    // The smallest prefix (of the top-k) holding top_p of its mass.
    const double kept_mass = std::accumulate(p.begin(), p.begin() + static_cast<ptrdiff_t>(keep), 0.0);
    double mass = 0;
    for (size_t i = 0; i < keep; ++i) {
      mass += p[i];
      if (mass >= o.top_p * kept_mass) {
        keep = i + 1;
        break;
      }
    }
  }
  // Temperature on what is kept: p^(1/T), renormalised.
  std::array<double, 4> w{};
  double sum = 0;
  for (size_t i = 0; i < keep; ++i) sum += w[i] = std::pow(p[i], 1.0 / o.temperature);
  double u = rng.uniform() * sum;
  for (size_t i = 0; i < keep; ++i) {
    if (u < w[i]) return order[i];
    u -= w[i];
  }
  return order[keep - 1];  // rounding at the top end
}

}  // namespace strand::pipelines
