// Options of `strand loglik`: per-sequence log-likelihoods under a causal model (TSV), and
// optionally the per-base log-probabilities as a track.
#pragma once

#include <string>
#include <vector>

#include "genomics/region.h"
#include "pipelines/default_models.h"
#include "pipelines/shared_options.h"

namespace strand::pipelines {


struct LoglikOptions {
  std::vector<std::string> inputs;  // FASTA/FASTQ/SAM/BAM/CRAM, "-" = stdin
  std::string fasta_ref;            // -f: reference for CRAM inputs
  std::string model = std::string(kDefaultLoglikModel);
  OutputOptions output;                             // TSV, -O v|z
  bool both_strands = false;                        // also score the reverse complement and report the mean
  std::string track;                                // --track: per-base log p; empty = none
  TrackFormat track_format = TrackFormat::kBigWig;  // from the --track name
  std::vector<genomics::Region> regions;
  ComputeOptions compute;

  void validate() const {
    if (inputs.empty()) fail("no input file given");
    if (model.empty()) fail("invalid -m/--model: empty");
    output.validate(OutputKind::kText);
    if (track == "-" && track_format == TrackFormat::kBigWig)
      fail("--track: bigWig cannot be written to standard output");
    check_distinct_outputs({{"-o/--output", output.path}, {"--track", track}});
    compute.validate();
    check_regions_need_index(regions, inputs);
  }
};

}  // namespace strand::pipelines
