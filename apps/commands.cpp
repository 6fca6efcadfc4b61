#include "apps/commands.h"

#include "core/log.h"
#include "core/version.h"

namespace strand::apps {

std::vector<Command> register_commands(CLI::App& parent, const Invocation& invocation) {
  return {register_annotate(parent, invocation), register_score(parent, invocation),
          register_generate(parent, invocation), register_loglik(parent, invocation),
          register_embed(parent, invocation),    register_train_head(parent, invocation),
          register_info(parent, invocation),     register_bench(parent, invocation)};
}

std::string join_command_line(int argc, const char* const* argv) {
  std::string line;
  for (int i = 0; i < argc; ++i) {
    const std::string_view word = argv[i];
    if (i > 0) line += ' ';
    const bool plain = !word.empty() && word.find_first_not_of(
                                            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                            "0123456789_-+=/.,:@%") == std::string_view::npos;
    if (plain) {
      line += word;
      continue;
    }
    line += '\'';
    for (char c : word) {
      if (c == '\'')
        line += "'\\''";
      else
        line += c;
    }
    line += '\'';
  }
  return line;
}

}  // namespace strand::apps
