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
enum class Holdout { kContig, kRegion };

struct TrainHeadOptions {
  std::string model;                           // -m: the backbone (required: a head belongs to one backbone)
  std::string fasta;                           // -f/--fasta: genome sequence, with --gff
  std::string gff;                             // --gff: GFF3 annotation of that genome
  std::string genbank;                         // --genbank: sequence and annotation in one file
  std::vector<std::string> classes = {"CDS"};  // GFF3 feature types the head predicts
  Holdout holdout = Holdout::kContig;
  double holdout_fraction = 0.1;  // of the bases (kContig: whole contigs adding up to about this)
  int epochs = 5;
  double learning_rate = 1e-3;
  std::optional<uint64_t> seed;  // none = drawn at random (and logged)
  OutputOptions output;          // head.safetensors
  ComputeOptions compute;

  void validate() const {
    if (model.empty()) fail("-m/--model is required: the head is trained on top of that backbone");
    if (!genbank.empty() && (!gff.empty() || !fasta.empty()))
      fail("--genbank cannot be combined with --gff or -f/--fasta: it holds both sequence and annotation");
    if (genbank.empty() && gff.empty()) fail("no annotation given: use -f/--fasta with --gff, or --genbank");
    if (!gff.empty() && fasta.empty()) fail("--gff needs the genome sequence: add -f/--fasta");
    if (classes.empty()) fail("invalid --classes: no class given");
    for (size_t i = 0; i < classes.size(); ++i) {
      if (classes[i].empty()) fail("invalid --classes: empty class name");
      for (size_t j = 0; j < i; ++j)
        if (classes[i] == classes[j]) fail("invalid --classes: '", classes[i], "' given twice");
    }
    if (!(holdout_fraction > 0 && holdout_fraction < 1))
      fail("invalid --holdout-fraction ", holdout_fraction, ": must be in (0, 1)");
    if (epochs < 1) fail("invalid --epochs ", epochs, ": must be >= 1");
    if (!(learning_rate > 0) || !std::isfinite(learning_rate))
      fail("invalid --learning-rate ", learning_rate, ": must be a finite number > 0");
    output.validate(OutputKind::kBinary);
    compute.validate();
  }
};

}  // namespace strand::pipelines
