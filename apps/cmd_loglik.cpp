// `strand loglik`: log-likelihoods of sequences under a causal model (TSV, optional track).
#include <CLI/CLI.hpp>
#include <memory>

#include "apps/commands.h"
#include "apps/common_options.h"
#include "core/text.h"
#include "pipelines/loglik.h"
#include "pipelines/loglik_options.h"

namespace strand::apps {
namespace {

struct LoglikState {
  CommonOptions common;
  pipelines::LoglikOptions options;
};

std::string lower(std::string_view text) {
  std::string s(text);
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// bigWig or bedGraph, from the --track name as UCSC tools name them.
pipelines::TrackFormat track_format_from_name(std::string_view path) {
  const std::string name = lower(path);
  if (std::string_view(name).ends_with(".bw") || std::string_view(name).ends_with(".bigwig"))
    return pipelines::TrackFormat::kBigWig;
  for (std::string_view ext : {".bedgraph", ".bg", ".bedgraph.gz", ".bg.gz"})
    if (std::string_view(name).ends_with(ext)) return pipelines::TrackFormat::kBedGraph;
  fail("invalid --track ", quote_for_message(path),
       ": cannot tell the format from the name (use .bw/.bigWig or .bedGraph/.bg[.gz])");
}

int run_loglik_command(LoglikState& s) {
  finalize_common_options(s.common);
  pipelines::LoglikOptions& o = s.options;
  o.fasta_ref = s.common.fasta_ref;
  if (!s.common.model.empty()) o.model = s.common.model;
  o.output = s.common.output;
  o.regions = s.common.regions;
  o.compute = s.common.compute;
  if (!o.track.empty()) o.track_format = track_format_from_name(o.track);
  pipelines::run_loglik(o);
  return 0;
}

}  // namespace

Command register_loglik(CLI::App& parent, const Invocation& /*invocation*/) {
  auto state = std::make_shared<LoglikState>();
  auto& o = state->options;
  CLI::App* cmd = parent.add_subcommand("loglik", "Log-likelihood of sequences or reads under a causal model");
  cmd->description(
      cmd->get_description() + "\n\n" +
      "Compute the log-likelihood of every sequence or read under a causal (Mamba) language model: the sum of\n"
      "next-base log-probabilities (natural log; the first base is not scored). Writes TSV with one line per\n"
      "sequence (name, length, scored bases, total log-likelihood, bits per scored base) and, with --track, the\n"
      "per-base -log2 p as a bigWig or bedGraph track. Memory stays flat whatever the length (the model state\n"
      "streams through the record).");
  cmd->add_option("INPUT", o.inputs, "FASTA, FASTQ (plain or gzip), SAM, BAM or CRAM files ('-' = stdin)")
      ->required()
      ->type_name("");
  cmd->add_flag("--both-strands", o.both_strands,
                "also score the reverse complement and report the mean of the two strands");
  cmd->add_option("--track", o.track, "write per-base -log2 p (bits; both strands averaged with --both-strands) to FILE: bigWig if .bw, bedGraph if .bedGraph/.bg[.gz]")
      ->type_name("FILE");
  add_common_options(*cmd, state->common,
                     CommonFlags{.output = true,
                                 .output_kind = pipelines::OutputKind::kText,
                                 .output_help = "write the TSV to FILE",
                                 .threads = true,
                                 .regions = true,
                                 .fasta_ref = true,
                                 .fasta_ref_help = "reference FASTA for CRAM inputs (faidx-indexed)",
                                 .model = true,
                                 .default_model = pipelines::kDefaultLoglikModel,
                                 .device = true});
  cmd->footer(
      "Examples:\n"
      "  strand loglik contigs.fa -o loglik.tsv --track loglik.bw\n"
      "  strand loglik -r chr1:1-1,000,000 --both-strands genome.fa.gz");
  return {cmd, [state] { return run_loglik_command(*state); }};
}

}  // namespace strand::apps
