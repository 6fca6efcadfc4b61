// Options of `strand embed`: hidden states of sequences, windows or reads, as safetensors
// (or one .npy matrix).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "genomics/region.h"
#include "pipelines/default_models.h"
#include "pipelines/shared_options.h"

namespace strand::pipelines {

enum class Pooling {
  kNone,  // one [L, d] tensor per record, named by the record
  kMean,  // one row per record (mean over positions); names in the metadata
};
enum class RcMode {
  kNone,     // the forward strand only: --pool none --rc none is the reference last_hidden_state
  kAverage,  // mean of the forward embedding and the (flipped) reverse-complement one
};
enum class EmbeddingFormat { kSafetensors, kNpy };

inline constexpr int kDefaultEmbedBatch = 8;

struct EmbedOptions {
  std::vector<std::string> inputs;  // FASTA/FASTQ/SAM/BAM/CRAM, "-" = stdin
  std::string fasta_ref;            // -f: reference for CRAM inputs
  std::string model = std::string(kDefaultEmbedModel);
  OutputOptions output;                                    // a file (binary)
  EmbeddingFormat format = EmbeddingFormat::kSafetensors;  // from the -o name
  std::vector<genomics::Region> regions;
  ComputeOptions compute;
  Pooling pool = Pooling::kMean;
  RcMode rc = RcMode::kNone;
  // --layer N, numbered as the reference's output_hidden_states: 0 = token embeddings, N = output
  // of block N (1-based), n_layer or none = the final normalized hidden state. Checked against
  // the model's depth when it is loaded.
  std::optional<int> layer;
  TilingOptions tiling;
  int batch = kDefaultEmbedBatch;

  void validate() const {
    if (inputs.empty()) fail("no input file given");
    if (model.empty()) fail("invalid -m/--model: empty");
    output.validate(OutputKind::kBinary);
    if (format == EmbeddingFormat::kNpy && pool != Pooling::kMean)
      fail("-o ", output.path, ": a .npy file holds one matrix, which needs --pool mean (use .safetensors)");
    if (layer && *layer < 0) fail("invalid --layer ", *layer, ": must be >= 0");
    tiling.validate();
    compute.validate();
    check_batch(batch);
    check_regions_need_index(regions, inputs);
  }
};

}  // namespace strand::pipelines
