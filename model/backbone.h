// The forward pass, written once against kernels::Backend for every architecture strand loads:
// Caduceus PH and PS (bidirectional or not, add / ew_multiply, tied or untied) and causal Mamba.
//
// Exact on any length: a record runs layer by layer over its full length, so every layer sees
// the whole record, in tiles that carry the conv and scan state, and the result does not depend
// on the tile size. Memory: the residual stream R [L, W] only, kept in the caller's output
// buffer (W = hidden width: 4 * W bytes per base, 2 KB for the Caduceus-PS 131k shape), plus
// per-tile workspace (~(2 d + 6 d_inner) floats per row and strand half; on a backend that runs
// the halves in turn, one set for both plus each half's [T, d] output) and the mixer state
// at every tile boundary (d_inner * (d_conv - 1 + d_state) floats per half). A layer is two
// sweeps:
//   1. each right-to-left mixer runs over the record (tiles right to left) only to record its
//      conv and scan state entering every tile, its checkpoints;
//   2. one left-to-right sweep over the tiles: the left-to-right mixer carries its state, the
//      right-to-left one is recomputed on the tile from its checkpoint, both strand halves of a
//      PS model run (side by side on the CPU, in turn on a GPU), and out_proj adds the tile's mixer output into R in
//      place (the residual add; the last block instead writes the final norm): no later tile of this layer reads those
//      rows. The checkpoint sweep skips the first tile (its state after it is never used), so a record of one tile
//      costs no extra sweep.
// With tied in/out projections and the `add` strategy (the published models) the two
// directions share one in_proj (x | z) and one out_proj (out = (y_fwd + y_rev) · W^T, the
// second direction's scan adding onto the first's output), so the recomputation costs less
// than the projections it saves. The per-tile delta matrix is never stored: the scan applies
// dt_proj itself.
//
// RC-equivariant (PS) models without flips: the reverse-complement half of RCPSWrapper is the
// same bidirectional mixer run with its directions swapped and with in_proj's columns and
// out_proj's rows reversed (prepared once); RCPSEmbedding's second half is the column-reversed
// embedding of the complemented token; the fused add+norm of RCPSMambaBlock swaps the two
// channel halves of the residual stream at every block and normalises the second half with the
// reversed weight (the final norm does not swap), as the reference does. The swap moves no
// data: each block reads its halves from alternating columns (HalfPlan::col0), and the final
// norm writes them back in order.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <utility>
#include <vector>

#include "kernels/backend.h"
#include "kernels/tensor.h"
#include "model/flops.h"
#include "model/weights.h"

namespace strand::model {

struct ForwardOptions {
  // Positions per tile: workspace and cache footprint vs enough rows per op for every thread.
  // Results are identical for any value. 0: 512 per thread of the current task arena, within
  // [1024, 8192] (1024 measured faster on 2 threads, 8192 on 16).
  int64_t tile_rows = 0;
  // Which hidden state run() returns, as the reference's output_hidden_states numbers them:
  // 0 the token embeddings; 1 <= N < n_layer the output of block N (its mixer output, before
  // the next residual add); n_layer or -1 the final normalised output (last_hidden_state).
  int layer = -1;
};

class Backbone {
  struct Workspace;  // per-tile scratch (backbone.cpp)

 public:
  // `weights` and `backend` must outlive the Backbone. The weights are uploaded once here when
  // the backend has its own memory.
  Backbone(const ModelWeights& weights, kernels::Backend& backend);
  ~Backbone();

  int hidden_width() const { return config_.hidden_width(); }
  int vocab_size() const { return config_.vocab_size; }
  const ModelConfig& config() const { return config_; }
  // Rows per tile when ForwardOptions::tile_rows is 0 (the backend's choice) for a record of
  // `record_len` rows (0: short or unknown), given this model's tile workspace per row.
  int64_t default_tile_rows(int64_t record_len = 0) const;
  // Device memory a tile takes per row: the tile matrices of every strand half, plus an
  // allowance for the backend's own scratch.
  size_t tile_row_bytes() const;

