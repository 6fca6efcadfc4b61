// `strand annotate`: genes of a genome as GFF3, with per-base tracks.
#include <CLI/CLI.hpp>
#include <memory>
#include <utility>
#include <vector>

#include "apps/commands.h"
#include "apps/common_options.h"
#include "pipelines/annotate.h"

namespace strand::apps {
namespace {

struct AnnotateState {
  CommonOptions common;
  pipelines::AnnotateOptions options;
  std::string track_format = "bigwig", window, overlap;
  CLI::Option* track_format_opt = nullptr;
  // The final pass's scoring options (--min-score, --head-weight, ...) and the setting each fills:
  // with --no-self-train, those given set the one pass (the first pass) instead.
  std::vector<std::pair<CLI::Option*, double pipelines::GeneCallerOptions::*>> final_pass_opts;
  CLI::Option* hexamer_opt = nullptr;
  CLI::Option* start_weight_opt = nullptr;
  bool no_version = false, no_self_train = false;
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
  o.self_train = !s.no_self_train;
  // One pass (--no-self-train) is the first pass: the scoring options given set it.
  if (!o.self_train)
    for (const auto& [opt, field] : s.final_pass_opts)
      if (opt->count() > 0) o.first_pass.*field = o.genes_options.*field;
  if (!o.self_train && s.hexamer_opt->count() > 0) fail("--hexamer-weight has no effect with --no-self-train");
  if (!o.self_train && s.start_weight_opt->count() > 0) fail("--start-weight has no effect with --no-self-train");
  o.command_line = invocation.command_line;
  o.validate();
  pipelines::run_annotate(o);
  return 0;
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
      "pragmas; each CDS has a score and its parts, coding_score + length_score + start_score, and start_type).\n"
      "Optionally write the protein translations (-a), the gene sequences (-d) and one per-base track\n"
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
  cmd->add_option("--from-tracks", o.from_tracks,
                  "read the class probabilities from PREFIX.<class>.bw (an earlier run's --tracks, in bigWig) instead "
                  "of running the model: call genes again with other settings, fast")
      ->type_name("PREFIX");
  cmd->add_option("-a,--proteins", o.proteins, "write the protein translations to FILE (FASTA)")->type_name("FILE");
  cmd->add_option("-d,--genes", o.genes, "write the gene nucleotide sequences to FILE (FASTA)")->type_name("FILE");
  cmd->add_option("-g,--genetic-code", o.genetic_code,
                  "NCBI translation table for start/stop codons and -a "
                  "(default: 11, bacteria and archaea)")
      ->type_name("N");
  cmd->add_option("--min-gene-len", o.genes_options.min_gene_len_bp,
                  cat("shortest gene called, start through stop (default: ", o.genes_options.min_gene_len_bp, " bp)"))
      ->type_name("BP");
  cmd->add_option("--max-overlap", o.genes_options.max_overlap_bp,
                  cat("largest overlap between two called genes (default: ", o.genes_options.max_overlap_bp, " bp)"))
      ->type_name("BP");
  // Final-pass settings: the help gives both defaults; --no-self-train resets those not given.
  const auto final_pass_option = [&](const char* name, double pipelines::GeneCallerOptions::*field,
                                     const std::string& what, const char* value_name) {
    state->final_pass_opts.emplace_back(
        cmd->add_option(name, o.genes_options.*field,
                        cat("final pass: ", what, " (default: ", o.genes_options.*field,
                            "; one pass: ", pipelines::first_pass_gene_caller().*field, ")"))
            ->type_name(value_name),
        field);
  };
  final_pass_option("--min-score", &pipelines::GeneCallerOptions::min_score,
                    "a gene is worth its score less this (called above it; down to S - 2 x the operon weight next to "
                    "close genes on its strand)",
                    "S");
  final_pass_option("--head-weight", &pipelines::GeneCallerOptions::head_weight,
                    "weight of the summed per-base coding log-odds in a gene's score", "W");
  final_pass_option("--length-weight", &pipelines::GeneCallerOptions::length_weight,
                    "weight of the ORF-length log-odds (no stop codon over the gene against random sequence of the "
                    "contig's composition)",
                    "W");
  final_pass_option("--coding-floor", &pipelines::GeneCallerOptions::coding_floor,
                    "a gene's coding score is at least this share of its ORF-length term", "F");
  final_pass_option("--length-offset", &pipelines::GeneCallerOptions::length_offset_codons,
                    "the ORF-length term counts the codons beyond this many (shorter open frames count against a gene)",
                    "CODONS");
  final_pass_option("--operon-weight", &pipelines::GeneCallerOptions::operon_weight,
                    "gain of consecutive genes on one strand up to 60 bp apart (up to 2x this), loss at a change of "
                    "strand or a gap over 180 bp",
                    "W");
  cmd->add_flag(
      "--no-self-train", state->no_self_train,
      "one gene-calling pass: do not learn the genome's own codon and start statistics from the first pass's genes");
  state->hexamer_opt =
      cmd->add_option("--hexamer-weight", o.hexamer_weight,
                      cat("weight of the genome's own codon-pair log-odds in the self-training passes (default: ",
                          o.hexamer_weight, ")"))
          ->type_name("W");
  state->start_weight_opt =
      cmd->add_option(
             "--start-weight", o.start_weight,
             cat("weight of the genome's own start-site statistics (start codon, ribosome binding site, context) in "
                 "the self-training passes (default: ",
                 o.start_weight, ")"))
          ->type_name("W");
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
      "  strand annotate -m my-model --head my-head.safetensors genome.fa -o genes.gff3\n"
      "  zcat genome.fa.gz | strand annotate --device cuda - > genes.gff3");
  return {cmd, [state, &invocation] { return run_annotate_command(*state, invocation); }};
}

}  // namespace strand::apps
