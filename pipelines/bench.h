// `strand bench`: how fast this machine runs a model. Times the exact full-length forward pass
// over random DNA at each requested length and prints, per length, nucleotides/s and peak
// memory, next to this machine's measured fp32 GEMM rate and the model's FLOPs per base, so
// that efficiency is a printed ratio.
#pragma once

#include "pipelines/bench_options.h"

namespace strand::pipelines {

void run_bench(const BenchOptions& options);

}  // namespace strand::pipelines
