// `strand embed`: hidden states of sequences, regions or reads, as safetensors (one [L, d]
// tensor per record with --pool none; one [records, d] matrix "embeddings" with --pool mean,
// names in the metadata) or a .npy matrix (--pool mean). Exact full-length by default
// (every layer sees the whole record); --window/--overlap tiles long records and keeps each
// tile's centre. A TBB pipeline: read → embed (parallel) → write, output in input order.
#pragma once

#include "pipelines/embed_options.h"

namespace strand::pipelines {

void run_embed(const EmbedOptions& options);

}  // namespace strand::pipelines
