#include "pipelines/model_resolver.h"

#include <cstdlib>
#include <filesystem>
#include <string_view>

#include "core/error.h"
#include "model/random_model.h"
#include "pipelines/default_models.h"

#ifndef STRAND_MODELS_DIR
#error "STRAND_MODELS_DIR must be defined by the build (pipelines/CMakeLists.txt)"
#endif

namespace strand::pipelines {

namespace fs = std::filesystem;

std::string shipped_models_dir() {
  const char* env = std::getenv("STRAND_MODELS_DIR");
  return env && *env ? std::string(env) : std::string(STRAND_MODELS_DIR);
}

std::string resolve_model_folder(const std::string& model) {
  if (fs::is_directory(model)) return model;
  const bool is_name = model.find('/') == std::string::npos && model != "." && model != "..";
  if (is_name) {
    const fs::path shipped = fs::path(shipped_models_dir()) / model;
    if (fs::is_directory(shipped)) return shipped.string();
    bool known = false;
    for (std::string_view name : kShippedModels) known = known || name == model;
    if (known)
      fail("model '", model, "' is a shipped model that is not installed (looked in ", shipped_models_dir(),
           "; set STRAND_MODELS_DIR, or give a model folder)");
    fail("model '", model, "': no such folder, and not a shipped model name ('strand info' lists them)");
  }
  if (fs::exists(model)) fail(model, ": not a folder (a model is a folder holding config.json and model.safetensors)");
  fail(model, ": no such model folder");
}

model::ModelWeights load_job_model(const std::string& model) {
  if (model == kBenchRandomModel) return model::make_random_model(model::caduceus_ps_131k_config(), 1);
  if (model == kBenchRandomCausalModel) return model::make_random_model(model::mamba_2m_config(), 1);
  return model::load_model(resolve_model_folder(model));
}

}  // namespace strand::pipelines
