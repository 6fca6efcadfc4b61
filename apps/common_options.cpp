#include "apps/common_options.h"

#include <htslib/hts_log.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <cmath>
#include <string>

#include "core/log.h"
#include "core/text.h"
#include "kernels/device.h"

namespace strand::apps {
namespace {

using pipelines::OutputKind;
using pipelines::OutputType;

// -v/-q: strand's own level and HTSlib's, which otherwise prints its warnings unasked.
void apply_verbosity(const CommonOptions& o) {
  if (o.quiet && o.verbose > 0) fail("-q/--quiet and -v/--verbose cannot be used together");
  if (o.quiet) {
    set_log_level(LogLevel::kError);
    hts_set_log_level(HTS_LOG_ERROR);
  } else if (o.verbose == 0) {
    set_log_level(LogLevel::kInfo);
    hts_set_log_level(HTS_LOG_WARNING);
  } else {
    set_log_level(LogLevel::kDebug);
    hts_set_log_level(o.verbose == 1 ? HTS_LOG_INFO : HTS_LOG_DEBUG);
  }
}

OutputType output_type_from_letter(std::string_view text, OutputKind kind) {
  const bool vcf = kind == OutputKind::kVcf;
  if (text == "v") return OutputType::kPlain;
  if (text == "z") return OutputType::kBgzf;
  if (vcf && text == "b") return OutputType::kBcf;
  if (vcf && text == "u") return OutputType::kBcfUncompressed;
  fail("invalid -O/--output-type '", text, "': expected ", vcf ? "v, z, b or u" : "v or z",
       vcf ? " (v: VCF, z: bgzipped VCF, b: BCF, u: uncompressed BCF)" : " (v: plain text, z: bgzip-compressed)");
}

// bcftools writes what -O says whatever the name; so do we, with a warning when the name
// suggests something else (a .vcf.gz that is not compressed would puzzle every reader).
void warn_on_name_mismatch(const CommonOptions& o) {
  const auto& out = o.output;
  if (out.is_stdout()) return;
  const OutputType guessed = guess_output_type(out.path, o.flags.output_kind);
  const bool name_says_bcf = guessed == OutputType::kBcf;
  const bool name_says_gz = guessed == OutputType::kBgzf;
  const bool is_bcf = out.type == OutputType::kBcf || out.type == OutputType::kBcfUncompressed;
  const bool is_gz = out.type == OutputType::kBgzf;
  if (name_says_bcf != is_bcf || (name_says_gz && !is_gz)) {
    const bool vcf = o.flags.output_kind == OutputKind::kVcf;
    const char* what = is_bcf  ? "BCF"
                       : is_gz ? (vcf ? "bgzipped VCF" : "bgzip-compressed text")
                               : (vcf ? "uncompressed VCF" : "uncompressed text");
    log_warning(o.command, "-O ", pipelines::output_type_letter(out.type), " writes ", what, " but the output name '",
                out.path, "' suggests otherwise");
  }
}

}  // namespace

OutputType guess_output_type(std::string_view path, OutputKind kind) {
  if (kind == OutputKind::kVcf && path.ends_with(".bcf")) return OutputType::kBcf;
  if (path.ends_with(".gz") || path.ends_with(".bgz")) return OutputType::kBgzf;
  return OutputType::kPlain;
}

int64_t parse_base_count(std::string_view text, std::string_view option) {
  const std::string_view original = text;
  text = trim(text);
  double multiplier = 1;
  if (!text.empty()) {
    switch (text.back()) {
      case 'k':
      case 'K': multiplier = 1e3; break;
      case 'm':
      case 'M': multiplier = 1e6; break;
      case 'g':
      case 'G': multiplier = 1e9; break;
      default: break;
    }
    if (multiplier != 1) text.remove_suffix(1);
  }
  const auto bad = [&]() {
    fail("invalid ", option, " ", quote_for_message(original),
         ": expected a number of bases such as 1000, 10k or 1.5M");
  };
  if (text.empty()) bad();
  if (multiplier == 1 && text.find_first_of(".eE") == std::string_view::npos) {
    try {
      return parse_int64(text, option, /*allow_commas=*/true);
    } catch (const Error&) {
      bad();
    }
  }
  double value = 0;
  try {
    value = parse_double(text, option) * multiplier;
  } catch (const Error&) {
    bad();
  }
  if (!std::isfinite(value) || std::fabs(value) > 9e18) bad();
  if (value != std::floor(value))
    fail("invalid ", option, " ", quote_for_message(original), ": not a whole number of bases");
  return static_cast<int64_t>(value);
}

std::vector<int64_t> parse_base_count_list(std::string_view text, std::string_view option) {
  std::vector<int64_t> values;
  for (std::string_view part : split(text, ',')) values.push_back(parse_base_count(part, option));
  return values;
}

uint64_t parse_uint64(std::string_view text, std::string_view option) {
  const std::string_view t = trim(text);
  uint64_t value = 0;
  const auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), value);
  if (t.empty() || ec != std::errc() || ptr != t.data() + t.size())
    fail("invalid ", option, " ", quote_for_message(text), ": expected an integer from 0 to 18446744073709551615");
  return value;
}

