// What -m names: a Hugging Face model folder (config.json + model.safetensors), or the name of
// a model shipped in data/models/ (the environment variable STRAND_MODELS_DIR overrides where
// those live).
#pragma once

#include <string>

namespace strand::pipelines {

// Where the shipped models live: $STRAND_MODELS_DIR when set, else the build's default
// (<source>/data/models).
std::string shipped_models_dir();

// A model argument as a folder: an existing folder as given, else a shipped model's name
// looked up in shipped_models_dir(). Throws strand::Error naming it and where it looked.
std::string resolve_model_folder(const std::string& model);

}  // namespace strand::pipelines
