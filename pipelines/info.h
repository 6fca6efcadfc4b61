// `strand info`: what a model is, or which models are shipped.
#pragma once

#include <string>

#include "pipelines/info_options.h"

namespace strand::pipelines {

// Loads and validates the model (every tensor) and prints one "key<TAB>value" line per
// property to stdout; without a model, lists the shipped models. Returns the exit status.
int run_info(const InfoOptions& options);

}  // namespace strand::pipelines
