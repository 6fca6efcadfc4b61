// Options of `strand score`: variant effect scores of a VCF/BCF (see DESIGN.md, "Variant
// scoring rules"). run_score() is in score.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "genomics/region.h"
#include "pipelines/default_models.h"
#include "pipelines/shared_options.h"

namespace strand::pipelines {

// --check-ref, as in bcftools: what to do when a record's REF differs from the reference.
// Every record is still written; mismatching ones get '.' scores and are counted.
enum class CheckRef {
  kError,    // e: stop with an error naming the record
  kWarn,     // w: warn for each mismatch (default)
  kExclude,  // x: no per-record warning, only the count in the summary
};

inline constexpr int64_t kDefaultScoreWindow = 1024;  // when the model does not set one
inline constexpr int kDefaultScoreBatch = 32;

struct ScoreOptions {
  std::string input = "-";  // VCF/VCF.gz/BCF, "-" = stdin
  std::string fasta_ref;    // -f: faidx-indexed reference (plain or bgzip)
  std::string model = std::string(kDefaultScoreModel);
  OutputOptions output;                   // VCF/BCF, -O v|z|b|u, -W
  std::vector<genomics::Region> regions;  // -r/-R; empty = every record
  ComputeOptions compute;
  int64_t window = 0;        // --window; 0 = the model's default, else kDefaultScoreWindow
  bool both_strands = true;  // false with --no-rc
  // --scores llr,edist: which tags to compute (STRAND_LLR, STRAND_EDIST); both by default.
  bool llr = true, edist = true;
  CheckRef check_ref = CheckRef::kWarn;
  int batch = kDefaultScoreBatch;  // windows per forward pass
  // ##strandVersion/##strandCommand provenance lines; false with --no-version.
  bool write_provenance = true;
  std::string command_line;  // the command as typed, for ##strandCommand

  void validate() const {
    if (input.empty()) fail("no input VCF/BCF given");
    if (fasta_ref.empty()) fail("-f/--fasta-ref is required: scoring reads the reference around each variant");
    if (fasta_ref == "-") fail("-f/--fasta-ref: the reference must be a faidx-indexed file, not standard input");
    if (model.empty()) fail("invalid -m/--model: empty");
    output.validate(OutputKind::kVcf);
    compute.validate();
    // Two bases is the least a causal window can score (its first base is never scored).
    if (window != 0 && window < 2) fail("invalid --window ", window, ": must be >= 2");
    check_batch(batch);
    if (!llr && !edist) fail("--scores: name at least one of llr, edist");
    check_regions_need_index(regions, {input});
  }
};

}  // namespace strand::pipelines
