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
    backbone.run(ids, MatF(out.data(), len, width), fwd);  // straight into out: no piece buffer
    return out;
  }
  record_hidden_pieces(backbone, ids, tiling, fwd, len, [&](int64_t row0, kernels::ConstMatF rows) {
    for (int64_t i = 0; i < rows.rows; ++i)
      std::memcpy(out.data() + (row0 + i) * width, rows.row(i), static_cast<size_t>(width) * sizeof(float));
  });
  return out;
}

void record_hidden_pieces(model::Backbone& backbone, const std::vector<int32_t>& ids, const TilingOptions& tiling,
                          const model::ForwardOptions& fwd, int64_t piece_rows,
                          const model::Backbone::HiddenPieceFn& consume) {
  using kernels::MatF;
  const int64_t len = static_cast<int64_t>(ids.size()), width = backbone.hidden_width();
  if (!tiling.enabled() || len <= tiling.window) {
    backbone.run_in_pieces(ids, piece_rows, consume, fwd);
    return;
  }
  const int64_t window = tiling.window, overlap = tiling.overlap, step = window - overlap;
  // The tile from `beg`: its rows [start, end) and the centre it keeps [keep_from, keep_to):
  // overlap/2 dropped at each inner edge (the record's own ends are kept).
  struct Tile {
    int64_t start, end, keep_from, keep_to;
  };
  const auto tile_at = [&](int64_t beg) {
    Tile t;
    t.end = std::min(len, beg + window);
    t.start = std::max<int64_t>(0, t.end - window);  // the last tile ends at the record's end
    t.keep_from = t.start == 0 ? 0 : std::max(beg, t.start + overlap / 2);
    t.keep_to = t.end == len ? len : t.end - (overlap - overlap / 2);
    return t;
  };
  std::vector<float> tile(static_cast<size_t>(window * width));
  for (int64_t beg = 0;; beg += step) {
    const Tile t = tile_at(beg);
    const MatF out(tile.data(), t.end - t.start, width);
    backbone.run(std::span<const int32_t>(ids.data() + t.start, static_cast<size_t>(t.end - t.start)), out, fwd);
    // Where kept centres overlap (the last tile, pulled back to end at the record's end), the
    // later tile's rows are the ones kept.
    const int64_t keep_to = t.end == len ? len : std::min(t.keep_to, tile_at(beg + step).keep_from);
    if (keep_to > t.keep_from) consume(t.keep_from, out.row_slice(t.keep_from - t.start, keep_to - t.keep_from));
    if (t.end == len) break;
  }
}

}  // namespace strand::pipelines
