#include "pipelines/causal_lm.h"

#include <algorithm>
#include <vector>

#include "core/error.h"
#include "pipelines/window_scorer.h"

namespace strand::pipelines {

double stream_loglik(model::Backbone& backbone, std::span<const int32_t> ids, int64_t piece_rows,
                     const std::function<void(int64_t, double)>& per_base) {
  const auto len = static_cast<int64_t>(ids.size());
  if (len < 2) return 0.0;
  const int64_t piece = piece_rows > 0 ? piece_rows : std::max<int64_t>(1, backbone.default_tile_rows());
  const int64_t vocab = backbone.vocab_size();
  model::Backbone::Stream stream(backbone, 1);
  std::vector<float> logits;
  // Position t is predicted by row t - 1: the last row of a piece predicts the next piece's first.
  std::vector<float> carried(static_cast<size_t>(vocab));
  double sum = 0.0;
  for (int64_t p0 = 0; p0 < len; p0 += piece) {
    const int64_t n = std::min(piece, len - p0);
    logits.resize(static_cast<size_t>(n * vocab));
    stream.feed_logits(ids.subspan(static_cast<size_t>(p0), static_cast<size_t>(n)), n,
                       kernels::MatF(logits.data(), n, vocab));
    for (int64_t i = 0; i < n; ++i) {
      const int64_t t = p0 + i;
      if (t == 0) continue;
      const float* row = i == 0 ? carried.data() : logits.data() + (i - 1) * vocab;
      const double lp = log_softmax_at(std::span<const float>(row, static_cast<size_t>(vocab)),
                                       static_cast<size_t>(ids[static_cast<size_t>(t)]));
      sum += lp;
      if (per_base) per_base(t, lp);
    }
    std::copy_n(logits.data() + (n - 1) * vocab, vocab, carried.data());
  }
  return sum;
}

}  // namespace strand::pipelines
