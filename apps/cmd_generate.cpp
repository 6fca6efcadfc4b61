// `strand generate`: sample DNA from a causal model (FASTA out).
#include <CLI/CLI.hpp>
#include <cctype>
#include <memory>

#include "apps/commands.h"
#include "apps/common_options.h"
#include "pipelines/generate.h"
#include "pipelines/generate_options.h"

namespace strand::apps {
namespace {

struct GenerateState {
  CommonOptions common;
  pipelines::GenerateOptions options;
  std::string length;
};

int run_generate_command(GenerateState& s) {
  finalize_common_options(s.common);
  pipelines::GenerateOptions& o = s.options;
  if (!s.common.model.empty()) o.model = s.common.model;
  o.output = s.common.output;
  o.compute = s.common.compute;
  o.seed = s.common.seed;
  if (!s.length.empty()) o.length = parse_base_count(s.length, "--length");
  // Prompts are DNA as users paste it: lower case is the same sequence.
  for (char& c : o.prompt) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  pipelines::run_generate(o);
  return 0;
}

}  // namespace

Command register_generate(CLI::App& parent, const Invocation& /*invocation*/) {
  auto state = std::make_shared<GenerateState>();
  auto& o = state->options;
  CLI::App* cmd = parent.add_subcommand("generate", "Generate DNA sequences with a causal language model");
  cmd->description(
      cmd->get_description() + "\n\n" +
      "Sample DNA sequences from a causal (Mamba) language model, unconditionally or continuing a prompt, and\n"
      "write them as FASTA (60 columns). Each header records the prompt, the sampling parameters, the seed and\n"
      "the mean log-probability of the generated bases. The same --seed gives the same sequences.");
  cmd->add_option("--prompt", o.prompt, "continue this DNA sequence (A, C, G, T, N; any case)")->type_name("SEQ");
  cmd->add_option("--prompt-fasta", o.prompt_fasta, "continue each record of this FASTA/FASTQ file")->type_name("FILE");
  cmd->add_option("-n,--num-samples", o.num_samples, "sequences per prompt (default: 1)")->type_name("N");
  cmd->add_option("--length", state->length, "bases to generate per sequence, prompt excluded (default: 1000)")
      ->type_name("N");
  cmd->add_option("--temperature", o.sampling.temperature,
                  "divide the logits by T: < 1 sharper, > 1 flatter (default: 1)")
      ->type_name("T");
  cmd->add_option("--top-k", o.sampling.top_k, "sample among the K most likely bases only (default: 0 = all)")
      ->type_name("K");
  cmd->add_option("--top-p", o.sampling.top_p,
                  "sample from the smallest set of bases with probability mass >= P, in (0,1] (default: 1)")
      ->type_name("P");
  cmd->add_option("--batch", o.batch, "sequences decoded together (default: 16)")->type_name("N");
  add_common_options(*cmd, state->common,
                     CommonFlags{.output = true,
                                 .output_kind = pipelines::OutputKind::kText,
                                 .output_help = "write the FASTA to FILE",
                                 .threads = true,
                                 .model = true,
                                 .default_model = pipelines::kDefaultGenerateModel,
                                 .device = true,
                                 .seed = true,
                                 .seed_help = "random seed (default: drawn at random; written in the headers)"});
  cmd->footer(
      "Examples:\n"
      "  strand generate -n 10 --length 5k --temperature 0.8 --seed 1 -o samples.fa\n"
      "  strand generate --prompt ATGAAACGC --top-k 3 --device cuda");
  return {cmd, [state] { return run_generate_command(*state); }};
}

}  // namespace strand::apps
