#include "pipelines/record_hidden.h"

#include <algorithm>
#include <cstring>
#include <span>

namespace strand::pipelines {

std::vector<float> record_hidden_states(model::Backbone& backbone, const std::vector<int32_t>& ids,
                                        const TilingOptions& tiling, const model::ForwardOptions& fwd) {
  using kernels::MatF;
  const int64_t len = static_cast<int64_t>(ids.size()), width = backbone.hidden_width();
  std::vector<float> out(static_cast<size_t>(len * width));
  if (!tiling.enabled() || len <= tiling.window) {
    backbone.run(ids, MatF(out.data(), len, width), fwd);
    return out;
  }
  const int64_t window = tiling.window, overlap = tiling.overlap, step = window - overlap;
  std::vector<float> tile(static_cast<size_t>(window * width));
  for (int64_t beg = 0;; beg += step) {
    const int64_t end = std::min(len, beg + window);
    const int64_t start = std::max<int64_t>(0, end - window);  // the last tile ends at the record's end
    const int64_t rows = end - start;
    backbone.run(std::span<const int32_t>(ids.data() + start, static_cast<size_t>(rows)),
                 MatF(tile.data(), rows, width), fwd);
    // Keep the centre: drop overlap/2 at each inner edge (the record's own ends are kept).
    const int64_t keep_from = start == 0 ? 0 : std::max(beg, start + overlap / 2);
    const int64_t keep_to = end == len ? len : end - (overlap - overlap / 2);
    for (int64_t i = keep_from; i < keep_to; ++i)
      std::memcpy(out.data() + i * width, tile.data() + (i - start) * width, static_cast<size_t>(width) * sizeof(float));
    if (end == len) break;
  }
  return out;
}

}  // namespace strand::pipelines
