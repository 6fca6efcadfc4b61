// `strand train-head`: fit a per-base annotation head on a genome and its annotation.
#include <CLI/CLI.hpp>
#include <memory>

#include "apps/commands.h"
#include "apps/common_options.h"
#include "core/text.h"
#include "pipelines/train_head.h"

namespace strand::apps {
namespace {

struct TrainHeadState {
  CommonOptions common;
  pipelines::TrainHeadOptions options;
  std::string classes, holdout = "auto", train_bases, eval_bases;
};

int run_train_head_command(TrainHeadState& s, const Invocation& invocation) {
  finalize_common_options(s.common);
  pipelines::TrainHeadOptions& o = s.options;
  o.model = s.common.model;
  o.output = s.common.output;
  o.compute = s.common.compute;
  o.seed = s.common.seed;
  if (!s.classes.empty()) {
    o.classes.clear();
    for (std::string_view c : split(s.classes, ',')) o.classes.emplace_back(trim(c));
    o.classes_given = true;
  }
  if (!s.train_bases.empty()) o.train_bases = parse_base_count(s.train_bases, "--train-bases");
  if (!s.eval_bases.empty()) o.eval_bases = parse_base_count(s.eval_bases, "--eval-bases");
  o.command_line = invocation.command_line;
  o.holdout = parse_choice(s.holdout, "--holdout",
                           {std::pair{"auto", pipelines::Holdout::kAuto},
                            {"contig", pipelines::Holdout::kContig},
                            {"region", pipelines::Holdout::kRegion}});
  if (!std::string_view(o.output.path).ends_with(".safetensors"))
    fail("invalid -o/--output ", quote_for_message(o.output.path), ": a head is saved as a .safetensors file");
  o.validate();
  pipelines::run_train_head(o);
  return 0;
}

}  // namespace

Command register_train_head(CLI::App& parent, const Invocation& invocation) {
  auto state = std::make_shared<TrainHeadState>();
  auto& o = state->options;
  CLI::App* cmd = parent.add_subcommand("train-head", "Train a per-base annotation head on an annotated genome");
  cmd->description(
      cmd->get_description() + "\n\n" +
      "Fit a per-base annotation head on top of a frozen model (-m) from genomes and their annotation: FASTA\n"
      "files each with its GFF3 (-f with --gff, paired in order), and/or GenBank files (--genbank); each option\n"
      "may be repeated. Each base is labelled with the --classes feature type covering it, by strand (CDS also\n"
      "by codon position); the head is strand-symmetric by construction. Part of the genome is held out\n"
      "(--holdout) and the head's per-class precision and recall on it are reported. Every contig is embedded\n"
      "whole (exact); a random sample of its bases (--train-bases, --eval-bases) trains and tests the head.\n"
      "The head is saved as safetensors with the model's checksum, for 'strand annotate --head'.");
  cmd->add_option("-f,--fasta,--fasta-ref", o.fasta, "genome FASTA (plain or bgzip), with --gff (repeatable)")
      ->type_name("FILE")
      ->take_all();
  cmd->add_option("--gff", o.gff, "GFF3 annotation of the -f genome of the same rank (repeatable)")
      ->type_name("FILE")
      ->take_all();
  cmd->add_option("--genbank", o.genbank, "GenBank file with sequence and annotation (repeatable)")
      ->type_name("FILE");
  cmd->add_option("--classes", state->classes,
                  "comma-separated GFF3 feature types (SO names) the head predicts (default: CDS,tRNA,rRNA, "
                  "those present)")
      ->type_name("LIST");
  cmd->add_option("--holdout", state->holdout,
                  "held-out bases: whole contigs, or a region at the end of each contig; auto: whole contigs "
                  "when one fits --holdout-fraction, else regions (default: auto)")
      ->type_name("auto|contig|region");
  cmd->add_option("--holdout-fraction", o.holdout_fraction, "fraction of the bases held out (default: 0.1)")
      ->type_name("F");
  cmd->add_option("--hidden", o.hidden, "hidden ReLU units (default: 0, softmax regression)")->type_name("N");
  cmd->add_option("--train-bases", state->train_bases,
                  cat("bases sampled for training (default: ", o.train_bases, ")"))
      ->type_name("N");
  cmd->add_option("--eval-bases", state->eval_bases,
                  cat("held-out bases sampled for the report (default: ", o.eval_bases, ")"))
      ->type_name("N");
  cmd->add_option("--epochs", o.epochs, "passes over the training bases (default: 5)")->type_name("N");
  cmd->add_option("--learning-rate", o.learning_rate, "optimizer step size (default: 0.001)")->type_name("LR");
  add_common_options(*cmd, state->common,
                     CommonFlags{.output = true,
                                 .output_kind = pipelines::OutputKind::kBinary,
                                 .output_required = true,
                                 .output_help = "write the head to FILE (.safetensors)",
                                 .threads = true,
                                 .model = true,
                                 .model_required = true,
                                 .device = true,
                                 .seed = true});
  cmd->footer(
      "Examples:\n"
      "  strand train-head -m caduceus-ps -f genome.fa --gff genome.gff3 -o head.safetensors\n"
      "  strand train-head -m caduceus-ps --genbank genome.gbk --classes CDS,tRNA,rRNA -o head.safetensors");
  return {cmd, [state, &invocation] { return run_train_head_command(*state, invocation); }};
}

}  // namespace strand::apps
