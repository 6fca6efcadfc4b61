// Gene calling on one contig from its ORFs (genomics/orf_finder.h) and per-base coding
// log-odds (from a model's annotation head; this file knows nothing about models): per ORF
// the best start, then the highest-scoring set of genes with bounded overlaps.
//
// Scoring. A candidate gene on strand s from a start through its stop scores
//   max(head_weight x sum over its sense-codon bases i of lo[s][k(i)][i] + codon terms,
//       coding_floor x length term)   (the floor only where the length term is positive)
//   + length term (length_weight x (its sense codons - length_offset_codons) x -log(1 - p_stop))
//   + start prior,
// k(i) the codon position of base i counted from the gene's start in transcription order, and
// p_stop the chance of a stop codon in random sequence of the contig's base composition on that
// strand (the ORF-length term: how unlikely so long an open frame is by chance). The stop
// codon's bases are not scored: every start of an ORF shares the stop, and a coding model has
// no "coding" signal to give on a stop codon. The start prior is a small fixed log-prior by
// start codon (ATG > GTG > TTG > other start codons); the edge start of a 5'-open ORF gets
// kEdgeStartPrior (no codon to judge). Because every start of an ORF is in the same frame as
// its stop, k(i) does not depend on the start, so one prefix sum over the ORF scores all its
// starts in O(ORF length). Each ORF offers the selection every start that no shorter start
// outscores (ties keep the longer gene), so a gene whose best start would overlap a neighbour
// too much can still be called from a later start.
//
// Selection. Each candidate is worth its score minus min_score, plus a transition term that
// depends on the gene called just before it (operon_weight: close genes on one strand, as in
// operons, gain; a change of strand or a long gap costs), so a gene in a run of close genes on
// its strand can be called a little below min_score and an isolated one needs a little more.
// Candidates scoring above min_score - 2 x operon_weight (the gain from one close neighbour)
// whose gene is at least min_gene_len_bp long enter a dynamic programme over genes sorted by
// end: the best selection ending with gene j is j's worth plus the best of (nothing before it;
// the best selection among the genes compatible with j, less operon_weight; each compatible
// gene that ends close to j's start, with its own transition term), which picks, among the
// candidates, the set of maximum total worth in which no two genes overlap by more than
// max_overlap_bp, in O(n log n + n x distinct gene ends near a start: the candidates of one
// + ORF share their stop and count once). The candidate set is a
// heuristic cut with the operon term: a gene between two close neighbours can gain up to 5 x
// operon_weight, and a longer start that a shorter one outscores can gain up to 3 x more from
// its place; admitting those (min_score - 5 w, starts within 3 w) changed mean F1 on the tuning
// genomes from 0.9264 to 0.9259, with more candidates. Exactness needs min_gene_len_bp >
// max_overlap_bp (validated): sorted by end, gene i (e_i <= e_j) is compatible with j exactly
// when e_i <= b_j + max_overlap (a gene nested inside another would overlap it by its whole
// length, > max_overlap), so the genes compatible with j are a prefix of the order; and along a
// chain of pairwise-consecutive compatible genes a < b < c < ..., e_a <= b_b + M and
// b_b = e_b - len_b <= b_c + M - len_b < b_c give e_a < b_c + M, and so on down the chain, so
// every pair of the chain is compatible. A recursion over the gene before j is therefore exact.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "genomics/feature.h"
#include "genomics/genetic_code.h"
#include "genomics/orf_finder.h"

namespace strand::pipelines {

// Start-codon log-priors (natural log units, added to the summed log-odds).
inline constexpr double kAtgStartPrior = 0.0;
inline constexpr double kGtgStartPrior = -1.0;
inline constexpr double kTtgStartPrior = -2.0;
inline constexpr double kOtherStartPrior = -3.0;  // the table's other starts: CTG, ATT, ...
inline constexpr double kEdgeStartPrior = 0.0;    // 5'-open genes starting at a contig edge/gap
// Genes on one strand this close (stop codon to the next start codon) are operon-like
// neighbours (GeneCallerOptions::operon_weight); three times as far is a long gap.
inline constexpr int64_t kOperonDistBp = 60;

// Per-base coding log-odds of one contig. lo[s][k][i], s = 0 for the + strand and 1 for the
// − strand, k = 0, 1, 2 the codon position counted in transcription direction (on − from the
// right), i the forward 0-based base: log P(base i is coding on strand s at codon position k)
// − log P(base i is non-coding). Every array has `len` entries, len = the contig's length.
struct CodingLogOdds {
  int64_t len = 0;
  std::array<std::array<std::vector<float>, 3>, 2> lo;
  // Optional per-codon terms (empty = none): codon[s][i] is added once for a codon whose first
  // base in transcription order is base i on strand s (a genome's own codon statistics,
  // hexamer_model.h), on top of head_weight x the per-base log-odds.
  std::array<std::vector<float>, 2> codon;
  // Optional per-start terms (empty = none): start[s][i] is added to a candidate gene whose
  // start codon's first base in transcription order is base i on strand s (a genome's own
  // start-site statistics, start_model.h), on top of the fixed start prior.
  std::array<std::vector<float>, 2> start;

