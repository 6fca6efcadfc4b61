// Options of `strand train-head`: fit a per-base annotation head on a frozen backbone from a
// genome and its annotation (FASTA + GFF3, or GenBank), saved as safetensors.
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pipelines/shared_options.h"

namespace strand::pipelines {

// Which bases are held out to measure the head: whole contigs (no leakage between
// neighbouring positions) or a region at the end of every contig (for single-contig genomes).
// kAuto: whole contigs when some contig fits the held-out fraction, else a region of each
// (a single-chromosome genome).
enum class Holdout { kAuto, kContig, kRegion };

// Default classes: CDS (by strand and codon position), and tRNA / rRNA where the annotation
// has them (without --classes, types absent from every input are dropped with a note).
inline const std::vector<std::string> kDefaultHeadClasses = {"CDS", "tRNA", "rRNA"};
// Bases sampled for training and for the held-out report (every base is embedded; these
// bound the memory of the sampled features: 2 d floats per base).
inline constexpr int64_t kDefaultHeadTrainBases = 400'000;
inline constexpr int64_t kDefaultHeadEvalBases = 200'000;
inline constexpr int kMaxHeadHidden = 4096;
inline constexpr size_t kMaxHeadClassTypes = 40;  // labels are int8: 1 + 2 x (types + 2) columns fit

struct TrainHeadOptions {
  std::string model;                 // -m: the backbone (required: a head belongs to one backbone)
  std::vector<std::string> fasta;    // -f/--fasta: genome sequences, each with the --gff of the same rank
  std::vector<std::string> gff;      // --gff: GFF3 annotations
  std::vector<std::string> genbank;  // --genbank: sequence and annotation in one file (repeatable)
  std::vector<std::string> classes = kDefaultHeadClasses;  // feature types the head predicts
  bool classes_given = false;        // --classes given: every type must occur
  Holdout holdout = Holdout::kAuto;
  double holdout_fraction = 0.1;  // of the bases (kContig: whole contigs adding up to about this)
  int hidden = 0;                 // --hidden: ReLU units (0 = softmax regression)
  int64_t train_bases = kDefaultHeadTrainBases;
  int64_t eval_bases = kDefaultHeadEvalBases;
  int epochs = 5;
  double learning_rate = 1e-3;
  std::optional<uint64_t> seed;  // none = drawn at random (and logged)
  OutputOptions output;          // head.safetensors
  ComputeOptions compute;
  std::string command_line;

  void validate() const {
    if (model.empty()) fail("-m/--model is required: the head is trained on top of that backbone");
    if (genbank.empty() && gff.empty() && fasta.empty())
      fail("no annotation given: use -f/--fasta with --gff, or --genbank");
    if (gff.size() != fasta.size())
      fail("-f/--fasta and --gff pair up in order: ", fasta.size(), " FASTA and ", gff.size(), " GFF3 files given");
    if (classes.empty()) fail("invalid --classes: no class given");
    if (classes.size() > kMaxHeadClassTypes)
      fail("invalid --classes: ", classes.size(), " feature types; at most ", kMaxHeadClassTypes);
    for (size_t i = 0; i < classes.size(); ++i) {
      if (classes[i].empty()) fail("invalid --classes: empty class name");
      for (size_t j = 0; j < i; ++j)
        if (classes[i] == classes[j]) fail("invalid --classes: '", classes[i], "' given twice");
    }
    if (!(holdout_fraction > 0 && holdout_fraction < 1))
      fail("invalid --holdout-fraction ", holdout_fraction, ": must be in (0, 1)");
    if (hidden < 0 || hidden > kMaxHeadHidden) fail("invalid --hidden ", hidden, ": must be between 0 and ", kMaxHeadHidden);
    if (train_bases < 1) fail("invalid --train-bases ", train_bases, ": must be >= 1");
    if (eval_bases < 1) fail("invalid --eval-bases ", eval_bases, ": must be >= 1");
    if (epochs < 1) fail("invalid --epochs ", epochs, ": must be >= 1");
    if (!(learning_rate > 0) || !std::isfinite(learning_rate))
      fail("invalid --learning-rate ", learning_rate, ": must be a finite number > 0");
    output.validate(OutputKind::kBinary);
    compute.validate();
  }
};

}  // namespace strand::pipelines
