// The subcommands of strand. Each cmd_<name>.cpp registers one CLI11 subcommand, with its
// options bound to a state that the returned Command's run() turns into the job's options
// struct (pipelines/<job>_options.h), validates and runs.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace CLI {
class App;
}  // namespace CLI

namespace strand::apps {

// What the whole invocation looked like, for provenance lines (##strandCommand).
struct Invocation {
  std::string command_line;
};

struct Command {
  CLI::App* app = nullptr;   // owned by the parent CLI::App
  std::function<int()> run;  // after a successful parse; returns the exit status
};

Command register_annotate(CLI::App& parent, const Invocation& invocation);
Command register_score(CLI::App& parent, const Invocation& invocation);
Command register_generate(CLI::App& parent, const Invocation& invocation);
Command register_loglik(CLI::App& parent, const Invocation& invocation);
Command register_embed(CLI::App& parent, const Invocation& invocation);
Command register_train_head(CLI::App& parent, const Invocation& invocation);
Command register_info(CLI::App& parent, const Invocation& invocation);
Command register_bench(CLI::App& parent, const Invocation& invocation);

// All of the above, in the order --help lists them.
std::vector<Command> register_commands(CLI::App& parent, const Invocation& invocation);

// Joins argv into one line, quoting words that the shell would split.
std::string join_command_line(int argc, const char* const* argv);

}  // namespace strand::apps
