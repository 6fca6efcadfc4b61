// `strand annotate`: genes of a genome as GFF3, with per-base tracks.
#include <CLI/CLI.hpp>
#include <memory>

#include "apps/commands.h"
#include "apps/common_options.h"
#include "pipelines/annotate_options.h"

namespace strand::apps {
namespace {

struct AnnotateState {
  CommonOptions common;
  pipelines::AnnotateOptions options;
  std::string track_format = "bigwig", window, overlap;
  CLI::Option* track_format_opt = nullptr;
  bool no_version = false;
};

int run_annotate_command(AnnotateState& s, const Invocation& invocation) {
  finalize_common_options(s.common);
  pipelines::AnnotateOptions& o = s.options;
  if (!s.common.model.empty()) o.model = s.common.model;
  o.output = s.common.output;
  o.regions = s.common.regions;
  o.compute = s.common.compute;
  o.track_format = parse_choice(
      s.track_format, "--track-format",
      {std::pair{"bigwig", pipelines::TrackFormat::kBigWig}, {"bedgraph", pipelines::TrackFormat::kBedGraph}});
  if (s.track_format_opt->count() > 0 && o.tracks_prefix.empty()) fail("--track-format needs --tracks PREFIX");
  if (!s.window.empty()) {
    o.tiling.window = parse_base_count(s.window, "--window");
    o.tiling.overlap = pipelines::default_overlap(o.tiling.window);
  }
  if (!s.overlap.empty()) o.tiling.overlap = parse_base_count(s.overlap, "--overlap");
  o.write_provenance = !s.no_version;
  o.command_line = invocation.command_line;
  o.validate();
  return not_implemented("annotate");
}

}  // namespace

Command register_annotate(CLI::App& parent, const Invocation& invocation) {
  auto state = std::make_shared<AnnotateState>();
  auto& o = state->options;
  CLI::App* cmd = parent.add_subcommand("annotate", "Annotate the genes of a genome (GFF3 and per-base tracks)");
  cmd->description(
      cmd->get_description() + "\n\n" +
      "Predict per-base classes (coding sequence, strand, ...) over a genome with a model and its annotation head,\n"
      "and write the genes as GFF3 (gene and CDS features with ID/Parent, ##sequence-region and provenance\n"
      "pragmas). Optionally write the protein translations (-a), the gene sequences (-d) and one per-base track\n"
      "per class (--tracks). Contigs are processed whole (exact) unless --window tiles them.");
  cmd->add_option("GENOME", o.input, "genome FASTA, plain or bgzip ('-' = stdin; -r/-R need a faidx index)")
      ->required()
      ->type_name("");
  cmd->add_option("--head", o.head, "annotation head (safetensors from 'strand train-head'; default: the model's)")
      ->type_name("FILE");
  cmd->add_option("--tracks", o.tracks_prefix, "write per-base class probabilities to PREFIX.<class>.bw|.bedGraph")
      ->type_name("PREFIX");
  state->track_format_opt =
      cmd->add_option("--track-format", state->track_format, "format of the --tracks files (default: bigwig)")
          ->type_name("bigwig|bedgraph");
  cmd->add_option("-a,--proteins", o.proteins, "write the protein translations to FILE (FASTA)")->type_name("FILE");
  cmd->add_option("-d,--genes", o.genes, "write the gene nucleotide sequences to FILE (FASTA)")->type_name("FILE");
  cmd->add_option("-g,--genetic-code", o.genetic_code,
                  "NCBI translation table for start/stop codons and -a "
                  "(default: 11, bacteria and archaea)")
      ->type_name("N");
  cmd->add_option("--window", state->window, "cut contigs into tiles of W bases (default: whole contigs)")
      ->type_name("W");
  cmd->add_option("--overlap", state->overlap,
                  "bases shared by neighbouring tiles; each keeps its centre "
                  "(default: W/4)")
      ->type_name("O");
  cmd->add_flag("--no-version", state->no_version, "do not write the provenance pragmas (strand version, command)");
  add_common_options(*cmd, state->common,
                     CommonFlags{.output = true,
                                 .output_kind = pipelines::OutputKind::kText,
                                 .output_help = "write the GFF3 to FILE",
                                 .threads = true,
                                 .regions = true,
                                 .model = true,
                                 .default_model = pipelines::kDefaultAnnotateModel,
                                 .device = true});
  cmd->footer(
      "Examples:\n"
      "  strand annotate genome.fa -o genes.gff3 -a proteins.faa --tracks genome\n"
      "  zcat genome.fa.gz | strand annotate --device cuda - > genes.gff3");
  return {cmd, [state, &invocation] { return run_annotate_command(*state, invocation); }};
}

}  // namespace strand::apps
