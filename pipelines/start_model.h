// A genome's own start-site statistics, learned from its gene calls the way Prodigal learns
// them from the genome it annotates: how much more often the chosen starts of confident genes
// than start codons in general
//   - are ATG, GTG, TTG or another start codon of the table,
//   - sit behind a Shine-Dalgarno-like motif (a piece of AGGAGG, the 3' end of the 16S rRNA's
//     complement) at a given distance upstream,
//   - have a given base just upstream (positions -3 to -1) and as the second codon's first base.
// Each is a log-likelihood ratio (natural log) against every candidate start codon of every
// ORF of the genome; a candidate's start term is their sum. No annotation is read: the
// "confident genes" are an earlier gene-calling pass's complete genes.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "genomics/orf_finder.h"
#include "pipelines/gene_caller.h"

namespace strand::pipelines {

// Motif lengths 3-6 (pieces of AGGAGG) by spacer class, plus "no motif".
inline constexpr int kRbsMotifClasses = 4;   // 3, 4, 5, 6 bases
inline constexpr int kRbsSpacerClasses = 4;  // 3-4, 5-7, 8-10, 11-15 bases between motif and start codon
inline constexpr int kRbsBins = kRbsMotifClasses * kRbsSpacerClasses + 1;
// Positions scored for their base: -3, -2, -1 before the start codon, +3 (the second codon's
// first base).
inline constexpr int kStartContextPositions = 4;

struct StartModel {
  std::array<float, 4> type_llr{};  // by StartCodonKind kAtg, kGtg, kTtg, kOther
  std::array<float, kRbsBins> rbs_llr{};
  std::array<std::array<float, 4>, kStartContextPositions> context_llr{};  // [position][base T C A G]
  int64_t training_genes = 0;
  int64_t background_starts = 0;
};

// The RBS bin of a start codon whose first base (transcription order) is pos0 on `strand`:
// the longest AGGAGG piece ending 3-15 bases before it (ties: the spacer closest to 7), or
// kRbsBins - 1 for none. Exposed for tests.
int rbs_bin(std::string_view seq, genomics::Strand strand, int64_t pos0);

// Learned from contigs[i]'s ORFs (the background: every real start codon they list) and the
// complete calls of at least min_len_bp in calls[i] (the training starts). Pseudo-counts keep
// every ratio finite; the caller judges training_genes.
StartModel train_start_model(const std::vector<std::string_view>& contigs,
                             const std::vector<std::span<const genomics::Orf>>& orfs,
                             const std::vector<std::vector<GeneCall>>& calls, int64_t min_len_bp);

// The per-start term for the gene caller (CodingLogOdds::start): out[s][i] = weight x the start
// LLR of a start codon whose first base in transcription order is base i on strand s, for
// every start listed by `orfs` (0 elsewhere).
std::array<std::vector<float>, 2> start_scores(std::string_view seq, std::span<const genomics::Orf> orfs,
                                               const StartModel& model, double weight);

}  // namespace strand::pipelines
