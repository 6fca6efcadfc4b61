// The forward pass, written once against kernels::Backend for every architecture strand loads:
// Caduceus PH and PS (bidirectional or not, add / ew_multiply, tied or untied) and causal Mamba.
//
// Exact on any length: a record runs layer by layer over its full length, each mixer
// direction in tiles that carry the conv and scan state (forward tiles left to right, reverse
// tiles right to left), so every layer sees the whole record and the result does not depend
// on the tile size. Memory: the residual stream R [L, W] plus the caller's output buffer,
// which doubles as the mixer-output stream H [L, W], plus a tile of workspace per strand
// half — about
// 2 * 4 * W bytes per base (W = hidden width). Nothing but R and H is kept across tiles: the
// normalised mixer input and in_proj are recomputed per direction.
//
// RC-equivariant (PS) models without flips: the reverse-complement half of RCPSWrapper is the
// same bidirectional mixer run with its directions swapped and with in_proj's columns and
// out_proj's rows reversed (prepared once); RCPSEmbedding's second half is the column-reversed
// embedding of the complemented token; the fused add+norm of RCPSMambaBlock swaps the two
// channel halves of the residual stream at every block and normalises the second half with the
// reversed weight (the final norm does not swap), as the reference does.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <utility>
#include <vector>

#include "kernels/backend.h"
#include "kernels/tensor.h"
#include "model/weights.h"

namespace strand::model {

struct ForwardOptions {
  // Positions per tile: workspace vs per-op overhead. Results are identical for any value.
  int64_t tile_rows = 8192;
  // Which hidden state run() returns, as the reference's output_hidden_states numbers them:
  // -1 the final normalised output (last_hidden_state); 0 the token embeddings; N >= 1 the
  // output of block N (its mixer output, before the next residual add).
  int layer = -1;
};

class Backbone {
 public:
  // `weights` and `backend` must outlive the Backbone.
  Backbone(const ModelWeights& weights, kernels::Backend& backend);

  int hidden_width() const { return config_.hidden_width(); }
  int vocab_size() const { return config_.vocab_size; }
  const ModelConfig& config() const { return config_; }

  // Final hidden states of one record ([L, hidden_width], the reference's last_hidden_state):
  // out must be [ids.size(), hidden_width] (any ld). Token ids are checked against the
  // vocabulary (strand::Error naming the position).
  void run(std::span<const int32_t> ids, kernels::MatF out, const ForwardOptions& options = {});

  // LM-head logits [L, vocab_size] from final hidden states [L, hidden_width].
  void logits(kernels::ConstMatF hidden, kernels::MatF out);

 private:
  // One Mamba mixer as it runs on one channel half: the checkpoint's weights, or for the
  // reverse-complement half of a PS model, the prepared reversed copies.
  struct MixerView {
    kernels::ConstMatF in_w;  // [2 * d_inner, d]
    const float* in_b = nullptr;
    const float* conv_w = nullptr;  // [d_inner, K]
    const float* conv_b = nullptr;
    kernels::ConstMatF x_proj_w;  // [dt_rank + 2N, d_inner]
    kernels::ConstMatF dt_w;      // [d_inner, dt_rank]
    const float* dt_b = nullptr;
    kernels::ConstMatF A;         // [d_inner, N]
    const float* D = nullptr;
    kernels::ConstMatF out_w;     // [d, d_inner]
    const float* out_b = nullptr;
  };
  // The mixer passes of one channel half of one layer, in the order they run: the first
  // writes H, the second combines into it by the bidirectional strategy.
  struct HalfPlan {
    int col0 = 0;                // first channel of this half in R and H
    const float* norm_w = nullptr;  // this half's norm weight (reversed for the rc half)
    MixerView mixer[2];
    bool reverse[2] = {false, true};
    int passes = 1;
  };
  struct LayerPlan {
    std::vector<HalfPlan> halves;
  };

  struct Workspace;
  void embed(std::span<const int32_t> ids, kernels::MatF h);
  void add_residual(kernels::MatF h, kernels::MatF r, bool first_layer);
  void run_pass(const HalfPlan& half, int pass, kernels::ConstMatF r, kernels::MatF h, Workspace& ws,
                int64_t tile_rows);
  void final_norm(kernels::MatF h, kernels::ConstMatF r);
  MixerView view_of(const MixerWeights& m, bool reversed_half, int layer, int direction);

  const ModelWeights& weights_;
  ModelConfig config_;
  kernels::Backend& backend_;
  std::vector<LayerPlan> layers_;
  // Prepared copies for the reverse-complement half of PS models. Views point into the inner
  // vectors, whose buffers stay put when owned_ grows (moves keep them).
  std::vector<std::vector<float>> owned_;
  std::map<std::pair<const void*, bool>, const float*> reversed_cache_;  // (tensor, by columns)
  std::vector<float> embedding_rc_;   // [V, d] rows of the complemented token, columns reversed
  std::vector<int32_t> complement_;   // token complement map
  std::vector<float> norm_f_rc_;      // norm_f weight reversed
  std::vector<float> lm_head_rc_;     // [V, d] W[complement[v]] with columns reversed
};

}  // namespace strand::model
