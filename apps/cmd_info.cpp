// `strand info`: what a model is, or which models are shipped.
#include <CLI/CLI.hpp>
#include <memory>

#include "apps/commands.h"
#include "apps/common_options.h"
#include "pipelines/info.h"
#include "pipelines/info_options.h"

namespace strand::apps {
namespace {

struct InfoState {
  CommonOptions common;
  pipelines::InfoOptions options;
  std::string positional;
};

int run_info_command(InfoState& s) {
  finalize_common_options(s.common);
  if (!s.positional.empty() && !s.common.model.empty())
    fail("give the model either as MODEL or with -m/--model, not both");
  s.options.model = s.positional.empty() ? s.common.model : s.positional;
  s.options.validate();
  return pipelines::run_info(s.options);
}

}  // namespace

Command register_info(CLI::App& parent, const Invocation& /*invocation*/) {
  auto state = std::make_shared<InfoState>();
  CLI::App* cmd = parent.add_subcommand("info", "Describe a model, or list the shipped models");
  cmd->description(
      cmd->get_description() + "\n\n" +
      "Print what a model is: architecture (Caduceus PH/PS, Mamba), sizes, vocabulary, default window, heads,\n"
      "tensors, precision and checksum. Without a model, list the shipped models and the job each is the\n"
      "default for.\n\n"
      "Output (stdout): one 'key<TAB>value' line per property (model, architecture, parameters, n_layer, d_model,\n"
      "hidden_width, d_inner, d_state, d_conv, expand, dt_rank, vocab_size, the config switches, context, dtype,\n"
      "file_size, sha256, ...), for scripts (cut -f2) and people (column -t -s $'\\t'). The whole checkpoint is\n"
      "loaded and checked, so info also tells whether a model folder is complete. Shipped models are looked up in\n"
      "$STRAND_MODELS_DIR (default: the data/models folder of the source tree).");
  cmd->add_option("MODEL", state->positional, "a model folder or a shipped model's name (same as -m)")->type_name("");
  add_common_options(*cmd, state->common,
                     CommonFlags{.model = true,
                                 .model_help = "a model folder (config.json + model.safetensors) or a shipped "
                                               "model's name (default: list the shipped models)"});
  cmd->footer(
      "Examples:\n"
      "  strand info\n"
      "  strand info path/to/caduceus-ps_seqlen-131k");
  return {cmd, [state] { return run_info_command(*state); }};
}

}  // namespace strand::apps
