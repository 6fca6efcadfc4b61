// Sampling the next base of a generated sequence: over A/C/G/T only, with top-k, top-p (in that
// order, on the model's probabilities) and temperature, from a random stream of its own per
// sequence, so that a sample depends on the seed and its (prompt, sample) index only, never on
// the batch it was decoded in.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "pipelines/generate_options.h"

namespace strand::pipelines {

// splitmix64-seeded xoshiro256** (public-domain algorithms, written here): fast, 2^256 period,
// and reproducible everywhere (std:: distributions are not).
class SampleRng {
 public:
  SampleRng(uint64_t seed, uint64_t stream);
  uint64_t next();
  double uniform();  // [0, 1), 53 bits

 private:
  std::array<uint64_t, 4> s_{};
};

// The index (0..3 = A, C, G, T) of the sampled base from the four nucleotide logits. top_k 1
// is greedy (the most likely base; ties go to the first) and draws nothing from rng.
int sample_base(std::span<const float, 4> logits, const SamplingOptions& options, SampleRng& rng);

}  // namespace strand::pipelines