  // A zero-filled set for a contig of `len_bp` bases.
  static CodingLogOdds zeros(int64_t len_bp);
  // Throws strand::Error unless every array has `contig_len_bp` entries.
  void validate(int64_t contig_len_bp) const;
};

enum class StartCodonKind : int { kAtg = 0, kGtg = 1, kTtg = 2, kOther = 3, kEdge = 4 };
// "ATG", "GTG", "TTG", "other", "edge".
std::string_view start_codon_kind_name(StartCodonKind kind);
// The kind of the codon whose first base in transcription order is start_pos0 on `strand`
// (never kEdge: any codon other than ATG, GTG and TTG is kOther).
StartCodonKind start_codon_kind(std::string_view seq, genomics::Strand strand, int64_t start_pos0);

struct GeneCallerOptions {
  int64_t min_gene_len_bp = 90;  // start through stop inclusive
  int64_t max_overlap_bp = 60;   // largest overlap allowed between two called genes
  // A gene is worth its score minus this in the selection: called above it (or, by the
  // operon term, down to min_score - 2 x operon_weight next to close genes on its strand).
  double min_score = 0.0;
  // Score = head_weight x summed coding log-odds + length_weight x ORF-length log-odds + start
  // prior. The per-base log-odds are not independent (neighbouring bases share context), so
  // their sum overstates the evidence; the weight scales it. The ORF-length term is the log
  // likelihood ratio of meeting no stop codon over the gene's codons in coding sequence
  // (probability 1) against random sequence of the contig's base composition.
  double head_weight = 1.0;
  double length_weight = 0.0;
  // The length term counts the codons beyond this many (as Prodigal's length factor is taken
  // relative to 80 codons): an open frame shorter than that is no evidence for a gene but
  // against one, and the threshold for calling follows the contig's stop-codon frequency (a
  // long open frame means more in AT-rich sequence, where stops are common).
  double length_offset_codons = 0.0;
  // A candidate's coding score is raised to at least coding_floor x its ORF-length term (as
  // Prodigal does): a long open frame is evidence of a gene even where the coding statistics,
  // learned from the genome's typical genes, do not recognise it (atypical composition,
  // horizontally transferred genes). 0 = off; no effect where the length term is not positive.
  double coding_floor = 0.0;
  double atg_prior = kAtgStartPrior;
  double gtg_prior = kGtgStartPrior;
  double ttg_prior = kTtgStartPrior;
  double other_start_prior = kOtherStartPrior;
  double edge_start_prior = kEdgeStartPrior;
  // Weight of the transition term between consecutive genes of a selection (as Prodigal's
  // intergenic term): genes on one strand whose stop codon and next start codon (first bases,
  // transcription order) lie d bases apart gain (2 - |d| / kOperonDistBp) x operon_weight when
  // |d| <= kOperonDistBp and they do not overlap, or |d| < kOperonDistBp / 4 (the 1- and 4-base
  // overlaps of translationally coupled genes); genes on opposite strands, or farther apart
  // than 3 x kOperonDistBp, lose operon_weight; a pair on one strand whose stop or start is cut
  // by a contig edge or N run (partial) neither gains nor loses. 0 = every selection scored by
  // its genes alone.
  double operon_weight = 0.0;

  // Throws strand::Error naming the bad option (negative lengths or offsets, min_gene_len_bp
  // <= max_overlap_bp, non-finite numbers).
  void validate() const;
};

struct GeneCall {
  // The gene, 0-based half-open on the forward strand, start and stop codon included (a
  // 3'-partial gene ends at its last complete codon, a 5'-partial one begins at the edge codon).
  int64_t beg0 = 0;
  int64_t end0 = 0;
  genomics::Strand strand = genomics::Strand::kForward;
  bool partial5 = false;  // starts at the edge start of a 5'-open ORF (no start codon)
  bool partial3 = false;  // no stop codon: runs into a contig edge or a gap
  // The start as genomics::Orf::starts gives it: beg0 on +, end0 - 1 on −.
  int64_t start_pos0 = 0;
  double score = 0.0;         // coding_score + length_score + start_prior
  double coding_score = 0.0;  // head_weight x summed log-odds + codon terms over the sense codons (floored)
  double length_score = 0.0;  // the ORF-length term (after length_weight)
  double start_prior = 0.0;   // the start codon's fixed prior + its start term (CodingLogOdds::start)
  StartCodonKind start_codon_kind = StartCodonKind::kEdge;
  size_t orf_index = 0;  // index of its ORF in the input span

  int64_t len_bp() const { return end0 - beg0; }
};

// Genes of one contig: `seq` (any case), its ORFs as find_orfs returned them, and its coding
// log-odds. Sorted by (beg0, end0, strand with + first). Throws strand::Error for bad options
// or log-odds arrays of the wrong length.
std::vector<GeneCall> call_genes(std::string_view seq, std::span<const genomics::Orf> orfs,
                                 const CodingLogOdds& log_odds, const genomics::GeneticCode& code,
                                 const GeneCallerOptions& options);

// The gene's bases in transcription order (reverse-complemented on −), case as in `seq`.
std::string gene_sequence(std::string_view seq, const GeneCall& call);
// Its protein: translation with the first codon read as a start (M) unless the gene is
// 5'-partial; the final stop is dropped (as in a GenBank /translation), internal stops stay '*'.
std::string gene_protein(std::string_view seq, const GeneCall& call, const genomics::GeneticCode& code);

}  // namespace strand::pipelines
