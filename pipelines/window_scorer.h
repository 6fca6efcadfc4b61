// Model inputs of variant scoring: short windows run through a Backbone in batches of equal
// length, and what scoring reads from each (DESIGN.md, "Variant scoring rules"): the four
// nucleotide log-probabilities at a masked position, the next-token log-likelihood of the
// whole window, and mean-pooled final hidden states.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "model/backbone.h"

namespace strand::pipelines {

// What one window is run for; any combination.
struct WindowRequest {
  std::vector<int32_t> ids;
  int64_t masked_row = -1;  // >= 0: log-softmax over the A, C, G, T logits at this row
  bool loglik = false;      // sum over t >= 1 of log p(ids[t] | ids[< t]) (full-vocabulary log-softmax)
  bool features = false;    // mean over rows of the final hidden states (PS: the two strand halves averaged)
};

struct WindowOutput {
  std::array<double, 4> nucleotide_logp{};  // A, C, G, T
  double loglik = 0;
  // [hidden_width] (PS: [d_model], row i contributing (h[i, c] + h[i, 2d - 1 - c]) / 2, which
  // is the same for a window and its reverse complement)
  std::vector<double> features;
};

// Runs every request (windows of one length `batch` at a time, in the order of first
// appearance of each length) and returns one output per request. Each window's result is
// independent of the others in its batch (Backbone::run_batch), so of `batch` too.
std::vector<WindowOutput> run_windows(model::Backbone& backbone, std::span<const WindowRequest> requests, int batch);

// log-softmax of `values` at `index`, in double (what every log-probability strand reports
// goes through).
double log_softmax_at(std::span<const float> values, size_t index);

// 1 - cos(a, b), computed as ||a/|a| - b/|b|||^2 / 2 (no cancellation for near-equal
// vectors); NaN when either is zero.
double cosine_distance(std::span<const double> a, std::span<const double> b);

}  // namespace strand::pipelines