  // Final hidden states of one record ([L, hidden_width], the reference's last_hidden_state):
  // out must be [ids.size(), hidden_width] (any ld), in host memory, whatever the backend (a
  // backend with its own memory keeps R there and downloads it at the end). Token ids are
  // checked against the vocabulary (strand::Error naming the position).
  void run(std::span<const int32_t> ids, kernels::MatF out, const ForwardOptions& options = {});

  // The same hidden states handed to `consume` in row order, at most piece_rows rows at a time
  // (row0 = the piece's first row): a backend with its own memory downloads one piece at a time
  // into a host buffer of piece_rows rows, so the host never holds [L, hidden_width] (on the
  // host the whole record is R itself). `consume` runs isolated from the caller's other TBB
  // work (on a device it runs while this backbone is locked to one caller).
  using HiddenPieceFn = std::function<void(int64_t row0, kernels::ConstMatF rows)>;
  void run_in_pieces(std::span<const int32_t> ids, int64_t piece_rows, const HiddenPieceFn& consume,
                     const ForwardOptions& options = {});

  // The same hidden states left where the backend computed them: `use` gets [L, hidden_width]
  // in the backend's memory (device memory on a GPU; ops issued before may still be running
  // there, so read it through the backend), valid during the call; on a device `use` runs
  // with this backbone locked. `strand bench --hidden device` times this, as the reference's
  // benchmark leaves last_hidden_state on the GPU.
  void run_in_place(std::span<const int32_t> ids, const std::function<void(kernels::ConstMatF)>& use,
                    const ForwardOptions& options = {});

  // Final hidden states of many short independent sequences of one length (variant windows):
  // ids [S * seq_len], sequence s at rows s * seq_len ...; out [S * seq_len, hidden_width] in
  // host memory. Each sequence starts from zero state and carries nothing to the next, so its
  // rows are those run() gives for it alone (on the CPU bit for bit: every op treats rows and
  // sequences independently). Sequences go through in groups that fill one tile of
  // options.tile_rows (0: the backend's default); a sequence longer than a tile is one group.
  // `keep` not empty: out is [keep.size(), hidden_width] and receives only those rows (indices
  // into ids, any order), gathered where the model runs, so that a backend with its own memory
  // downloads only them (variant scoring reads one row per window). On such a backend the
  // batch's buffers stay allocated for the next call, which reuses them when they are big
  // enough (allocating and freeing gigabytes per batch is dear there; the CPU allocates per
  // call as before).
  void run_batch(std::span<const int32_t> ids, int64_t seq_len, kernels::MatF out, const ForwardOptions& options = {},
                 std::span<const int32_t> keep = {});

  // Left-to-right models (causal Mamba, unidirectional Caduceus PH), a few tokens at a time with
  // O(1) memory per sequence: each layer's conv and scan state per sequence carries from one
  // feed() to the next, so feeding a record in pieces gives the hidden states run() gives for it
  // whole (bit for bit on the CPU), and feeding one token per step is the recurrent decoder.
  // `sequences` streams advance together (one batch of generation).
  class Stream {
   public:
    // Zero state. Throws (naming the model) for bidirectional or RC-equivariant models.
    Stream(Backbone& backbone, int64_t sequences);
    ~Stream();
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;
    // ids [sequences * n]: the next n tokens of every sequence (sequence s at rows s * n ...);
    // hidden [sequences * n, hidden_width] in host memory: their final hidden states.
    void feed(std::span<const int32_t> ids, int64_t n, kernels::MatF hidden);
    // The same, returning the LM-head logits of these tokens instead ([sequences * n,
    // vocab_size], host memory): computed where the model runs, so a decoding step moves only
    // its ids and logits.
    void feed_logits(std::span<const int32_t> ids, int64_t n, kernels::MatF logits);
    int64_t sequences() const { return sequences_; }

   private:
    // Runs the tokens through every layer (and with `logits` the LM head into logits_); R (final
    // hidden states) in the backend's memory. The ops after the ids' upload are one recorded
    // call (Backend::run_recorded): a decoding step replays them as one CUDA graph.
    kernels::MatF advance(std::span<const int32_t> ids, int64_t n, bool logits);

