// Options of `strand generate`: sample DNA from a causal model, unconditionally or after a
// prompt, to FASTA (60 columns; headers carry prompt, sampling parameters, seed, mean log-p).
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>

#include "core/text.h"
#include "pipelines/default_models.h"
#include "pipelines/shared_options.h"

namespace strand::pipelines {

// The usual sampling filters, applied in the order top-k, top-p, then temperature.
struct SamplingOptions {
  double temperature = 1.0;  // > 0; 1 samples the model's distribution
  int top_k = 0;             // keep the k most likely tokens; 0 = no limit
  double top_p = 1.0;        // nucleus: smallest set with this much mass; 1 = no limit

  void validate() const {
    if (!(temperature > 0) || !std::isfinite(temperature))
      fail("invalid --temperature ", temperature, ": must be a finite number > 0");
    if (top_k < 0) fail("invalid --top-k ", top_k, ": must be >= 0 (0 = no limit)");
    if (!(top_p > 0 && top_p <= 1)) fail("invalid --top-p ", top_p, ": must be in (0, 1]");
  }
};

inline constexpr int64_t kDefaultGenerateLength = 1000;
inline constexpr int64_t kMaxGenerateLength = int64_t{1} << 32;
inline constexpr int kDefaultGenerateBatch = 16;

struct GenerateOptions {
  std::string model = std::string(kDefaultGenerateModel);
  std::string prompt;                       // --prompt: DNA (A,C,G,T,N, upper-cased); empty = none
  std::string prompt_fasta;                 // --prompt-fasta: each record is a prompt; empty = none
  int64_t num_samples = 1;                  // -n: sequences per prompt
  int64_t length = kDefaultGenerateLength;  // generated bases per sequence (prompt excluded)
  SamplingOptions sampling;
  std::optional<uint64_t> seed;       // --seed; none = drawn at random (and written in the headers)
  int batch = kDefaultGenerateBatch;  // sequences decoded together
  OutputOptions output;               // FASTA, -O v|z
  ComputeOptions compute;

  void validate() const {
    if (model.empty()) fail("invalid -m/--model: empty");
    if (!prompt.empty() && !prompt_fasta.empty()) fail("--prompt and --prompt-fasta cannot be used together");
    for (size_t i = 0; i < prompt.size(); ++i) {
      const char c = prompt[i];
      if (c != 'A' && c != 'C' && c != 'G' && c != 'T' && c != 'N')
        fail("invalid --prompt: character ", quote_for_message(std::string_view(&c, 1)), " at position ", i + 1,
             " (expected A, C, G, T or N)");
    }
    if (num_samples < 1) fail("invalid -n/--num-samples ", num_samples, ": must be >= 1");
    if (length < 1 || length > kMaxGenerateLength)
      fail("invalid --length ", length, ": must be between 1 and ", kMaxGenerateLength);
    sampling.validate();
    check_batch(batch);
    output.validate(OutputKind::kText);
    compute.validate();
  }
};

}  // namespace strand::pipelines
