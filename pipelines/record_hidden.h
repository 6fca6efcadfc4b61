// Final hidden states of one record as the jobs that read whole records need them (embed,
// annotate, train-head): exact (the whole record through every layer) or, with --window, in
// overlapping tiles of which each keeps its centre.
#pragma once

#include <cstdint>
#include <vector>

#include "model/backbone.h"
#include "pipelines/shared_options.h"

namespace strand::pipelines {

// ids [L] → hidden states [L, hidden_width], row-major.
std::vector<float> record_hidden_states(model::Backbone& backbone, const std::vector<int32_t>& ids,
                                        const TilingOptions& tiling, const model::ForwardOptions& fwd);

}  // namespace strand::pipelines