void add_common_options(CLI::App& cmd, CommonOptions& o, const CommonFlags& flags) {
  o.command = cmd.get_name();
  o.flags = flags;
  const auto common = [](CLI::Option* opt) { return opt->group(kCommonGroup); };

  if (flags.output) {
    const std::string what = flags.output_help ? flags.output_help : "write the output to FILE";
    auto* opt = common(cmd.add_option("-o,--output", o.output.path,
                                      flags.output_required ? what : what + " ('-' = stdout; default: -)"))
                    ->type_name("FILE");
    if (flags.output_required) opt->required();
    if (flags.output_kind == OutputKind::kVcf) {
      o.raw.output_type_opt =
          common(cmd.add_option("-O,--output-type", o.raw.output_type,
                                "v: VCF, z: bgzipped VCF, b: BCF, u: uncompressed BCF (default: from the -o name: "
                                ".bcf b, .gz z, else v)"))
              ->type_name("v|z|b|u");
    } else if (flags.output_kind == OutputKind::kText) {
      o.raw.output_type_opt = common(cmd.add_option("-O,--output-type", o.raw.output_type,
                                                    "v: plain text, z: bgzip-compressed (default: z if the -o name "
                                                    "ends in .gz or .bgz, else v)"))
                                  ->type_name("v|z");
    }
  }
  if (flags.write_index) {
    // An optional value: "-W", "-Wtbi" or "--write-index=tbi" (never the next word when a
    // required input is still missing, so "-W in.vcf.gz" reads the input).
    o.raw.write_index_opt = common(cmd.add_option("-W,--write-index", o.raw.write_index,
                                                  "index the output: csi (default) or tbi (-O z only); needs a "
                                                  "compressed output file (-O z|b)"))
                                ->expected(0, 1)
                                ->type_name("[=csi|tbi]");
  }
  if (flags.regions) {
    o.raw.regions_opt = common(cmd.add_option("-r,--regions", o.raw.regions,
                                              "only these regions: comma-separated chr, chr:beg, chr:beg-end (1-based, "
                                              "inclusive); needs indexed inputs"))
                            ->type_name("REG");
    o.raw.regions_file_opt = common(cmd.add_option("-R,--regions-file", o.raw.regions_file,
                                                   "only the regions in FILE: BED (0-based) if named .bed[.gz], else "
                                                   "'chr beg end' columns (1-based, inclusive)"))
                                 ->type_name("FILE");
  }
  if (flags.fasta_ref) {
    auto* opt = common(cmd.add_option("-f,--fasta-ref", o.fasta_ref,
                                      flags.fasta_ref_help ? flags.fasta_ref_help
                                                           : "reference FASTA (plain or bgzip, faidx-indexed)"))
                    ->type_name("FILE");
    if (flags.fasta_ref_required) opt->required();
  }
  if (flags.model) {
    const std::string help =
        flags.model_help ? std::string(flags.model_help)
        : flags.model_required
            ? std::string("model: a Hugging Face folder (config.json + model.safetensors) or a shipped model's name")
            : cat("model: a Hugging Face folder (config.json + model.safetensors) or a shipped model's name "
                  "(default: ",
                  flags.default_model, "; see 'strand info')");
    auto* opt = common(cmd.add_option("-m,--model", o.model, help))->type_name("MODEL");
    if (flags.model_required) opt->required();
  }
  if (flags.threads)
    common(cmd.add_option("--threads", o.compute.threads, "worker threads (0 = all cores; default: 0)"))
        ->type_name("N");
  if (flags.device)
    common(cmd.add_option("--device", o.raw.device,
                          "where the model runs: cpu, cuda (= cuda:0), cuda:N, or several GPUs cuda:0,cuda:1 "
                          "(default: cpu)"))
        ->type_name("DEV");
  if (flags.device)
    common(cmd.add_option("--precision", o.raw.precision,
                          "GPU matrix products: fp32 (exact, default), tf32x3 (as exact, on tensor cores: each "
                          "operand split in two TF32 parts), tf32 or bf16 (tensor cores, fp32 sums; about 1e-3 / "
                          "1e-2 relative)"))
        ->type_name("P");
  if (flags.seed)
    common(cmd.add_option("--seed", o.raw.seed,
                          flags.seed_help ? flags.seed_help : "random seed (default: drawn at random and logged)"))
        ->type_name("S");
  common(cmd.add_flag("-v,--verbose", o.verbose, "more messages on stderr (repeat for debug output)"));
  common(cmd.add_flag("-q,--quiet", o.quiet, "errors only on stderr"));
}

