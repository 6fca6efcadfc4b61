// What -m names: a Hugging Face model folder (config.json + model.safetensors), or the name of
// a model shipped in data/models/ (the environment variable STRAND_MODELS_DIR overrides where
// those live).
#pragma once

#include <string>

#include "model/weights.h"

namespace strand::pipelines {

// Where the shipped models live: $STRAND_MODELS_DIR when set, else the build's default
// (<source>/data/models).
std::string shipped_models_dir();

// A model argument as a folder: an existing folder as given, else a shipped model's name
// looked up in shipped_models_dir(). Throws strand::Error naming it and where it looked.
std::string resolve_model_folder(const std::string& model);

// The weights a job runs: kBenchRandomModel ("random-ps-131k": random weights in the published
// Caduceus-PS 131k shape, built in memory, for benchmarks), kBenchRandomCausalModel
// ("random-mamba-2m", a ~2M-parameter causal LM, likewise), else the folder resolve_model_folder
// finds. Errors name the folder and the file/tensor at fault.
model::ModelWeights load_job_model(const std::string& model);

}  // namespace strand::pipelines
