// `strand generate`: DNA sampled from a left-to-right (causal) model, after a prompt or from
// nothing, as FASTA. The prompt is prefilled through the parallel scan (in pieces), then every
// base comes from the recurrent step (Backbone::Stream, one token per sequence per step: O(1)
// memory per sequence), --batch sequences at a time, one GPU per batch in flight. Each sample
// draws from its own random stream (sampler.h), so the output depends on --seed only.
#pragma once

#include <cstdint>

#include "pipelines/generate_options.h"

namespace strand::pipelines {

struct GenerateSummary {
  uint64_t sequences = 0;
  uint64_t bases = 0;  // generated (prompts excluded)
  uint64_t seed = 0;   // the one used (drawn at random when --seed was not given)
};

GenerateSummary run_generate(const GenerateOptions& options);

}  // namespace strand::pipelines