    Backbone& backbone_;
    int64_t sequences_;
    std::vector<kernels::DeviceBuffer<float>> conv_, scan_;  // per layer: [S, d_inner, K - 1], [S, d_inner, N]
    std::vector<Workspace> ws_;                                // one, sized for the largest feed so far
    int64_t ws_rows_ = 0;
    kernels::DeviceBuffer<float> r_, logits_;  // [rows, width], [rows, vocab] of the largest feed
    kernels::DeviceBuffer<int32_t> ids_;
    int64_t epoch_ = 0;  // new whenever the buffers above are reallocated (recording signature)
  };
  // Whether Stream can run this model (every layer one left-to-right mixer, no strand halves).
  bool streamable() const;

  // LM-head logits [L, vocab_size] from final hidden states [L, hidden_width], both in host
  // memory.
  void logits(kernels::ConstMatF hidden, kernels::MatF out);

  // FLOPs per base that run() executes for the final hidden states of a `len`-base record in
  // tiles of `tile_rows` (0: the backend's default) (flops.h): the reference's count less what
  // the shared projections save, plus the checkpoint sweeps (all tiles but the first).
  FlopCount executed_flops_per_base(int64_t len, int64_t tile_rows = 0) const;

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
  // The mixers of one channel half of one layer, in the reference's order (the bidirectional
  // strategy combines mixer[0]'s output with mixer[1]'s); reverse[i]: runs right to left.
  struct HalfPlan {
    int col0 = 0;  // first column of this half in R at this layer (halves alternate with the swap)
    const float* norm_w = nullptr;  // this half's norm weight (reversed for the rc half)
    MixerView mixer[2];
    bool reverse[2] = {false, true};
    int passes = 1;
    bool shared_in_proj = false;   // both mixers use the same in_proj (tied weights)
    bool summed_out_proj = false;  // out = (y0 + y1) · W^T: tied out_proj, no bias, `add`
  };
  struct LayerPlan {
    std::vector<HalfPlan> halves;
  };

