// Open reading frame enumeration on one contig, both strands: every maximal stretch between
// in-frame stop codons that holds a gene candidate, with the candidate start codons of it.
// The first step of `strand annotate`'s gene calling (pipelines/gene_caller.h picks starts
// and the final gene set).
//
// Definitions (per strand, in transcription order):
// - An ORF ends with an in-frame stop codon (included in [beg0, end0)) and begins at the
//   outermost start codon after the previous in-frame stop.
// - Gaps: runs of >= min_gap_run bases other than ACGTU act like contig edges (nothing is
//   read across them). A shorter run (a single N, an IUPAC code) is read through: a codon
//   holding it is neither a start nor a stop.
// - 5'-open ORFs: a stretch with no in-frame stop between the 5' edge (the contig's left end
//   for +, right end for −, or a gap) and its stop may have begun beyond the edge. With
//   allow_partial, such an ORF is reported with partial5 = true, and its starts[0] is the
//   "edge start": the first complete codon of the frame next to the edge, whatever it is (even
//   when it is itself a start codon it is listed once, as the edge start). The remaining
//   starts are real start codons. Without allow_partial it is reported from its first real
//   start codon, as a complete ORF (partial5 = false), or not at all when it has none.
// - 3'-open ORFs: a stretch that reaches the 3' edge (or a gap) without a stop ends at the
//   last complete codon of the frame; reported with partial3 = true with allow_partial, and
//   dropped without.
// - Linear contigs only: a gene across the origin of a circular genome comes out as two
//   partial ORFs (a 3'-open one at one end, a 5'-open one at the other).
// - Contigs shorter than one codon give no ORFs.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "genomics/feature.h"
#include "genomics/genetic_code.h"

namespace strand::genomics {

struct Orf {
  // 0-based half-open on the forward strand: from the outermost start (starts[0]) through the
  // stop codon inclusive (or the last complete codon, for a 3'-open ORF).
  int64_t beg0 = 0;
  int64_t end0 = 0;
  Strand strand = Strand::kForward;  // kForward or kReverse
  // partial5: starts[0] is the edge start, not a start codon (see above).
  // partial3: no stop codon; the ORF runs into the 3' contig edge or a gap.
  bool partial5 = false;
  bool partial3 = false;
  // Candidate starts in transcription order, outermost (longest gene) first; only those that
  // give a gene of at least min_len_bp. Each is the forward coordinate of the start codon's
  // first base in transcription order: for + the codon is [pos0, pos0 + 3) and the gene
  // [pos0, end0); for − the codon is [pos0 - 2, pos0 + 1) and the gene [beg0, pos0 + 1).
  std::vector<int64_t> starts;

  // Length of the gene that starts at starts[i] (bases, stop included).
  int64_t gene_len_bp(size_t i) const { return strand == Strand::kForward ? end0 - starts[i] : starts[i] + 1 - beg0; }
};

struct OrfOptions {
  const GeneticCode* code = nullptr;  // required
  int64_t min_len_bp = 90;            // shortest gene (start through stop inclusive); >= 3
  int min_gap_run = 3;                // runs of >= this many non-ACGT bases are gaps; >= 1
  bool allow_partial = true;          // report ORFs open at a contig edge or gap

  // Throws strand::Error naming the bad field.
  void validate() const;
};

// Every ORF of `seq` (any case) on both strands with at least one start giving a gene of
// min_len_bp or more, sorted by (beg0, end0, strand with + first).
std::vector<Orf> find_orfs(std::string_view seq, const OrfOptions& options);

}  // namespace strand::genomics
