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

// The same rows handed to `consume` in order, a piece at a time (at most piece_rows rows; with
// --window, each tile's kept centre): the host holds a piece, not the record, on a backend with
// its own memory (Backbone::run_in_pieces).
void record_hidden_pieces(model::Backbone& backbone, const std::vector<int32_t>& ids, const TilingOptions& tiling,
                          const model::ForwardOptions& fwd, int64_t piece_rows,
                          const model::Backbone::HiddenPieceFn& consume);

}  // namespace strand::pipelines
