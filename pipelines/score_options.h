// Options of `strand score`: variant effect scores of a VCF/BCF (see DESIGN.md, "Variant
// scoring rules"). run_score() is in score.h.
#pragma once

#include <algorithm>
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
// --batch when not given: 32 windows per forward pass on the CPU; on a GPU as many windows as
// fill kGpuScoreBatchRows rows (256 of 1,024 bases), at least one: fewer, shorter passes leave
// the GPU idle between launches and chunk the scan (measured on an H100, W = 1024: batch 256
// 6.5% faster than 64).
inline constexpr int kDefaultScoreBatch = 32;
inline constexpr int64_t kGpuScoreBatchRows = 262144;
inline constexpr int kMaxGpuScoreBatch = 256;

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
  int batch = 0;  // windows per forward pass; 0 = batch_for's default
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
    if (batch != 0) check_batch(batch);
    if (!llr && !edist) fail("--scores: name at least one of llr, edist");
    check_regions_need_index(regions, {input});
  }
  // Windows per forward pass for windows of `window_bp` bases.
  int batch_for(int64_t window_bp) const {
    if (batch > 0) return batch;
    if (compute.device.kind == kernels::DeviceSpec::Kind::kCpu) return kDefaultScoreBatch;
    return static_cast<int>(std::clamp<int64_t>(kGpuScoreBatchRows / std::max<int64_t>(window_bp, 1), 1, kMaxGpuScoreBatch));
  }
};

}  // namespace strand::pipelines
