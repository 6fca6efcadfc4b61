// `strand loglik`: the log-likelihood of every sequence or read under a left-to-right (causal)
// model, exactly and in O(1) memory per record (the scan state streams across pieces,
// causal_lm.h): TSV on stdout or -o, optionally both strands, and the per-base -log2 p as a
// bigWig/bedGraph track. A TBB pipeline: read → score (parallel, one GPU per record in flight)
// → write, in input order.
#pragma once

#include <cstdint>

#include "pipelines/loglik_options.h"

namespace strand::pipelines {

struct LoglikSummary {
  uint64_t records = 0;
  uint64_t bases = 0;
};

LoglikSummary run_loglik(const LoglikOptions& options);

}  // namespace strand::pipelines