  // What a layer writes into R once a tile's mixer outputs O are known.
  enum class Epilogue {
    kResidual,     // R += O in place by out_proj (the next block's residual; see make_half for PS)
    kFinalNorm,    // R = norm_f(O + R): the last block's output is last_hidden_state
    kBlockOutput,  // R = O: the hidden state of a block asked for with ForwardOptions::layer
  };
  // RCPSMambaBlock with fused add+norm swaps the residual's strand halves at every block.
  bool swaps_halves() const { return config_.rcps && config_.fused_add_norm; }
  // The buffers a forward call needs besides the caller's: R, the ids, the kept rows' indices
  // and their gathered rows, in the backend's memory.
  struct IoBuffers {
    kernels::DeviceBuffer<float> r, kept;
    kernels::DeviceBuffer<int32_t> ids, keep;
  };
  struct BatchCache;  // run_batch's buffers kept between calls (backbone.cpp)
  // R and the ids where the backend computes (stage(): the caller's buffers on the host), and
  // with `keep` the row indices and the [K, width] matrix they are gathered into.
  struct Staged {
    IoBuffers own;  // this call's, when not cached
    kernels::MatF r, kept;
    const int32_t* ids = nullptr;
    const int32_t* keep = nullptr;
  };
  Staged stage(std::span<const int32_t> ids, kernels::MatF out, std::span<const int32_t> keep, IoBuffers* cached);
  // o [L, V] = the LM head of final hidden states h [L, hidden_width], both in the backend's memory.
  void lm_head(kernels::ConstMatF h, kernels::MatF o);
  void check_ids(std::span<const int32_t> ids) const;  // strand::Error naming the position
  // run() and run_batch(): batch_seq_len 0 is one record in tiles that carry the mixer state;
  // otherwise ids holds independent sequences of that length, all in one tile.
  // `keep`: as run_batch's.
  // `resident` (a backend with its own memory, no `keep`): called with R where it lies instead
  // of downloading R into `out`, which then only gives the shape.
  void forward(std::span<const int32_t> ids, kernels::MatF out, const ForwardOptions& options, int64_t batch_seq_len,
               std::span<const int32_t> keep = {}, const std::function<void(kernels::ConstMatF)>* resident = nullptr);
  void embed(const int32_t* ids, kernels::MatF r, bool swapped);
  // Weights in the backend's memory: the host pointer itself on the host, else an uploaded copy
  // (one per host tensor, made once).
  const float* resident(const float* host, size_t count);
  kernels::ConstMatF resident(kernels::ConstMatF host);
  // The same for a linear's weights, which on the host are also copied when misaligned.
  kernels::ConstMatF resident_streamed(kernels::ConstMatF host);
  const float* copy_of(const float* host, size_t count);  // the backend-memory copy, made once
  void place_weights();
  // Holds serial_ when the backend takes its calls from one thread at a time (else unlocked).
  std::unique_lock<std::mutex> one_caller();
  // Host <-> backend memory, one transfer when both sides are contiguous, else row by row.
  void upload(kernels::ConstMatF host, kernels::MatF dst);
  void download(kernels::ConstMatF src, kernels::MatF host);
  void run_layer(const LayerPlan& layer, kernels::MatF r, std::vector<Workspace>& ws, int64_t tile_rows,
                 Epilogue epilogue);
  void record_checkpoints(const HalfPlan& half, kernels::ConstMatF r, Workspace& ws, int64_t tile_rows);
  void run_tile(const HalfPlan& half, kernels::MatF r, int64_t tile, int64_t tile_rows, Workspace& ws,
                Epilogue epilogue);
  void normalize(const HalfPlan& half, kernels::ConstMatF r_tile, Workspace& ws);
  // Chunk states of a right-to-left mixer's scan (ScanParams::chunk_states_*): stored by the
  // checkpoint sweep, read by the final sweep's scan of the same tile.
  struct ScanChunks {
    float* store = nullptr;
    const float* read = nullptr;
    size_t floats = 0;
  };
  // How a mixer's output is gated by silu(z): not at all (the checkpoint sweep computes no z),
  // its own output, z computed but the output left ungated (the next direction shares z and
  // gates the sum: ScanParams::gate_sum), or the sum of this output and y.
  enum class Gate { kNone, kOwn, kLater, kSum };
  // How a mixer's in_proj runs: not at all (the previous direction's x and z, tied weights), x and
  // z as one [rows, 2 d_inner] GEMM, or x alone and then z (where x must be the checkpoint
  // sweep's bits, which computed x alone; the sweep itself wants no z).
  enum class InProj { kReuse, kTogether, kApart };
  // split_out: y (and with accumulate y_add = y) is written split into xz (Workspace).
  // normed_dead: no later in_proj reads normalize()'s output, so the scan may use it as scratch.
  void run_mixer(const MixerView& m, bool reverse, InProj in, Gate gate, int64_t rows, Workspace& ws,
                 float* conv_state, float* scan_state, kernels::MatF y, bool accumulate, ScanChunks chunks,
                 bool split_out = false, bool normed_dead = false);
  // The scan's inputs as run_mixer passes them for a tile of `rows` (no z, y, state or chunk states).
  kernels::ScanParams mixer_scan(const MixerView& m, bool reverse, int64_t rows, const Workspace& ws) const;
  // Whether a PS model's halves, run one after the other on this backend, share one set of tile
  // matrices (each with its own O): forward() allocates so, tile_row_bytes() counts so.
  bool halves_share_tile_matrices() const;
  void finish_tile(const LayerPlan& layer, kernels::MatF r_tile, std::vector<Workspace>& ws, Epilogue epilogue);
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
  std::map<const float*, kernels::DeviceBuffer<float>> resident_;  // host tensor → its copy (or aligned copy)
  // What the ops read, in the backend's memory.
  kernels::ConstMatF embedding_, embedding_rc_table_, lm_head_, lm_head_rc_table_;
  const float* norm_f_ = nullptr;
  const float* norm_f_rc_ptr_ = nullptr;
  // run() and logits() may be called from several threads (embed's pipeline); a backend that
  // takes its ops from one thread at a time gets them one call after the other.
  std::mutex serial_;
  std::unique_ptr<BatchCache> batch_cache_;  // backends with their own memory, taking one caller at a time
  // The last scan of each half writes its output split for out_proj (takes_split_activations;
  // Workspace).
  bool split_out_ = false;
  // Some half runs two mixers whose outputs go through out_proj apart (Workspace::TileRows::y[1]).
  bool second_output_ = false;
};

}  // namespace strand::model
