// strand: DNA language models over genomic files. main() registers the subcommands, parses,
// runs the chosen one, and is the only place that catches: every error becomes one
// "[E::strand] ..." line on stderr and exit status 1, with nothing on stdout.
#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>
#include <memory>
#include <new>
#include <string>

#include "apps/commands.h"
#include "apps/help_formatter.h"
#include "apps/version_text.h"
#include "core/error.h"
#include "core/output_file.h"

namespace {

constexpr const char* kFooter =
    "Conventions (as in bcftools/samtools): '-' is stdin/stdout; -O v|z|b|u output type (guessed from the -o\n"
    "name); -r chr:beg-end (1-based) or -R file (BED, 0-based); --device cpu|cuda[:N]; logs go to stderr.\n"
    "Exit status: 0 success, 1 error.\n"
    "Run 'strand COMMAND --help' for a command's options.";

// The subcommand the error happened in, for the "see --help" hint.
std::string failing_command(const CLI::App& app) {
  for (const CLI::App* sub : app.get_subcommands()) return sub->get_name();
  return {};
}

void print_error(const std::string& message) {
  std::cout.flush();
  std::cerr << "[E::strand] " << message << std::endl;
}

}  // namespace

int main(int argc, char** argv) {
  strand::install_output_cleanup_handlers();

  CLI::App app{"strand: DNA language models (Caduceus, Mamba) over genomic files", "strand"};
  app.require_subcommand(0, 1);
  app.set_version_flag(
      "--version", [] { return strand::apps::version_text(); }, "print versions and devices, then exit");
  app.footer(kFooter);
  app.formatter(std::make_shared<strand::apps::HelpFormatter>());  // before the subcommands: they inherit it
  const strand::apps::Invocation invocation{strand::apps::join_command_line(argc, argv)};
  std::vector<strand::apps::Command> commands;

  try {
    commands = strand::apps::register_commands(app, invocation);
    app.parse(argc, argv);
    for (const auto& command : commands)
      if (command.app->parsed()) return command.run();
    // samtools style: no command is a usage error.
    std::cerr << app.help();
    return 1;
  } catch (const CLI::Success& e) {  // --help, --version: the text on stdout, status 0
    return app.exit(e, std::cout, std::cerr);
  } catch (const CLI::ParseError& e) {
    const std::string command = failing_command(app);
    // CLI11 calls an unknown command an unexpected argument; say what the user meant.
    if (command.empty() && dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr && argc > 1 && argv[1][0] != '-') {
      print_error(std::string("unknown command '") + argv[1] + "' (see 'strand --help')");
      return 1;
    }
    print_error(std::string(e.what()) + " (see 'strand " + (command.empty() ? "" : command + " ") + "--help')");
    return 1;
  } catch (const strand::Error& e) {
    print_error(e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    print_error("out of memory");
    return 1;
  } catch (const std::exception& e) {
    print_error(std::string("internal error: ") + e.what());
    return 1;
  }
}