void finalize_common_options(CommonOptions& o) {
  apply_verbosity(o);
  const CommonFlags& flags = o.flags;

  if (flags.output && flags.output_kind != OutputKind::kBinary) {
    if (o.raw.output_type_opt != nullptr && o.raw.output_type_opt->count() > 0) {
      o.output.type = output_type_from_letter(o.raw.output_type, flags.output_kind);
      warn_on_name_mismatch(o);
    } else {
      o.output.type = guess_output_type(o.output.path, flags.output_kind);
    }
  }
  if (o.raw.write_index_opt != nullptr && o.raw.write_index_opt->count() > 0) {
    if (o.raw.write_index.empty()) o.raw.write_index = "csi";  // plain -W
    o.output.index = parse_choice(o.raw.write_index, "-W/--write-index",
                                  {std::pair{"csi", genomics::IndexKind::kCsi}, {"tbi", genomics::IndexKind::kTbi}});
  }

  const bool have_r = o.raw.regions_opt != nullptr && o.raw.regions_opt->count() > 0;
  const bool have_big_r = o.raw.regions_file_opt != nullptr && o.raw.regions_file_opt->count() > 0;
  if (have_r && have_big_r) fail("-r/--regions and -R/--regions-file cannot be used together");
  // The region parser's messages quote the text; the prefix says which option it came from.
  try {
    if (have_r) o.regions = genomics::parse_region_list(o.raw.regions);
    if (have_big_r) o.regions = genomics::read_region_file(o.raw.regions_file);
  } catch (const Error& e) {
    fail(have_r ? "-r/--regions: " : "-R/--regions-file: ", e.what());
  }
  if (have_r && o.regions.empty()) fail("invalid -r/--regions ", quote_for_message(o.raw.regions), ": no region given");
  if (have_big_r && o.regions.empty()) fail("-R/--regions-file ", o.raw.regions_file, ": the file lists no region");

  if (flags.device) {
    o.compute.device = kernels::parse_device_spec(o.raw.device);
    kernels::check_device_available(o.compute.device);
    o.compute.precision = kernels::parse_gemm_precision(o.raw.precision);
  }
  if (!o.raw.seed.empty()) o.seed = parse_uint64(o.raw.seed, "--seed");
}

}  // namespace strand::apps
