// `strand embed`: embeddings of sequences, windows or reads (safetensors or .npy).
#include <CLI/CLI.hpp>
#include <memory>

#include "apps/commands.h"
#include "apps/common_options.h"
#include "core/text.h"
#include "pipelines/embed.h"

namespace strand::apps {
namespace {

struct EmbedState {
  CommonOptions common;
  pipelines::EmbedOptions options;
  std::string pool = "mean", rc = "none", window, overlap;
  int layer = 0;
  CLI::Option* layer_opt = nullptr;
};

int run_embed_command(EmbedState& s) {
  finalize_common_options(s.common);
  pipelines::EmbedOptions& o = s.options;
  o.fasta_ref = s.common.fasta_ref;
  if (!s.common.model.empty()) o.model = s.common.model;
  o.output = s.common.output;
  o.regions = s.common.regions;
  o.compute = s.common.compute;
  if (std::string_view(o.output.path).ends_with(".safetensors"))
    o.format = pipelines::EmbeddingFormat::kSafetensors;
  else if (std::string_view(o.output.path).ends_with(".npy"))
    o.format = pipelines::EmbeddingFormat::kNpy;
  else
    fail("invalid -o/--output ", quote_for_message(o.output.path), ": name a .safetensors or .npy file");
  o.pool = parse_choice(s.pool, "--pool",
                        {std::pair{"none", pipelines::Pooling::kNone}, {"mean", pipelines::Pooling::kMean}});
  o.rc = parse_choice(s.rc, "--rc",
                      {std::pair{"none", pipelines::RcMode::kNone}, {"average", pipelines::RcMode::kAverage}});
  if (s.layer_opt->count() > 0) o.layer = s.layer;
  if (!s.window.empty()) {
    o.tiling.window = parse_base_count(s.window, "--window");
    o.tiling.overlap = pipelines::default_overlap(o.tiling.window);
  }
  if (!s.overlap.empty()) o.tiling.overlap = parse_base_count(s.overlap, "--overlap");
  o.validate();
  pipelines::run_embed(o);
  return 0;
}

}  // namespace

Command register_embed(CLI::App& parent, const Invocation& /*invocation*/) {
  auto state = std::make_shared<EmbedState>();
  auto& o = state->options;
  CLI::App* cmd = parent.add_subcommand("embed", "Embeddings of sequences, windows or reads");
  cmd->description(
      cmd->get_description() + "\n\n" +
      "Run the model over every sequence or read and save its hidden states as safetensors: with --pool mean\n"
      "one row per record (a [records, d] matrix, record names in the metadata), with --pool none one [L, d]\n"
      "tensor per record, named by the record. A .npy output holds the --pool mean matrix alone.\n"
      "Records are processed whole (exact for bidirectional models) unless --window tiles them.");
  cmd->add_option("INPUT", o.inputs, "FASTA, FASTQ (plain or gzip), SAM, BAM or CRAM files ('-' = stdin)")
      ->required()
      ->type_name("");
  cmd->add_option("--pool", state->pool, "none: every position, mean: one vector per record (default: mean)")
      ->type_name("none|mean");
  cmd->add_option("--rc", state->rc,
                  "none: forward strand (--pool none --rc none is the model's last_hidden_state), average: mean "
                  "with the reverse complement's (default: none)")
      ->type_name("none|average");
  state->layer_opt = cmd->add_option("--layer", state->layer,
                                     "hidden state N as the reference's output_hidden_states numbers them: 0 = "
                                     "token embeddings, N = output of block N, n_layer = the final normalized "
                                     "one (the default)")
                         ->type_name("N");
  cmd->add_option("--window", state->window, "cut records into tiles of W bases (default: whole records)")
      ->type_name("W");
  cmd->add_option("--overlap", state->overlap,
                  "bases shared by neighbouring tiles; each keeps its centre "
                  "(default: W/4)")
      ->type_name("O");
  cmd->add_option("--batch", o.batch, "records or tiles per forward pass (default: 8)")->type_name("N");
  add_common_options(*cmd, state->common,
                     CommonFlags{.output = true,
                                 .output_kind = pipelines::OutputKind::kBinary,
                                 .output_required = true,
                                 .output_help = "write the embeddings to FILE: .safetensors or .npy",
                                 .threads = true,
                                 .regions = true,
                                 .fasta_ref = true,
                                 .fasta_ref_help = "reference FASTA for CRAM inputs (faidx-indexed)",
                                 .model = true,
                                 .default_model = pipelines::kDefaultEmbedModel,
                                 .device = true});
  cmd->footer(
      "Examples:\n"
      "  strand embed genes.fa -o genes.safetensors\n"
      "  strand embed -r chr1:1-100000 --pool none --window 16k genome.fa -o chr1.safetensors");
  return {cmd, [state] { return run_embed_command(*state); }};
}

}  // namespace strand::apps
