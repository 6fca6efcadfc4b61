// `strand info`: one "key<TAB>value" line per property, so that scripts can `cut -f2` and
// humans can `column -t -s$'\t'`. Loading the model in full (not just its header) is the
// point: info doubles as the check that a downloaded checkpoint is complete and consistent.
#include "pipelines/info.h"
#include "pipelines/model_resolver.h"

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>

#include "core/error.h"
#include "model/safetensors.h"
#include "model/weights.h"
#include "pipelines/default_models.h"


namespace strand::pipelines {
namespace {

namespace fs = std::filesystem;

const char* yes_no(bool b) {
  return b ? "yes" : "no";
}

std::string human_bytes(uint64_t n) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int unit = 0;
  while (v >= 1024 && unit < 4) v /= 1024, ++unit;
  std::ostringstream os;
  os.precision(unit == 0 ? 0 : 1);
  os << std::fixed << v << ' ' << kUnits[unit];
  return unit == 0 ? os.str() : cat(n, " (", os.str(), ")");
}

// Which jobs use `name` as their default model.
std::string default_for(std::string_view name) {
  const std::pair<std::string_view, std::string_view> jobs[] = {
      {"annotate", kDefaultAnnotateModel}, {"score", kDefaultScoreModel}, {"generate", kDefaultGenerateModel},
      {"loglik", kDefaultLoglikModel},     {"embed", kDefaultEmbedModel}, {"bench", kDefaultBenchModel}};
  std::string out;
  for (const auto& [job, model] : jobs)
    if (model == name) out += cat(out.empty() ? "" : ",", job);
  return out.empty() ? "-" : out;
}

int list_shipped_models() {
  const std::string dir = shipped_models_dir();
  std::ostream& out = std::cout;
  int installed = 0;
  for (std::string_view name : kShippedModels) {
    const fs::path folder = fs::path(dir) / name;
    const bool present = fs::exists(folder / "config.json") && fs::exists(folder / "model.safetensors");
    installed += present;
    out << "model\t" << name << '\t' << (present ? "installed" : "not installed") << "\tdefault for "
        << default_for(name) << '\n';
  }
  out << "models_dir\t" << dir << '\n';
  if (installed == 0)
    out << "note\tno shipped model is installed in " << dir
        << " yet; give a Hugging Face model folder (config.json + model.safetensors) instead\n";
  out.flush();
  return 0;
}

std::string dtype_summary(const model::SafetensorsFile& file) {
  std::map<std::string, int> counts;
  for (const auto& t : file.tensors()) ++counts[model::to_string(t.dtype)];
  std::string out;
  for (const auto& [dtype, n] : counts) out += cat(out.empty() ? "" : ", ", dtype, " (", n, " tensors)");
  return out.empty() ? "none" : out;
}

}  // namespace

int run_info(const InfoOptions& options) {
  if (options.model.empty()) return list_shipped_models();
  const std::string folder = resolve_model_folder(options.model);
  const model::ModelWeights w = model::load_model(folder);
  const model::ModelConfig& c = w.config;
  const model::SafetensorsFile file((fs::path(folder) / "model.safetensors").string());

  std::ostringstream out;
  const auto line = [&](std::string_view key, const auto& value) { out << key << '\t' << value << '\n'; };
  line("model", folder);
  line("architecture",
       cat(model::to_string(c.arch),
           c.arch == model::Architecture::kCaduceus ? (c.rcps ? " (PS, RC-equivariant)" : " (PH)") : " (causal)"));
  line("config", c.source);
  line("parameters", w.parameter_count());
  line("n_layer", c.n_layer);
  line("d_model", c.d_model);
  line("hidden_width", c.hidden_width());
  line("d_inner", c.mixer.d_inner());
  line("d_state", c.mixer.d_state);
  line("d_conv", c.mixer.d_conv);
  line("expand", c.mixer.expand);
  line("dt_rank", c.mixer.dt_rank);
  line("vocab_size", c.vocab_size);
  if (c.arch == model::Architecture::kCaduceus) {
    line("rcps", yes_no(c.rcps));
    line("bidirectional", yes_no(c.bidirectional));
    if (c.bidirectional) {
      line("bidirectional_strategy", model::to_string(c.strategy));
      line("bidirectional_weight_tie", yes_no(c.bidirectional_weight_tie));
    }
  }
  line("fused_add_norm", yes_no(c.fused_add_norm));
  line("residual_in_fp32", yes_no(c.residual_in_fp32));
  line("norm", cat("RMSNorm (eps ", c.norm_epsilon, ")"));
  line("conv_bias", yes_no(c.mixer.conv_bias));
  line("proj_bias", yes_no(c.mixer.bias));
  line("tied_lm_head", yes_no(c.tie_word_embeddings));
  line("context", "unbounded (recurrent)");
  if (c.training_length > 0) line("training_length", c.training_length);
  line("tensors", file.tensors().size());
  line("dtype", dtype_summary(file));
  line("file", file.path());
  line("file_size", human_bytes(file.file_size()));
  line("sha256", w.checksum);
  std::cout << out.str();
  std::cout.flush();
  return 0;
}

}  // namespace strand::pipelines
