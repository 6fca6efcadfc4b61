// `strand score`: variant effect scores of a VCF/BCF (VCF in, VCF out).
#include <CLI/CLI.hpp>
#include <memory>

#include "apps/commands.h"
#include "apps/common_options.h"
#include "core/error.h"
#include "core/text.h"
#include "pipelines/score.h"
#include "pipelines/score_options.h"

namespace strand::apps {
namespace {

struct ScoreState {
  CommonOptions common;
  pipelines::ScoreOptions options;
  std::string window;
  int batch = 0;
  const CLI::Option* batch_option = nullptr;  // not given: the device's default (ScoreOptions::batch_for)
  std::string check_ref = "w";
  std::string scores = "llr,edist";
  bool no_rc = false;
  bool no_version = false;
};

int run_score_command(ScoreState& s, const Invocation& invocation) {
  finalize_common_options(s.common);
  pipelines::ScoreOptions& o = s.options;
  o.fasta_ref = s.common.fasta_ref;
  if (!s.common.model.empty()) o.model = s.common.model;
  o.output = s.common.output;
  o.regions = s.common.regions;
  o.compute = s.common.compute;
  if (!s.window.empty()) {
    o.window = parse_base_count(s.window, "--window");
    if (o.window < 2) fail("invalid --window ", s.window, ": must be >= 2");  // 0 would mean the default
  }
  if (s.batch_option->count() > 0) {
    pipelines::check_batch(s.batch);  // 0 too, which would otherwise mean the default
    o.batch = s.batch;
  }
  o.both_strands = !s.no_rc;
  o.check_ref = parse_choice(s.check_ref, "--check-ref",
                             {std::pair{"e", pipelines::CheckRef::kError},
                              {"w", pipelines::CheckRef::kWarn},
                              {"x", pipelines::CheckRef::kExclude}});
  o.llr = o.edist = false;
  for (const std::string_view tag : split(s.scores, ',')) {
    if (tag == "llr") {
      o.llr = true;
    } else if (tag == "edist") {
      o.edist = true;
    } else {
      fail("invalid --scores ", quote_for_message(s.scores), ": expected a comma-separated list of llr, edist");
    }
  }
  o.write_provenance = !s.no_version;
  o.command_line = invocation.command_line;
  pipelines::run_score(o);
  return 0;
}

}  // namespace

Command register_score(CLI::App& parent, const Invocation& invocation) {
  auto state = std::make_shared<ScoreState>();
  CLI::App* cmd = parent.add_subcommand("score", "Score the variants of a VCF/BCF with a DNA language model");
  cmd->description(
      cmd->get_description() + "\n\n" +
      "Score every ALT allele of a VCF/BCF with a DNA language model and write the records back, in input order,\n"
      "with per-allele INFO tags: STRAND_LLR (log p(alt) - log p(ref) in a window centred on the variant, mean of\n"
      "both strands) and STRAND_EDIST (cosine distance between ref and alt embeddings). Masked models score SNVs;\n"
      "causal models score SNVs and indels. Symbolic, breakend and '*' alleles and REF mismatches get '.'.");
  cmd->add_option("INPUT", state->options.input, "VCF, bgzipped VCF or BCF to score ('-' = stdin)")
      ->required()
      ->type_name("");
  cmd->add_option("--window", state->window,
                  "bases of context, the variant's first REF base at W/2 (default: the model's, else 1024)")
      ->type_name("W");
  cmd->add_flag("--no-rc", state->no_rc, "score the forward strand only (default: mean of both strands)");
  cmd->add_option("--scores", state->scores,
                  "tags to compute: llr (STRAND_LLR), edist (STRAND_EDIST), comma-separated (default: llr,edist)")
      ->type_name("LIST");
  cmd->add_option("--check-ref", state->check_ref,
                  "REF not matching -f: e stop with an error, w warn and write '.' (default), x write '.' "
                  "silently; mismatches are counted in the summary")
      ->type_name("e|w|x");
  state->batch_option = cmd->add_option("--batch", state->batch,
                  "windows per forward pass (default: 32 on the CPU; on a GPU 256 windows of 1,024 bases, as many as "
                  "make 262,144 bases)")
      ->type_name("N");
  cmd->add_flag("--no-version", state->no_version, "do not add ##strandVersion and ##strandCommand header lines");
  add_common_options(*cmd, state->common,
                     CommonFlags{.output = true,
                                 .output_kind = pipelines::OutputKind::kVcf,
                                 .output_help = "write the scored VCF/BCF to FILE",
                                 .write_index = true,
                                 .threads = true,
                                 .regions = true,
                                 .fasta_ref = true,
                                 .fasta_ref_required = true,
                                 .fasta_ref_help = "reference FASTA of the VCF (plain or bgzip, faidx-indexed)",
                                 .model = true,
                                 .default_model = pipelines::kDefaultScoreModel,
                                 .device = true});
  cmd->footer(
      "Examples:\n"
      "  strand score -f GRCh38.fa -Oz -o scored.vcf.gz -W calls.vcf.gz\n"
      "  bcftools view -i 'QUAL>30' calls.bcf | strand score -f GRCh38.fa --device cuda - > scored.vcf");
  return {cmd, [state, &invocation] { return run_score_command(*state, invocation); }};
}

}  // namespace strand::apps
