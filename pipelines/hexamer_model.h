// A genome's own coding statistics, learned from its first-pass gene calls (the way Prodigal
// trains on the genome it annotates): the log-likelihood ratio of each codon pair (hexamer at a
// codon boundary, in transcription order) in the confident genes against all hexamers of the
// genome on both strands. `strand annotate` adds it to the model head's evidence in a second
// gene-calling pass, which helps most where the model is unsure (short, atypical genes).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "pipelines/gene_caller.h"

namespace strand::pipelines {

// Training genes: complete (not partial) calls at least this long.
inline constexpr int64_t kHexamerTrainingMinLenBp = 300;

struct HexamerModel {
  std::array<float, 4096> llr{};  // by hexamer index (GeneticCode::base_code per base, first base high)
  int64_t training_genes = 0;
  int64_t training_hexamers = 0;
};

// contigs[i] with calls[i] (the first pass). The caller judges training_genes: with none the
// table is all background (pseudo-counts only).
HexamerModel train_hexamer_model(const std::vector<std::string_view>& contigs,
                                 const std::vector<std::vector<GeneCall>>& calls);

// The per-codon term of `seq` for the gene caller: out[s][i] = weight x llr of the hexamer whose
// first base in transcription order is base i on strand s (0 = +, 1 = −); 0 where the hexamer
// runs off the contig or holds a base other than ACGT.
std::array<std::vector<float>, 2> hexamer_codon_scores(std::string_view seq, const HexamerModel& model, double weight);

}  // namespace strand::pipelines
