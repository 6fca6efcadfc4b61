// The options that several subcommands share (-o -O -W --threads -r -R -f -m --device --seed
// -v -q), registered by one function with flags saying which ones a subcommand takes, and
// turned into typed values once, after parsing, by finalize_common_options().
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"
#include "genomics/region.h"
#include "pipelines/shared_options.h"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace strand::apps {

// Which common options a subcommand registers. Designated initializers keep call sites
// readable: CommonFlags{.output = true, .regions = true, ...}.
struct CommonFlags {
  bool output = false;  // -o/--output, and -O/--output-type unless output_kind is kBinary
  pipelines::OutputKind output_kind = pipelines::OutputKind::kText;
  bool output_required = false;       // -o must be given (binary outputs: there is no stdout default)
  const char* output_help = nullptr;  // what -o writes; a generic text when null
  bool write_index = false;           // -W/--write-index (VCF outputs)
  bool threads = false;
  bool regions = false;  // -r/--regions and -R/--regions-file
  bool fasta_ref = false;
  bool fasta_ref_required = false;
  const char* fasta_ref_help = nullptr;
  bool model = false;
  bool model_required = false;
  const char* model_help = nullptr;     // replaces the generic -m text
  std::string_view default_model = {};  // shown in the help; the job struct holds the value
  bool device = false;
  bool seed = false;
  const char* seed_help = nullptr;
};

// Typed values (after finalize_common_options) plus the raw command-line text behind them.
struct CommonOptions {
  std::string command;  // the subcommand's name, for messages
  CommonFlags flags;

  pipelines::OutputOptions output;
  std::vector<genomics::Region> regions;  // empty = no -r/-R
  std::string fasta_ref;
  std::string model;  // as given; empty when -m was not given
  pipelines::ComputeOptions compute;
  std::optional<uint64_t> seed;
  int verbose = 0;  // number of -v
  bool quiet = false;

  struct Raw {
    std::string output_type, write_index, regions, regions_file, device = "cpu", precision = "fp32", seed;
    CLI::Option* output_type_opt = nullptr;
    CLI::Option* write_index_opt = nullptr;
    CLI::Option* regions_opt = nullptr;
    CLI::Option* regions_file_opt = nullptr;
  } raw;
};

// Registers on `cmd` the common options that `flags` selects, bound to `options`.
void add_common_options(CLI::App& cmd, CommonOptions& options, const CommonFlags& flags);

// Converts and checks what add_common_options() bound, once parsing succeeded: log levels,
// -O (or the guess from the -o name), -W, -r/-R, --device (parsed and checked against this
// machine), --seed. Throws strand::Error naming the option and the bad value.
void finalize_common_options(CommonOptions& options);

// The -O type implied by an output name: .bcf → b (VCF outputs), .gz/.bgz → z, else v.
pipelines::OutputType guess_output_type(std::string_view path, pipelines::OutputKind kind);

// A count of bases: "1000", "1,000", "10k", "1.5M", "2G" (decimal multipliers). Throws
// strand::Error naming `option` when the text is not one.
int64_t parse_base_count(std::string_view text, std::string_view option);
// A comma-separated list of base counts ("10k,100k,1M").
std::vector<int64_t> parse_base_count_list(std::string_view text, std::string_view option);
// An unsigned 64-bit integer (a seed).
uint64_t parse_uint64(std::string_view text, std::string_view option);

// Maps a keyword option (--pool none|mean) to its enum; the error lists the choices.
template <typename Enum>
Enum parse_choice(std::string_view text, std::string_view option,
                  std::initializer_list<std::pair<const char*, Enum>> choices) {
  std::string expected;
  for (const auto& [name, value] : choices) {
    if (text == std::string_view(name)) return value;
    expected += cat(expected.empty() ? "" : "|", name);
  }
  fail("invalid ", option, " '", text, "': expected ", expected);
}

// Group names in the --help output: the subcommand's own options first, then the shared ones.
inline constexpr const char* kCommonGroup = "Common options";

}  // namespace strand::apps
