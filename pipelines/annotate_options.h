// Options of `strand annotate`: genes of a genome as GFF3 (plus proteins/genes FASTA and
// per-base tracks of the head's classes).
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "genomics/region.h"
#include "pipelines/default_models.h"
#include "pipelines/gene_caller.h"
#include "pipelines/shared_options.h"

namespace strand::pipelines {

// NCBI genetic codes (https://www.ncbi.nlm.nih.gov/Taxonomy/Utils/wprintgc.cgi); 7, 8 and
// 17-20 are retired.
inline constexpr int kGeneticCodes[] = {1,  2,  3,  4,  5,  6,  9,  10, 11, 12, 13, 14, 15, 16,
                                        21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33};

// The gene caller's settings for `strand annotate` with the shipped head, chosen by F1 (stop
// codon matches) on genomes whose annotation the head never saw: held-out contigs of a training
// genome (35 Leptospira contigs, 1,063 CDS), K. pneumoniae HS11286 (5,779 CDS), and two genomes
// the backbone never saw either, S. aureus MRSA252 (2,656 CDS) and M. tuberculosis H37Rv (3,906
// CDS), with B. japonicum (a head training genome) as a check; never on E. coli, the evaluation
// genome (grids and results: tests/bench/README.md). The head's weight in the final pass is
// small because on sequence the backbone never saw its evidence is weaker than on its
// pretraining genomes: from 0.16 to 0.04, F1 rose on both unseen genomes and fell on
// K. pneumoniae and the Leptospira contigs, whose sequence the backbone was trained on.
// First pass, the head alone (also the one pass of --no-self-train, and the result when the
// first pass finds too few genes to learn from): the best one-pass setting.
inline GeneCallerOptions first_pass_gene_caller() {
  GeneCallerOptions o;
  o.head_weight = 0.1;
  o.min_score = 20.0;
  return o;
}
// Self-training passes: the head plus the genome's own codon-pair statistics
// (hexamer_model.h), ORF length and start-site statistics (start_model.h), learned again from
// each pass's genes for kSelfTrainRounds passes.
inline GeneCallerOptions annotate_gene_caller_defaults() {
  GeneCallerOptions o;
  o.head_weight = 0.04;
  o.length_weight = 24.0;
  o.length_offset_codons = 80.0;
  o.coding_floor = 0.25;
  o.min_score = 85.0;
  o.operon_weight = 12.0;
  return o;
}
inline constexpr double kDefaultHexamerWeight = 8.0;
inline constexpr double kDefaultStartWeight = 16.0;
inline constexpr int kSelfTrainRounds = 2;
// Fewer complete first-pass genes of >= 300 bp than this (a phage, a small plasmid): the
// codon-pair table (4,096 cells) is not learned, and the first pass is the answer.
inline constexpr int64_t kMinSelfTrainGenes = 200;

struct AnnotateOptions {
  std::string input = "-";  // genome FASTA (plain or bgzip), "-" = stdin
  std::string model = std::string(kDefaultAnnotateModel);
  std::string head;           // --head: a head file; empty = the model's own head
  OutputOptions output;       // GFF3, -O v|z
  std::string tracks_prefix;  // --tracks: PREFIX.<class>.bw|.bedGraph; empty = none
  TrackFormat track_format = TrackFormat::kBigWig;
  // --from-tracks: the head's class probabilities read from PREFIX.<class>.bw (a previous run's
  // --tracks, rounded to 0.001) instead of computed by the model: genes called again with other
  // settings in seconds. The head still names the classes and must match the model.
  std::string from_tracks;
  std::string proteins;   // -a: protein translations (FASTA); empty = none
  std::string genes;      // -d: gene nucleotide sequences (FASTA); empty = none
  int genetic_code = 11;  // -g: translation table for -a and start/stop codons
  // The first pass's scoring, also the one pass without self-training (its gene length and
  // overlap bounds are genes_options').
  GeneCallerOptions first_pass = first_pass_gene_caller();
  GeneCallerOptions genes_options = annotate_gene_caller_defaults();  // the final pass: --min-score, ...
  // Second gene-calling pass with the genome's own codon-pair statistics learned from the first
  // pass's genes (hexamer_model.h), weighted by hexamer_weight; --no-self-train: one pass.
  bool self_train = true;
  double hexamer_weight = kDefaultHexamerWeight;
  // Weight of the genome's own start-site log-likelihood ratios (start_model.h) in the
  // self-training passes; 0 = the fixed start-codon priors alone.
  double start_weight = kDefaultStartWeight;
  // Fewest complete first-pass genes of >= kHexamerTrainingMinLenBp to self-train from (library
  // callers and tests; the CLI keeps kMinSelfTrainGenes).
  int64_t min_self_train_genes = kMinSelfTrainGenes;
  TilingOptions tiling;
  std::vector<genomics::Region> regions;
  ComputeOptions compute;
  bool write_provenance = true;  // provenance pragmas; false with --no-version
  std::string command_line;

  void validate() const {
    if (input.empty()) fail("no input genome given");
    if (model.empty()) fail("invalid -m/--model: empty");
    output.validate(OutputKind::kText);
    if (tracks_prefix == "-") fail("--tracks takes a file name prefix, not '-'");
    if (from_tracks == "-") fail("--from-tracks takes a file name prefix, not '-'");
    if (!from_tracks.empty() && tiling.enabled())
      fail("--window/--overlap have no effect with --from-tracks (the model does not run)");
    if (!from_tracks.empty() && !tracks_prefix.empty() && from_tracks == tracks_prefix)
      fail("--from-tracks and --tracks name the same files (", from_tracks, ".*)");
    check_distinct_outputs({{"-o/--output", output.path}, {"-a/--proteins", proteins}, {"-d/--genes", genes}});
    if (std::find(std::begin(kGeneticCodes), std::end(kGeneticCodes), genetic_code) == std::end(kGeneticCodes))
      fail("invalid -g/--genetic-code ", genetic_code, ": not an NCBI translation table (1-6, 9-16, 21-33)");
    first_pass.validate();
    genes_options.validate();
    if (!(hexamer_weight >= 0) || !std::isfinite(hexamer_weight))
      fail("invalid --hexamer-weight ", hexamer_weight, ": must be a finite number >= 0");
    if (!(start_weight >= 0) || !std::isfinite(start_weight))
      fail("invalid --start-weight ", start_weight, ": must be a finite number >= 0");
    if (min_self_train_genes < 1)
      fail("invalid minimum of self-training genes ", min_self_train_genes, ": must be >= 1");
    tiling.validate();
    compute.validate();
    check_regions_need_index(regions, {input});
  }
};

}  // namespace strand::pipelines
