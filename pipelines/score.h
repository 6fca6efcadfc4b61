// `strand score`: variant effect scores of a VCF/BCF, VCF in → VCF out, following DESIGN.md's
// "Variant scoring rules". A TBB pipeline over chunks of records:
//   read (serial, in order): records, their reference windows and the model inputs they need
//     (one masked window per position and strand, shared by every ALT there; REF/ALT windows),
//     identical windows of a chunk run once;
//   score (parallel): the chunk's windows through the model, same-length windows --batch at a
//     time, then the per-allele STRAND_LLR / STRAND_EDIST;
//   write (serial, in order): every input record with its original fields plus the tags.
// Memory is bounded by the chunks in flight, whatever the VCF size. A window's result does not
// depend on the windows batched with it, so the output is the same for any --threads/--batch.
#pragma once

#include <array>
#include <cstdint>

#include "pipelines/score_options.h"
#include "pipelines/variant_windows.h"

namespace strand::pipelines {

// What a run did, for the end-of-run summary (and tests).
struct ScoreSummary {
  uint64_t records = 0;
  uint64_t alleles = 0;
  uint64_t llr_values = 0, edist_values = 0;   // alleles that got a value
  uint64_t windows = 0;                        // model inputs run
  uint64_t no_alt_records = 0;                 // ALT '.': passed through, nothing to score
  // Alleles per reason ([kNone]: scored); an allele with EDIST but no LLR counts its LLR reason.
  std::array<uint64_t, static_cast<size_t>(SkipReason::kCount)> skipped{};
};

ScoreSummary run_score(const ScoreOptions& options);

}  // namespace strand::pipelines
