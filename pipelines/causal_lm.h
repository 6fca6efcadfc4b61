// Next-base log-probabilities of a left-to-right model over a record of any length, streamed
// in pieces through Backbone::Stream (memory of one piece, whatever the length): what
// `strand loglik` reports and what `strand generate` writes in its headers.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "model/backbone.h"

namespace strand::pipelines {

// log p(ids[t] | ids[< t]) for t >= 1 (natural log, softmax over the model's whole vocabulary,
// in double), summed; `per_base(t, logp)` (when given) receives each one in order. The first
// base is not scored. `piece_rows`: tokens fed at a time (0: the backend's tile length).
double stream_loglik(model::Backbone& backbone, std::span<const int32_t> ids, int64_t piece_rows,
                     const std::function<void(int64_t, double)>& per_base = {});

}  // namespace strand::pipelines
