// `strand bench`: how fast this machine runs a model.
#include <CLI/CLI.hpp>
#include <memory>

#include "apps/commands.h"
#include "apps/common_options.h"
#include "pipelines/bench.h"

namespace strand::apps {
namespace {

struct BenchState {
  CommonOptions common;
  pipelines::BenchOptions options;
  std::string lengths;
};

int run_bench_command(BenchState& s) {
  finalize_common_options(s.common);
  pipelines::BenchOptions& o = s.options;
  if (!s.common.model.empty()) o.model = s.common.model;
  o.output = s.common.output;
  o.compute = s.common.compute;
  if (!s.lengths.empty()) o.lengths = parse_base_count_list(s.lengths, "--lengths");
  pipelines::run_bench(o);
  return 0;
}

}  // namespace

Command register_bench(CLI::App& parent, const Invocation& /*invocation*/) {
  auto state = std::make_shared<BenchState>();
  auto& o = state->options;
  CLI::App* cmd = parent.add_subcommand("bench", "Measure how fast this machine runs a model");
  cmd->description(
      cmd->get_description() + "\n\n" +
      "Time the exact full-length forward pass on random DNA of each --lengths (median of --repeats runs, after\n"
      "one untimed warm-up on up to 16 kb) and write one TSV line per length: seconds, bases per second,\n"
      "microseconds per kb, peak resident memory (and per base), GFLOP/s, and efficiency = achieved FLOP rate /\n"
      "this machine's measured fp32 GEMM rate, counting the model's FLOPs as the reference computes them and as\n"
      "strand executes them. The header lines give the GEMM rate and both FLOP counts per base. The default\n"
      "model is random-ps-131k: random weights in the shape of the published Caduceus-PS 131k checkpoint\n"
      "(d_model 256, 16 layers, d_state 16, expand 2), built in memory.");
  cmd->add_option("--lengths", state->lengths, "comma-separated sequence lengths (default: 10k,100k,1M)")
      ->type_name("LIST");
  cmd->add_option("--repeats", o.repeats, "timed runs per length (default: 3)")->type_name("N");
  cmd->add_option("--batch", o.batch, "sequences per forward pass (default: 1)")->type_name("N");
  cmd->add_option("--tile-rows", o.tile_rows,
                  "rows per tile of the exact pass, 256 or more: fewer hold less memory (down to about 2 x "
                  "sqrt(length), where the per-tile checkpoints take over), at the cost of more launches and a "
                  "longer checkpoint sweep; a record shorter than a tile is one tile (default: 0, the backend's "
                  "choice: on a GPU a record of up to 393,216 is one tile, longer ones the fewest tiles of at most "
                  "that, evened out; "
                  "on the CPU 1,024 to 8,192 by thread count)")
      ->type_name("N");
  cmd->add_option_function<std::string>(
         "--hidden",
         [&o](const std::string& where) {
           if (where != "host" && where != "device")
             throw CLI::ValidationError("--hidden", "'" + where + "': expected host or device");
           o.hidden_on_device = where == "device";
         },
         "where the timed pass leaves the final hidden states: host (copied into host memory, as every "
         "command needs them) or device (left in GPU memory, as the reference's benchmark leaves "
         "last_hidden_state; the same as host on the CPU) (default: host)")
      ->type_name("WHERE");
  add_common_options(*cmd, state->common,
                     CommonFlags{.output = true,
                                 .output_kind = pipelines::OutputKind::kText,
                                 .output_help = "write the TSV to FILE",
                                 .threads = true,
                                 .model = true,
                                 .default_model = pipelines::kDefaultBenchModel,
                                 .device = true});
  cmd->footer(
      "Examples:\n"
      "  strand bench --device cuda --lengths 1M,10M\n"
      "  strand bench --threads 8 -o cpu.tsv");
  return {cmd, [state] { return run_bench_command(*state); }};
}

}  // namespace strand::apps
