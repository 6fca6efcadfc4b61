#include "model/backbone.h"

#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>

#include "core/error.h"

namespace strand::model {

using kernels::ConstMatF;
using kernels::MatF;

namespace {

const float* data_or_null(const std::shared_ptr<const Tensor>& t) { return t ? t->data.data() : nullptr; }

// A number no set of buffers of this process had before: part of a recorded call's signature
// (Backend::run_recorded), so that a recording never outlives the buffers it names, even when
// a new buffer lands at a freed one's address.
int64_t fresh_epoch() {
  static std::atomic<int64_t> next{1};
  return next.fetch_add(1);
}

int64_t as_int(const void* ptr) {
  return static_cast<int64_t>(reinterpret_cast<intptr_t>(ptr));
}

// The data of `buffer`, reallocated first when it holds fewer than `count` elements (the old
// one freed before, so that the peak holds one of them).
template <typename T>
T* at_least(kernels::Backend& backend, kernels::DeviceBuffer<T>& buffer, size_t count) {
  if (buffer.size() < count) {
    buffer = kernels::DeviceBuffer<T>();
    buffer = kernels::DeviceBuffer<T>(backend, count);
  }
  return buffer.data();
}

}  // namespace

// Per-tile scratch of one channel half: [T, width] matrices reused across tiles and layers, the
// state of each of its mixers, and the checkpoints of its right-to-left mixer.
// All of it in the backend's memory. No delta matrix: the scan applies dt_proj itself. y[1] only
// when the directions' outputs cannot be summed before out_proj. x and z are the two column
// halves of one [T, 2 d_inner] buffer, in_proj's whole output (so that a decoding step computes
// them in one GEMM). The mixer output O [T, d] that the last block leaves for finish_tile lives
// in that buffer: x and z are dead once the scans ran. With split outputs (split_out) the last
// scan of a half writes y there instead, split for out_proj's tensor cores: the TF32 parts over
// x (dead once the last conv ran) and the remainders over z (each read before it is written),
// so that out_proj reads one [T, 2 d_inner] matrix; y[0] then holds only the first direction's
// output, and O goes there. With them the norm writes in_proj's input split too, as
// [TF32 parts | remainders | TF32 parts] ([T, 3 d]: the tf32x3 GEMM's own layout), instead of a
// [T, d] matrix that linear would split into a copy of that layout.
// On a backend that takes its ops one after the other (CUDA) the halves of a PS model run in
// turn, so they share these [T, width] matrices (TileRows; ~10 KB per row for the 131k
// model) and each keeps only its own O [T, d] for finish_tile.
struct Backbone::Workspace {
  using Buffer = kernels::DeviceBuffer<float>;
  struct TileRows {
    Buffer normed, xz, xc, xdbl, y[2];
  };
  // TileRows' widths: normed [T, d] (split: [T, 3 d], the TF32 parts and remainders), xz
  // [T, 2 d_inner], xc [T, d_inner], xdbl [T, dt_rank + 2 N], y[0] [T, d_inner], y[1] (a
  // second output) [T, d_inner] or none.
  struct Columns {
    int64_t normed = 0, xz = 0, xc = 0, xdbl = 0, y[2] = {0, 0};
    int64_t total() const { return normed + xz + xc + xdbl + y[0] + y[1]; }
  };
  static Columns columns(const ModelConfig& c, bool second_output, bool split) {
    const int64_t d = c.d_model, di = c.mixer.d_inner();
    return {split ? 3 * d : d, 2 * di, di, c.mixer.dt_rank + 2 * c.mixer.d_state, {di, second_output ? di : 0}};
  }
  std::shared_ptr<TileRows> buf;
  Buffer own_out;  // [T, d] when `buf` is shared
  Buffer conv_state[2], scan_state[2];
  // [tiles, state_size]: the right-to-left mixer's conv then scan state entering each tile.
  Buffer checkpoints;
  // The right-to-left mixer's scan chunk states of each tile but the first, kept by the
  // checkpoint sweep for the final one (a backend that chunks its scans: CUDA; ~23 bytes per
  // base and half for the 131k model in 65,536-row tiles, fewer in longer ones) so that its
  // scan there skips the passes that find them. kept_chunks[tile]: where in scan_chunks that
  // tile's start, and how many floats (0: none kept).
  struct KeptChunks {
    size_t at = 0, floats = 0;
  };
  Buffer scan_chunks;
  std::vector<KeptChunks> kept_chunks;
  int64_t conv_size = 0, state_size = 0;
  // How rows are sequences (Mode): one record in tiles carrying state (seq_len 0: the tile is
  // one piece of it), independent sequences of seq_len rows with zero state (run_batch), or
  // sequences of seq_len rows continuing the states the caller swaps in (Stream).
  enum class Mode { kRecord, kBatch, kStream };
  Mode mode = Mode::kRecord;
  int64_t seq_len = 0;

  bool split_out = false;

  // shared: another half's TileRows to use (this one then keeps its own O), or null.
  Workspace(kernels::Backend& backend, int64_t tile_rows, const ModelConfig& c, bool second_output, bool split,
            std::shared_ptr<TileRows> shared = nullptr)
      : split_out(split) {
    const int64_t d = c.d_model, di = c.mixer.d_inner(), n = c.mixer.d_state, k = c.mixer.d_conv;
    const auto rows = [&](int64_t cols) { return Buffer(backend, static_cast<size_t>(tile_rows * cols)); };
    if (shared) {
      buf = std::move(shared);
    } else {
      const Columns cols = columns(c, second_output, split);
      buf = std::make_shared<TileRows>();
      buf->normed = rows(cols.normed);
      buf->xz = rows(cols.xz);
      buf->xc = rows(cols.xc);
      buf->xdbl = rows(cols.xdbl);
      buf->y[0] = rows(cols.y[0]);
      if (cols.y[1] > 0) buf->y[1] = rows(cols.y[1]);
    }
    STRAND_ASSERT(split ? di >= d : 2 * di >= d, "d_inner ", di, " too small for O: d_model ", d);
    conv_size = di * (k - 1);
    state_size = conv_size + di * n;
    for (auto& v : conv_state) v = Buffer(backend, static_cast<size_t>(conv_size));
    for (auto& v : scan_state) v = Buffer(backend, static_cast<size_t>(di * n));
  }
  float* checkpoint(int64_t tile) const { return checkpoints.data() + tile * state_size; }
  // Rows per sequence of a tile of `rows` rows (a record's tile is one piece of one sequence).
  int64_t sequence_rows(int64_t rows) const { return seq_len > 0 ? seq_len : rows; }
  // Makes this half's O its own (the halves share `buf`).
  void keep_own_out(kernels::Backend& backend, int64_t tile_rows, int64_t d) {
    own_out = Buffer(backend, static_cast<size_t>(tile_rows * d));
  }
  float* out() const { return own_out.size() ? own_out.data() : split_out ? buf->y[0].data() : buf->xz.data(); }
  // normalize()'s output [rows, d] for in_proj; with split outputs the TF32 parts of
  // [parts | remainders | parts] rows, and normed_small the remainders (empty otherwise).
  kernels::MatF normed(int64_t rows, int64_t d) const {
    return kernels::MatF(buf->normed.data(), rows, d, split_out ? 3 * d : d);
  }
  kernels::MatF normed_small(int64_t rows, int64_t d) const {
    return split_out ? kernels::MatF(buf->normed.data() + d, rows, d, 3 * d) : kernels::MatF();
  }
};

// run_batch's buffers on a backend with its own memory, kept from one call to the next: a GPU
// batch of 256 windows of 1,024 bases needs ~5 GB of workspace, and allocating it per batch
// (cudaMalloc, then cudaFree, which waits for the device) left the GPU idle between batches.
// They only grow; the workspaces' row count is that of the largest call so far.
struct Backbone::BatchCache {
  IoBuffers io;
  std::vector<Workspace> ws;
  int64_t ws_rows = 0;
  int64_t ws_epoch = 0;  // new whenever ws is reallocated (recording signature)
};

Backbone::~Backbone() {
  if (batch_cache_) backend_.forget_recorded(batch_cache_.get());
}

Backbone::Backbone(const ModelWeights& weights, kernels::Backend& backend)
    : weights_(weights), config_(weights.config), backend_(backend) {
  const int d = config_.d_model;
  const bool ps = config_.rcps;
  const bool bidirectional = config_.arch == Architecture::kCaduceus && config_.bidirectional;
  STRAND_ASSERT(weights_.embedding && weights_.norm_f_w && weights_.lm_head_w, "incomplete weights");
  STRAND_ASSERT(static_cast<int>(weights_.layers.size()) == config_.n_layer);

  if (ps) {
    STRAND_ASSERT(static_cast<int>(config_.complement_map.size()) == config_.vocab_size);
    complement_.assign(config_.complement_map.begin(), config_.complement_map.end());
    const ConstMatF table = weights_.embedding->mat();
    const ConstMatF head = weights_.lm_head_w->mat();
    embedding_rc_.resize(static_cast<size_t>(table.rows * d));
    lm_head_rc_.resize(static_cast<size_t>(head.rows * d));
    for (int64_t v = 0; v < table.rows; ++v) {
      const int64_t cv = complement_[static_cast<size_t>(v)];
      for (int c = 0; c < d; ++c) {
        embedding_rc_[static_cast<size_t>(v * d + c)] = table.at(cv, d - 1 - c);
        lm_head_rc_[static_cast<size_t>(v * d + c)] = head.at(cv, d - 1 - c);
      }
    }
    norm_f_rc_.assign(weights_.norm_f_w->data.rbegin(), weights_.norm_f_w->data.rend());
  }

  // The tie identities, where they hold: the directions of a tied model read one in_proj, and
  // with `add` and no out_proj bias, y0 · W^T + y1 · W^T = (y0 + y1) · W^T (within rounding).
  const auto share = [&](HalfPlan& half) {
    if (half.passes < 2) return;
    const MixerView &a = half.mixer[0], &b = half.mixer[1];
    half.shared_in_proj = a.in_w.data == b.in_w.data && a.in_b == b.in_b;
    half.summed_out_proj = a.out_w.data == b.out_w.data && !a.out_b && !b.out_b &&
                           config_.strategy == BidirectionalStrategy::kAdd;
  };
  // The forward half runs mamba_fwd left to right and mamba_rev right to left. RCPSWrapper's
  // second half is mixer(rc(x2)) reverse-complemented back: running mamba_fwd over rc(x2) is a
  // right-to-left pass over x2 with channels reversed (and mamba_rev a left-to-right one),
  // which the reversed weight copies express without any flip.
  // With fused add+norm the reference swaps the residual's halves at every block. R's columns
  // never move: each block's out_proj adds into the columns its half read, and the next block
  // reads them as the other half, so half h of block l lives at columns (h xor l % 2) * d.
  const auto make_half = [&](const LayerWeights& lw, int layer, bool rc_half) {
    HalfPlan half;
    half.col0 = ((rc_half ? 1 : 0) ^ (swaps_halves() ? layer % 2 : 0)) * d;
    if (rc_half) {
      owned_.emplace_back(lw.norm_w->data.rbegin(), lw.norm_w->data.rend());
      half.norm_w = owned_.back().data();
    } else {
      half.norm_w = lw.norm_w->data.data();
    }
    half.mixer[0] = view_of(lw.fwd, rc_half, layer, 0);
    half.reverse[0] = rc_half;
    if (bidirectional) {
      half.mixer[1] = view_of(lw.rev, rc_half, layer, 1);
      half.reverse[1] = !rc_half;
      half.passes = 2;
    }
    share(half);
    return half;
  };
  for (int l = 0; l < config_.n_layer; ++l) {
    const LayerWeights& lw = weights_.layers[static_cast<size_t>(l)];
    LayerPlan plan;
    plan.halves.push_back(make_half(lw, l, false));
    if (ps) plan.halves.push_back(make_half(lw, l, true));
    layers_.push_back(std::move(plan));
  }
  // The split output needs one out_proj per half (its input is the last scan's output alone)
  // and O to fit y[0].
  split_out_ = backend_.takes_split_activations() && config_.mixer.d_inner() >= d;
  for (const LayerPlan& layer : layers_) {
    for (const HalfPlan& half : layer.halves) {
      split_out_ = split_out_ && (half.passes == 1 || half.summed_out_proj);
      second_output_ |= half.passes == 2 && !half.summed_out_proj;
    }
  }
  place_weights();
}

bool Backbone::halves_share_tile_matrices() const {
  return !backend_.concurrent_calls() && !layers_.empty() && layers_.front().halves.size() > 1;
}

size_t Backbone::tile_row_bytes() const {
  // As forward() allocates: one set of tile matrices per half, or one for all halves that run
  // in turn, each half then with its own O [T, d]. Plus the backend's own scratch of a tile: d_inner
  // floats (the CUDA scan's dt, counted even where the model lends it memory) and, unless the
  // projections take their inputs split already, the copy a GEMM makes of its widest input.
  const auto halves = static_cast<int64_t>(layers_.empty() ? 1 : layers_.front().halves.size());
  const bool share = halves_share_tile_matrices();
  const int64_t d = config_.d_model, di = config_.mixer.d_inner();
  const int64_t tile = Workspace::columns(config_, second_output_, split_out_).total();
  const int64_t floats = (share ? tile + halves * d : halves * tile) + di;
  return static_cast<size_t>(floats) * sizeof(float) + (split_out_ ? 0 : backend_.gemm_input_copy_bytes(std::max(d, di)));
}

int64_t Backbone::default_tile_rows(int64_t record_len) const {
  return backend_.default_tile_rows(record_len, tile_row_bytes());
}

const float* Backbone::resident(const float* host, size_t count) {
  if (!host || backend_.host_memory()) return host;
  return copy_of(host, count);
}

const float* Backbone::copy_of(const float* host, size_t count) {
  auto it = resident_.find(host);
  if (it == resident_.end()) {
    kernels::DeviceBuffer<float> buffer(backend_, count);
    backend_.upload(buffer.data(), host, count * sizeof(float));
    it = resident_.emplace(host, std::move(buffer)).first;
  }
  return it->second.data();
}

ConstMatF Backbone::resident(ConstMatF host) {
  STRAND_ASSERT(host.ld == host.cols, "weights are contiguous");
  return ConstMatF(resident(host.data, static_cast<size_t>(host.rows * host.cols)), host.rows, host.cols);
}

ConstMatF Backbone::resident_streamed(ConstMatF host) {
  // A decoding step streams every linear's weights from L3 once: rows that start off a 64-byte
  // line make every vector load straddle two lines, which costs a third of the rate. Host
  // tensors (std::vector) are only 16-byte aligned, so on the host they are copied to aligned
  // memory (once per tensor) when their rows would all start on a line.
  constexpr uintptr_t kLine = 64;
  const bool aligned = reinterpret_cast<uintptr_t>(host.data) % kLine == 0;
  const bool rows_can_align = (host.cols * sizeof(float)) % kLine == 0;
  if (!backend_.host_memory() || aligned || !rows_can_align) return resident(host);
  STRAND_ASSERT(host.ld == host.cols, "weights are contiguous");
  return ConstMatF(copy_of(host.data, static_cast<size_t>(host.rows * host.cols)), host.rows, host.cols);
}

void Backbone::place_weights() {
  // Every pointer the ops will read, moved to the backend's memory (the same host tensor always
  // maps to the same copy, so the tie checks above still hold); on the host, only the linears'
  // weights move, and only when misaligned (resident_streamed: then twice their memory).
  const int d = config_.d_model;
  const size_t di = static_cast<size_t>(config_.mixer.d_inner());
  for (LayerPlan& layer : layers_) {
    for (HalfPlan& half : layer.halves) {
      half.norm_w = resident(half.norm_w, static_cast<size_t>(d));
      for (int m = 0; m < half.passes; ++m) {
        MixerView& v = half.mixer[m];
        v.in_w = resident_streamed(v.in_w);
        v.in_b = resident(v.in_b, 2 * di);
        v.conv_w = resident(v.conv_w, di * static_cast<size_t>(config_.mixer.d_conv));
        v.conv_b = resident(v.conv_b, di);
        v.x_proj_w = resident_streamed(v.x_proj_w);
        v.dt_w = resident(v.dt_w);
        v.dt_b = resident(v.dt_b, di);
        v.A = resident(v.A);
        v.D = resident(v.D, di);
        v.out_w = resident_streamed(v.out_w);
        v.out_b = resident(v.out_b, static_cast<size_t>(d));
      }
    }
  }
  embedding_ = resident(weights_.embedding->mat());
  norm_f_ = resident(weights_.norm_f_w->data.data(), static_cast<size_t>(d));
  lm_head_ = resident_streamed(weights_.lm_head_w->mat());
  if (config_.rcps) {
    const int64_t vocab = static_cast<int64_t>(embedding_rc_.size()) / d;
    embedding_rc_table_ = resident(ConstMatF(embedding_rc_.data(), vocab, d));
    norm_f_rc_ptr_ = resident(norm_f_rc_.data(), static_cast<size_t>(d));
    lm_head_rc_table_ = resident(ConstMatF(lm_head_rc_.data(), config_.vocab_size, d));
  }
}

Backbone::MixerView Backbone::view_of(const MixerWeights& m, bool reversed_half, int layer, int direction) {
  STRAND_ASSERT(m.in_proj_w && m.conv_w && m.x_proj_w && m.dt_proj_w && m.dt_proj_b && m.A && m.D && m.out_proj_w,
                "layer ", layer, " direction ", direction, ": incomplete mixer weights");
  MixerView v;
  v.in_w = m.in_proj_w->mat();
  v.in_b = data_or_null(m.in_proj_b);
  v.conv_w = m.conv_w->data.data();
  v.conv_b = data_or_null(m.conv_b);
  v.x_proj_w = m.x_proj_w->mat();
  v.dt_w = m.dt_proj_w->mat();
  v.dt_b = m.dt_proj_b->data.data();
  v.A = m.A->mat();
  v.D = m.D->data.data();
  v.out_w = m.out_proj_w->mat();
  v.out_b = data_or_null(m.out_proj_b);
  if (!reversed_half) return v;

  // in_proj applied to channel-reversed input = in_proj with its columns reversed; out_proj
  // followed by a channel reversal = out_proj with its rows (and bias) reversed. Tied weights
  // are shared between the directions, so their reversed copies are too.
  auto reversed = [&](const Tensor& t, bool cols) -> const float* {
    const auto key = std::make_pair(static_cast<const void*>(&t), cols);
    if (const auto it = reversed_cache_.find(key); it != reversed_cache_.end()) return it->second;
    const ConstMatF src = t.mat();
    std::vector<float> dst(static_cast<size_t>(src.rows * src.cols));
    for (int64_t r = 0; r < src.rows; ++r)
      for (int64_t c = 0; c < src.cols; ++c)
        dst[static_cast<size_t>(r * src.cols + c)] =
            cols ? src.at(r, src.cols - 1 - c) : src.at(src.rows - 1 - r, c);
    owned_.push_back(std::move(dst));
    reversed_cache_.emplace(key, owned_.back().data());
    return owned_.back().data();
  };
  v.in_w = ConstMatF(reversed(*m.in_proj_w, true), v.in_w.rows, v.in_w.cols);
  v.out_w = ConstMatF(reversed(*m.out_proj_w, false), v.out_w.rows, v.out_w.cols);
  if (m.out_proj_b) {
    // A bias is a [1, n] matrix: reversing its columns reverses it.
    v.out_b = reversed(*m.out_proj_b, true);
  }
  return v;
}

void Backbone::run(std::span<const int32_t> ids, MatF out, const ForwardOptions& options) {
  forward(ids, out, options, 0);
}

void Backbone::run_in_pieces(std::span<const int32_t> ids, int64_t piece_rows, const HiddenPieceFn& consume_piece,
                             const ForwardOptions& options) {
  STRAND_ASSERT(piece_rows > 0);
  // On a device the pieces are consumed inside forward(), with this backbone's one-caller lock
  // held: the consumer's own parallel work (a head's predict) is isolated, so that a thread
  // waiting in it cannot take up another task of the caller's pipeline that would lock this
  // backbone again on the same thread.
  const auto consume = [&consume_piece](int64_t row0, ConstMatF rows) {
    tbb::this_task_arena::isolate([&] { consume_piece(row0, rows); });
  };
  const auto len = static_cast<int64_t>(ids.size());
  const int64_t width = hidden_width();
  const bool host = backend_.host_memory();
  // On the host R is this buffer, [L, width]; on a device it is one piece's download buffer.
  std::vector<float> buffer(static_cast<size_t>((host ? len : std::min(piece_rows, len)) * width));
  const std::function<void(ConstMatF)> pieces = [&](ConstMatF r) {
    for (int64_t r0 = 0; r0 < len; r0 += piece_rows) {
      const int64_t rows = std::min(piece_rows, len - r0);
      if (host) {
        consume(r0, r.row_slice(r0, rows));
      } else {
        const MatF piece(buffer.data(), rows, width);
        download(r.row_slice(r0, rows), piece);
        consume(r0, piece);
      }
    }
  };
  if (host) {
    const MatF all(buffer.data(), len, width);
    forward(ids, all, options, 0);
    pieces(all);
  } else {
    forward(ids, MatF(nullptr, len, width), options, 0, {}, &pieces);
  }
}

void Backbone::run_in_place(std::span<const int32_t> ids, const std::function<void(ConstMatF)>& use,
                            const ForwardOptions& options) {
  const auto len = static_cast<int64_t>(ids.size());
  const int64_t width = hidden_width();
  if (!backend_.host_memory()) {
    // `use` runs with this backbone locked to one caller: its own parallel work is isolated
    // (as run_in_pieces' consumer), so that no task of the caller's that locks it again runs there.
    const std::function<void(ConstMatF)> isolated = [&use](ConstMatF r) {
      tbb::this_task_arena::isolate([&] { use(r); });
    };
    forward(ids, MatF(nullptr, len, width), options, 0, {}, &isolated);
    return;
  }
  // On the host R is the output itself.
  std::vector<float> r(static_cast<size_t>(len * width));
  const MatF all(r.data(), len, width);
  forward(ids, all, options, 0);
  use(all);
}

void Backbone::run_batch(std::span<const int32_t> ids, int64_t seq_len, MatF out, const ForwardOptions& options,
                         std::span<const int32_t> keep) {
  const int64_t total = static_cast<int64_t>(ids.size());
  STRAND_ASSERT(seq_len > 0 && total > 0 && total % seq_len == 0, "run_batch: ", total, " ids are not sequences of ",
                seq_len);
  const int64_t out_rows = keep.empty() ? total : static_cast<int64_t>(keep.size());
  STRAND_ASSERT(out.rows == out_rows && out.cols == hidden_width(), "run_batch: output is [", out.rows, ", ", out.cols,
                "], expected [", out_rows, ", ", hidden_width(), "]");
  const int64_t tile_rows = options.tile_rows > 0 ? options.tile_rows : default_tile_rows(0);
  const int64_t group = std::max<int64_t>(1, tile_rows / seq_len) * seq_len;
  std::vector<int32_t> local;  // the kept rows of one group, as its own row indices
  std::vector<int64_t> out_row;
  for (int64_t r0 = 0; r0 < total; r0 += group) {
    const int64_t rows = std::min(group, total - r0);
    const std::span<const int32_t> group_ids = ids.subspan(static_cast<size_t>(r0), static_cast<size_t>(rows));
    if (keep.empty()) {
      forward(group_ids, out.row_slice(r0, rows), options, seq_len);
      continue;
    }
    local.clear();
    out_row.clear();
    for (size_t k = 0; k < keep.size(); ++k) {
      STRAND_ASSERT(keep[k] >= 0 && keep[k] < total, "run_batch: kept row ", keep[k], " outside ", total, " rows");
      if (keep[k] >= r0 && keep[k] < r0 + rows) {
        local.push_back(static_cast<int32_t>(keep[k] - r0));
        out_row.push_back(static_cast<int64_t>(k));
      }
    }
    if (local.empty()) continue;
    if (out_row.size() == keep.size()) {  // one group: straight into out
      forward(group_ids, out, options, seq_len, local);
      continue;
    }
    std::vector<float> part(local.size() * static_cast<size_t>(out.cols));
    const MatF part_mat(part.data(), static_cast<int64_t>(local.size()), out.cols);
    forward(group_ids, part_mat, options, seq_len, local);
    for (size_t j = 0; j < local.size(); ++j)
      std::copy(part_mat.row(static_cast<int64_t>(j)), part_mat.row(static_cast<int64_t>(j)) + out.cols,
                out.row(out_row[j]));
  }
}

void Backbone::check_ids(std::span<const int32_t> ids) const {
  for (size_t i = 0; i < ids.size(); ++i)
    if (ids[i] < 0 || ids[i] >= config_.vocab_size)
      fail("token id ", ids[i], " at position ", i, " is outside the vocabulary of ", config_.vocab_size);
}

// R, the residual stream, ends up holding the result: on the host it is the caller's output
// itself (unless only some rows are kept); elsewhere a buffer in the backend's memory,
// downloaded at the end. The ids likewise. `cached`: buffers to use (and grow) instead of this
// call's own.
Backbone::Staged Backbone::stage(std::span<const int32_t> ids, MatF out, std::span<const int32_t> keep,
                                 IoBuffers* cached) {
  Staged st;
  st.r = out;
  st.ids = ids.data();
  const bool host = backend_.host_memory();
  if (host && keep.empty()) return st;
  IoBuffers& b = cached ? *cached : st.own;
  const auto len = static_cast<int64_t>(ids.size());
  const int64_t width = hidden_width();
  st.r = MatF(at_least(backend_, b.r, static_cast<size_t>(len * width)), len, width);
  if (!host) {
    st.ids = at_least(backend_, b.ids, ids.size());
    backend_.upload(b.ids.data(), ids.data(), ids.size() * sizeof(int32_t));
  }
  if (!keep.empty()) {
    st.keep = keep.data();
    st.kept = out;
    if (!host) {
      st.keep = at_least(backend_, b.keep, keep.size());
      backend_.upload(b.keep.data(), keep.data(), keep.size() * sizeof(int32_t));
      st.kept = MatF(at_least(backend_, b.kept, static_cast<size_t>(out.rows * width)), out.rows, width);
    }
  }
  return st;
}

void Backbone::forward(std::span<const int32_t> ids, MatF out, const ForwardOptions& options, int64_t batch_seq_len,
                       std::span<const int32_t> keep, const std::function<void(ConstMatF)>* resident) {
  const int64_t len = static_cast<int64_t>(ids.size());
  const int width = hidden_width();
  STRAND_ASSERT(len > 0, "empty record");
  STRAND_ASSERT(!resident || (keep.empty() && !backend_.host_memory()), "resident output needs device memory");
  const int64_t out_rows = keep.empty() ? len : static_cast<int64_t>(keep.size());
  STRAND_ASSERT(out.rows == out_rows && out.cols == width, "output is [", out.rows, ", ", out.cols, "], expected [",
                out_rows, ", ", width, "]");
  for (const int32_t k : keep) STRAND_ASSERT(k >= 0 && k < len, "kept row ", k, " outside ", len, " rows");
  STRAND_ASSERT(options.tile_rows >= 0);
  STRAND_ASSERT(options.layer >= -1 && options.layer <= config_.n_layer, "layer ", options.layer, " of ",
                config_.n_layer);
  check_ids(ids);

  const std::unique_lock<std::mutex> one_at_a_time = one_caller();
  // Batches on a backend with its own memory (one caller at a time there) keep their buffers.
  const bool cache = batch_seq_len > 0 && !backend_.host_memory() && !backend_.concurrent_calls();
  if (cache && !batch_cache_) batch_cache_ = std::make_unique<BatchCache>();
  Staged st = stage(ids, out, keep, cache ? &batch_cache_->io : nullptr);
  const MatF r = st.r;

  const bool final = options.layer < 0 || options.layer == config_.n_layer;
  const size_t blocks = final ? layers_.size() : static_cast<size_t>(options.layer);
  const int64_t tile_rows =
      batch_seq_len > 0 ? len
                        : std::min(options.tile_rows > 0 ? options.tile_rows : default_tile_rows(len), len);
  std::vector<Workspace> own;
  std::vector<Workspace>& ws = cache ? batch_cache_->ws : own;
  if (blocks > 0) {
    if (cache && batch_cache_->ws_rows < tile_rows) {
      ws.clear();  // freed before the larger ones are allocated
      batch_cache_->ws_rows = tile_rows;
    }
    if (ws.empty()) {
      // Halves run one after the other: one set of tile matrices for all.
      const size_t halves = layers_.front().halves.size();
      const bool share = halves_share_tile_matrices();
      const int64_t ws_rows = cache ? batch_cache_->ws_rows : tile_rows;
      for (size_t i = 0; i < halves; ++i) {
        ws.emplace_back(backend_, ws_rows, config_, second_output_, split_out_,
                        share && i > 0 ? ws.front().buf : nullptr);
        if (share) ws.back().keep_own_out(backend_, ws_rows, config_.d_model);
      }
      if (cache) batch_cache_->ws_epoch = fresh_epoch();
    }
    for (Workspace& w : ws) {
      w.mode = batch_seq_len > 0 ? Workspace::Mode::kBatch : Workspace::Mode::kRecord;
      w.seq_len = batch_seq_len;
    }
  }
  const auto issue = [&] {
    // RCPSMambaBlock with fused add+norm starts from the embeddings with their halves swapped.
    embed(st.ids, r, blocks > 0 && swaps_halves());
    for (size_t l = 0; l < blocks; ++l) {
      const Epilogue epilogue = l + 1 < blocks ? Epilogue::kResidual
                                : final        ? Epilogue::kFinalNorm
                                               : Epilogue::kBlockOutput;
      run_layer(layers_[l], r, ws, tile_rows, epilogue);
    }
    // [K, width] = R[keep]: the embedding lookup is a row gather
    if (!keep.empty()) backend_.embedding({st.keep, r, st.kept});
  };
  if (cache) {
    // A batch of the same shape as the last one in the same buffers (the windows of variant
    // scoring) replays the last one's ops as one CUDA graph.
    const int64_t signature[] = {batch_cache_->ws_epoch,
                                 len,
                                 batch_seq_len,
                                 options.layer,
                                 static_cast<int64_t>(keep.size()),
                                 as_int(r.data),
                                 as_int(st.ids),
                                 as_int(st.keep),
                                 as_int(st.kept.data)};
    backend_.run_recorded(batch_cache_.get(), signature, issue);
  } else {
    issue();
  }
  if (!keep.empty()) {
    if (!backend_.host_memory()) download(st.kept, out);
  } else if (!backend_.host_memory()) {
    if (resident)
      (*resident)(r);
    else
      download(r, out);
  }
}

bool Backbone::streamable() const {
  if (config_.rcps) return false;
  for (const LayerPlan& layer : layers_)
    for (const HalfPlan& half : layer.halves)
      if (half.passes != 1 || half.reverse[0]) return false;
  return true;
}

std::unique_lock<std::mutex> Backbone::one_caller() {
  std::unique_lock<std::mutex> lock(serial_, std::defer_lock);
  if (!backend_.concurrent_calls()) lock.lock();
  return lock;
}

Backbone::Stream::Stream(Backbone& backbone, int64_t sequences) : backbone_(backbone), sequences_(sequences) {
  STRAND_ASSERT(sequences > 0);
  if (!backbone.streamable())
    fail("model ", backbone.weights_.folder, ": only left-to-right (causal) models can be run token by token");
  // Another stream of this backbone may be calling (or recording) on the backend right now.
  const std::unique_lock<std::mutex> one_at_a_time = backbone.one_caller();
  const ModelConfig& c = backbone.config_;
  const auto di = static_cast<size_t>(c.mixer.d_inner());
  for (int l = 0; l < c.n_layer; ++l) {
    conv_.emplace_back(backbone.backend_, static_cast<size_t>(sequences) * di * static_cast<size_t>(c.mixer.d_conv - 1));
    scan_.emplace_back(backbone.backend_, static_cast<size_t>(sequences) * di * static_cast<size_t>(c.mixer.d_state));
    backbone.backend_.fill_zero(conv_.back().data(), conv_.back().bytes());
    backbone.backend_.fill_zero(scan_.back().data(), scan_.back().bytes());
  }
}

Backbone::Stream::~Stream() {
  // The buffers go here, under the lock: freeing device memory while another stream of this
  // backbone records its calls would not be safe.
  const std::unique_lock<std::mutex> one_at_a_time = backbone_.one_caller();
  backbone_.backend_.forget_recorded(this);
  conv_.clear();
  scan_.clear();
  ws_.clear();
  r_ = kernels::DeviceBuffer<float>();
  logits_ = kernels::DeviceBuffer<float>();
  ids_ = kernels::DeviceBuffer<int32_t>();
}

MatF Backbone::Stream::advance(std::span<const int32_t> ids, int64_t n, bool logits) {
  Backbone& b = backbone_;
  const int64_t rows = sequences_ * n, width = b.hidden_width();
  STRAND_ASSERT(n > 0 && static_cast<int64_t>(ids.size()) == rows, "feed: ", ids.size(), " ids for ", sequences_,
                " sequences of ", n);
  b.check_ids(ids);
  if (ws_.empty() || ws_rows_ < rows) {
    // Sized for the largest feed so far: one-token steps after a prefill reuse everything.
    ws_.clear();
    ws_.emplace_back(b.backend_, rows, b.config_, false, b.split_out_);
    ws_rows_ = rows;
    r_ = kernels::DeviceBuffer<float>(b.backend_, static_cast<size_t>(rows * width));
    ids_ = kernels::DeviceBuffer<int32_t>(b.backend_, static_cast<size_t>(rows));
    logits_ = kernels::DeviceBuffer<float>(b.backend_, static_cast<size_t>(rows * b.vocab_size()));
    epoch_ = fresh_epoch();
  }
  Workspace& w = ws_.front();
  w.mode = Workspace::Mode::kStream;
  w.seq_len = n;
  const MatF r = r_.mat(rows, width);
  const int32_t* resident_ids = ids.data();
  if (!b.backend_.host_memory()) {
    b.backend_.upload(ids_.data(), ids.data(), ids.size() * sizeof(int32_t));
    resident_ids = ids_.data();
  }
  const auto issue = [&] {
    b.embed(resident_ids, r, false);
    for (size_t l = 0; l < b.layers_.size(); ++l) {
      // This layer's carried state, [sequences, d_inner, *], stands in for the workspace's own
      // (swapped back even if an op throws, so that issue() may run again).
      struct SwapIn {
        Workspace& w;
        kernels::DeviceBuffer<float>& conv;
        kernels::DeviceBuffer<float>& scan;
        SwapIn(Workspace& w_, kernels::DeviceBuffer<float>& conv_, kernels::DeviceBuffer<float>& scan_)
            : w(w_), conv(conv_), scan(scan_) {
          std::swap(w.conv_state[0], conv);
          std::swap(w.scan_state[0], scan);
        }
        ~SwapIn() {
          std::swap(w.conv_state[0], conv);
          std::swap(w.scan_state[0], scan);
        }
      } swapped(w, conv_[l], scan_[l]);
      b.run_layer(b.layers_[l], r, ws_, rows, l + 1 < b.layers_.size() ? Epilogue::kResidual : Epilogue::kFinalNorm);
    }
    if (logits) b.lm_head(r, logits_.mat(rows, b.vocab_size()));
  };
  // Every pointer the ops get is one of this stream's buffers (epoch_) or the model's weights.
  const int64_t signature[] = {epoch_, n, logits ? 1 : 0, as_int(resident_ids)};
  b.backend_.run_recorded(this, signature, issue);
  return r;
}

void Backbone::Stream::feed(std::span<const int32_t> ids, int64_t n, MatF hidden) {
  Backbone& b = backbone_;
  STRAND_ASSERT(hidden.rows == sequences_ * n && hidden.cols == b.hidden_width(), "feed: output is [", hidden.rows,
                ", ", hidden.cols, "]");
  const std::unique_lock<std::mutex> one_at_a_time = b.one_caller();
  const MatF r = advance(ids, n, false);
  b.download(r, hidden);
}

void Backbone::Stream::feed_logits(std::span<const int32_t> ids, int64_t n, MatF logits) {
  Backbone& b = backbone_;
  STRAND_ASSERT(logits.rows == sequences_ * n && logits.cols == b.vocab_size(), "feed_logits: output is [",
                logits.rows, ", ", logits.cols, "]");
  const std::unique_lock<std::mutex> one_at_a_time = b.one_caller();
  advance(ids, n, true);
  b.download(logits_.mat(logits.rows, logits.cols), logits);
}

void Backbone::upload(ConstMatF host, MatF dst) {
  if (host.ld == host.cols && dst.ld == dst.cols) {
    backend_.upload(dst.data, host.data, static_cast<size_t>(host.rows * host.cols) * sizeof(float));
    return;
  }
  for (int64_t i = 0; i < host.rows; ++i)
    backend_.upload(dst.row(i), host.row(i), static_cast<size_t>(host.cols) * sizeof(float));
}

void Backbone::download(ConstMatF src, MatF host) {
  if (host.ld == host.cols && src.ld == src.cols) {
    backend_.download(host.data, src.data, static_cast<size_t>(host.rows * host.cols) * sizeof(float));
    return;
  }
  for (int64_t i = 0; i < host.rows; ++i)
    backend_.download(host.row(i), src.row(i), static_cast<size_t>(host.cols) * sizeof(float));
}

void Backbone::embed(const int32_t* ids, MatF r, bool swapped) {
  const int d = config_.d_model;
  // [L, d] = table[ids]
  backend_.embedding({ids, embedding_, r.col_slice(swapped ? d : 0, d)});
  // [L, d] second half = column-reversed embedding of the complemented token.
  if (config_.rcps) backend_.embedding({ids, embedding_rc_table_, r.col_slice(swapped ? 0 : d, d)});
}

namespace {

// Runs f(0..count-1) side by side: the strand halves of a PS layer touch disjoint columns and
// workspaces. Every op is bitwise deterministic, so this changes the speed, never the result.
template <typename F>
void for_each_half(size_t count, bool concurrent, const F& f) {
  if (!concurrent) {
    for (size_t i = 0; i < count; ++i) f(i);
    return;
  }
  if (count == 1) {
    f(size_t{0});
    return;
  }
  tbb::task_group group;
  for (size_t i = 1; i < count; ++i) group.run([&f, i] { f(i); });
  f(size_t{0});
  group.wait();
}

}  // namespace

void Backbone::run_layer(const LayerPlan& layer, MatF r, std::vector<Workspace>& ws, int64_t tile_rows,
                         Epilogue epilogue) {
  const int64_t len = r.rows;
  const int64_t tiles = (len + tile_rows - 1) / tile_rows;
  const size_t halves = layer.halves.size();
  // Sweep 1: the right-to-left mixers' state entering each tile.
  const bool concurrent = backend_.concurrent_calls();
  // Batches and streams are one tile of whole sequences (nothing to checkpoint); a stream's
  // states come from its previous tokens.
  const bool record = ws.front().mode == Workspace::Mode::kRecord;
  if (record)
    for_each_half(halves, concurrent, [&](size_t i) { record_checkpoints(layer.halves[i], r, ws[i], tile_rows); });
  // Sweep 2: tiles left to right; R's rows of a finished tile are no longer read by this layer.
  if (record) {
    for (auto& w : ws) {
      for (auto& v : w.conv_state) backend_.fill_zero(v.data(), v.bytes());
      for (auto& v : w.scan_state) backend_.fill_zero(v.data(), v.bytes());
    }
  }
  for (int64_t tile = 0; tile < tiles; ++tile) {
    for_each_half(halves, concurrent,
                  [&](size_t i) { run_tile(layer.halves[i], r, tile, tile_rows, ws[i], epilogue); });
    const int64_t t0 = tile * tile_rows;
    if (epilogue != Epilogue::kResidual) finish_tile(layer, r.row_slice(t0, std::min(tile_rows, len - t0)), ws, epilogue);
  }
}

void Backbone::record_checkpoints(const HalfPlan& half, ConstMatF r, Workspace& ws, int64_t tile_rows) {
  const int64_t len = r.rows;
  const int64_t tiles = (len + tile_rows - 1) / tile_rows;
  for (int m = 0; m < half.passes; ++m) {
    if (!half.reverse[m]) continue;
    const size_t needed = static_cast<size_t>(tiles * ws.state_size);
    if (ws.checkpoints.size() < needed) ws.checkpoints = kernels::DeviceBuffer<float>(backend_, needed);
    // Where each swept tile's scan keeps its chunk states (as many as the backend's chunking
    // of the tile makes; none for a scan in one chunk). Only where they take at most an eighth
    // of the tile's conv output (chunks of >= 8 N rows): the GPU scan cuts any tile into a few
    // hundred chunks, which for small tiles (--tile-rows 256: chunks of 32 rows) would hold
    // more than the checkpoints save.
    ws.kept_chunks.assign(static_cast<size_t>(tiles), {});
    size_t kept = 0;
    for (int64_t tile = 1; tile < tiles; ++tile) {
      const int64_t rows = std::min(tile_rows, len - tile * tile_rows);
      const size_t floats = backend_.scan_chunk_state_floats(mixer_scan(half.mixer[m], true, rows, ws));
      if (floats == 0 || floats > static_cast<size_t>(rows * config_.mixer.d_inner()) / 8) continue;
      ws.kept_chunks[static_cast<size_t>(tile)] = {kept, floats};
      kept += floats;
    }
    float* const chunks = at_least(backend_, ws.scan_chunks, kept);
    float* conv_state = ws.conv_state[m].data();
    float* scan_state = ws.scan_state[m].data();
    backend_.fill_zero(conv_state, ws.conv_state[m].bytes());
    backend_.fill_zero(scan_state, ws.scan_state[m].bytes());
    // The state after the leftmost tile is never used: the sweep stops before it (a record of
    // one tile needs no checkpoint but the zero state).
    for (int64_t tile = tiles - 1; tile >= 0; --tile) {
      float* saved = ws.checkpoint(tile);
      backend_.copy(saved, conv_state, ws.conv_state[m].bytes());
      backend_.copy(saved + ws.conv_size, scan_state, ws.scan_state[m].bytes());
      if (tile == 0) break;
      const int64_t t0 = tile * tile_rows;
      const int64_t rows = std::min(tile_rows, len - t0);
      normalize(half, r.row_slice(t0, rows), ws);
      // Only the state matters here: no z gate, no output.
      const Workspace::KeptChunks kept_here = ws.kept_chunks[static_cast<size_t>(tile)];
      run_mixer(half.mixer[m], true, InProj::kApart, Gate::kNone, rows, ws, conv_state, scan_state, MatF(), false,
                {kept_here.floats ? chunks + kept_here.at : nullptr, nullptr, kept_here.floats});
    }
  }
}

void Backbone::run_tile(const HalfPlan& half, MatF r, int64_t tile, int64_t tile_rows, Workspace& ws,
                        Epilogue epilogue) {
  const int64_t t0 = tile * tile_rows;
  const int64_t rows = std::min(tile_rows, r.rows - t0);
  const int d = config_.d_model;
  const int64_t di = config_.mixer.d_inner();

  normalize(half, r.row_slice(t0, rows), ws);
  const MatF normed(ws.buf->normed.data(), rows, d);

  // With the outputs summed before out_proj, the second direction's scan adds onto y[0].
  MatF y[2];
  for (int m = 0; m < half.passes; ++m) {
    const bool onto_first = m > 0 && half.summed_out_proj;
    y[m] = MatF(ws.buf->y[onto_first ? 0 : m].data(), rows, di);
    float* conv_state = ws.conv_state[m].data();
    float* scan_state = ws.scan_state[m].data();
    ScanChunks chunks;
    if (half.reverse[m] && ws.mode == Workspace::Mode::kRecord) {
      // Right to left: restart from the state recorded entering this tile, and the scan from
      // the chunk states the checkpoint sweep kept for it.
      const float* saved = ws.checkpoint(tile);
      backend_.copy(conv_state, saved, ws.conv_state[m].bytes());
      backend_.copy(scan_state, saved + ws.conv_size, ws.scan_state[m].bytes());
      const Workspace::KeptChunks kept = static_cast<size_t>(tile) < ws.kept_chunks.size()
                                             ? ws.kept_chunks[static_cast<size_t>(tile)]
                                             : Workspace::KeptChunks();
      if (kept.floats) chunks = {nullptr, ws.scan_chunks.data() + kept.at, kept.floats};
    }
    // The checkpoint sweep computed this mixer's x (a right-to-left one's, or the shared one a
    // later right-to-left mixer reads) on every tile but the first: computed alone again there,
    // whether or not the sweep kept chunk states, so that keeping them never changes the bits.
    const bool feeds_reverse = half.reverse[m] || (half.shared_in_proj && m + 1 < half.passes && half.reverse[m + 1]);
    const InProj in = m > 0 && half.shared_in_proj ? InProj::kReuse
                      : tile > 0 && ws.mode == Workspace::Mode::kRecord && feeds_reverse ? InProj::kApart
                                                                                           : InProj::kTogether;
    // Two directions sharing z and summed before out_proj: silu(z) gates the sum once.
    const bool gate_sum = half.passes == 2 && half.shared_in_proj && half.summed_out_proj;
    const Gate gate = !gate_sum ? Gate::kOwn : m == 0 ? Gate::kLater : Gate::kSum;
    // normed is dead once the last in_proj that reads it ran.
    const bool normed_dead = m == half.passes - 1 || half.shared_in_proj;
    run_mixer(half.mixer[m], half.reverse[m], in, gate, rows, ws, conv_state, scan_state,
              y[m], onto_first, chunks, ws.split_out && m == half.passes - 1, normed_dead);
  }

  // [rows, d] = y · out_w^T (+ out_b), the two directions combined by the strategy. Between
  // blocks the result is added straight into this half's columns of R (the residual add);
  // the last block's output goes to ws.out for finish_tile.
  const bool into_r = epilogue == Epilogue::kResidual;
  const MatF out = into_r ? r.row_slice(t0, rows).col_slice(half.col0, d) : MatF(ws.out(), rows, d);
  const MixerView& m0 = half.mixer[0];
  if (ws.split_out) {
    // y split by the last scan: [rows, di] TF32 parts then [rows, di] remainders in xz.
    const ConstMatF xz(ws.buf->xz.data(), rows, 2 * di);
    backend_.linear({xz.col_slice(0, di), m0.out_w, m0.out_b, out, into_r, false, xz.col_slice(di, di)});
  } else if (half.passes == 1 || half.summed_out_proj) {
    backend_.linear({y[0], m0.out_w, m0.out_b, out, into_r});
  } else if (config_.strategy == BidirectionalStrategy::kAdd) {
    backend_.linear({y[0], m0.out_w, m0.out_b, out, into_r});
    backend_.linear({y[1], half.mixer[1].out_w, half.mixer[1].out_b, out, true});
  } else {
    // ew_multiply: normed is dead once both in_projs ran, so it holds the second direction's
    // output, then the product.
    const MatF product = into_r ? normed : out;
    backend_.linear({y[0], m0.out_w, m0.out_b, into_r ? MatF(ws.out(), rows, d) : out, false});
    backend_.linear({y[1], half.mixer[1].out_w, half.mixer[1].out_b, normed, false});
    backend_.elementwise({kernels::ElementwiseOp::kMul, MatF(ws.out(), rows, d), normed, product});
    if (into_r) backend_.elementwise({kernels::ElementwiseOp::kAdd, product, out, out});
  }
}

void Backbone::normalize(const HalfPlan& half, ConstMatF r_tile, Workspace& ws) {
  // [rows, d] mixer input = RMSNorm(this half of the residual) (recomputed per sweep: cheaper
  // than storing it)
  const int d = config_.d_model;
  kernels::AddRmsNormParams np;
  np.residual_in = r_tile.col_slice(half.col0, d);
  np.weight = half.norm_w;
  np.eps = config_.norm_epsilon;
  np.y = ws.normed(r_tile.rows, d);
  np.y_small = ws.normed_small(r_tile.rows, d);
  np.y_repeated = ws.split_out;  // (LinearParams::x_repeated)
  backend_.add_rms_norm(np);
}

kernels::ScanParams Backbone::mixer_scan(const MixerView& m, bool reverse, int64_t rows, const Workspace& ws) const {
  const int64_t di = config_.mixer.d_inner(), n = config_.mixer.d_state, rank = config_.mixer.dt_rank;
  const ConstMatF xc(ws.buf->xc.data(), rows, di), xdbl(ws.buf->xdbl.data(), rows, rank + 2 * n);
  kernels::ScanParams sp;
  sp.u = xc;
  sp.dt_in = xdbl.col_slice(0, rank);
  sp.dt_w = m.dt_w;
  sp.delta_bias = m.dt_b;
  sp.A = m.A;
  sp.B = xdbl.col_slice(rank, n);
  sp.C = xdbl.col_slice(rank + n, n);
  sp.Dskip = m.D;
  sp.seq_len = ws.sequence_rows(rows);
  sp.reverse = reverse;
  return sp;
}

void Backbone::run_mixer(const MixerView& m, bool reverse, InProj in, Gate gate, int64_t rows, Workspace& ws,
                         float* conv_state, float* scan_state, MatF y, bool accumulate, ScanChunks chunks,
                         bool split_out, bool normed_dead) {
  const int64_t di = config_.mixer.d_inner(), n = config_.mixer.d_state, rank = config_.mixer.dt_rank;
  const int64_t d = config_.d_model;
  // normalize()'s output, split where it wrote it split.
  const ConstMatF normed = ws.normed(rows, d), normed_small = ws.normed_small(rows, d);
  const auto in_proj = [&](ConstMatF w, const float* b, MatF out, bool x_unchanged) {
    backend_.linear({normed, w, b, out, false, x_unchanged, normed_small, ws.split_out});
  };

  // [rows, di] x = normed · in_w[:di]^T, z = normed · in_w[di:]^T (+ in_b): one [rows, 2 di]
  // GEMM (normed read once), but two of the same shape where x must be the checkpoint sweep's
  // bits, which computed x alone (on the CPU the same bits either way: every output is its own
  // dot product).
  const MatF xz(ws.buf->xz.data(), rows, 2 * di);
  const MatF x = xz.col_slice(0, di), z = xz.col_slice(di, di);
  const bool with_z = gate != Gate::kNone;
  if (in == InProj::kTogether && with_z) {
    in_proj(m.in_w, m.in_b, xz, false);
  } else if (in != InProj::kReuse) {
    in_proj(m.in_w.row_slice(0, di), m.in_b, x, false);
    if (with_z) in_proj(m.in_w.row_slice(di, di), m.in_b ? m.in_b + di : nullptr, z, true);
  }

  // [rows, di] x = silu(depthwise conv(x)), state carried between tiles
  const MatF xc(ws.buf->xc.data(), rows, di);
  kernels::ConvParams cp;
  cp.x = x;
  cp.w = m.conv_w;
  cp.bias = m.conv_b;
  cp.y = xc;
  // Independent sequences start from zero state and carry none out.
  const bool batch = ws.mode == Workspace::Mode::kBatch;
  cp.seq_len = ws.sequence_rows(rows);
  cp.kernel = config_.mixer.d_conv;
  cp.reverse = reverse;
  cp.state_in = batch ? nullptr : conv_state;
  cp.state_out = batch ? nullptr : conv_state;
  // [rows, rank + 2N] = x · x_proj^T: dt | B | C, with the conv (one pass on the GPU)
  const MatF xdbl(ws.buf->xdbl.data(), rows, rank + 2 * n);
  backend_.conv1d_silu_linear(cp, {xc, m.x_proj_w, nullptr, xdbl, false});

  // [rows, di] y (+)= selective scan, gated by silu(z), state carried between tiles; delta =
  // dt · dt_proj^T inside the scan (dt_proj's bias goes in before softplus)
  kernels::ScanParams sp = mixer_scan(m, reverse, rows, ws);
  if (gate == Gate::kOwn || gate == Gate::kSum) sp.z = z;
  sp.gate_sum = gate == Gate::kSum;
  sp.y = y;
  sp.accumulate = accumulate;
  if (split_out) {
    // x is dead (the last conv ran) and z is read before each remainder overwrites it.
    STRAND_ASSERT(with_z && !y.empty());
    sp.y = x;
    sp.y_small = z;
    if (accumulate) sp.y_add = y;
  }
  sp.h_in = batch ? nullptr : scan_state;
  sp.h_out = batch ? nullptr : scan_state;
  sp.chunk_states_out = chunks.store;
  sp.chunk_states_in = chunks.read;
  sp.chunk_state_floats = chunks.floats;
  // The split norm's rows (3 d wide) hold the dt the GPU scan keeps between its passes: 2 KB a
  // row less scratch for the 131k model, so longer tiles fit the same memory.
  if (normed_dead && ws.split_out && 3 * d >= di) sp.dt_scratch = MatF(ws.buf->normed.data(), rows, di, 3 * d);
  backend_.selective_scan(sp);
}

void Backbone::finish_tile(const LayerPlan& layer, MatF r, std::vector<Workspace>& ws, Epilogue epilogue) {
  const int d = config_.d_model;
  const int64_t rows = r.rows;
  const size_t halves = ws.size();
  const auto o = [&](size_t half) { return MatF(ws[half].out(), rows, d); };
  // Half i of the result goes to columns i * d; it was read from layer.halves[i].col0, which
  // may be the other half's place: every half is read before any is written.
  if (epilogue == Epilogue::kFinalNorm) {
    // out = norm_f(o + r), per half for PS (the final norm never swaps halves).
    for (size_t i = 0; i < halves; ++i) {
      kernels::AddRmsNormParams np;
      np.x = o(i);
      np.residual_in = r.col_slice(layer.halves[i].col0, d);
      np.weight = i == 0 ? norm_f_ : norm_f_rc_ptr_;
      np.eps = config_.norm_epsilon;
      np.y = o(i);
      backend_.add_rms_norm(np);
    }
  }
  // kBlockOutput: R = O.
  for (size_t i = 0; i < halves; ++i) backend_.flip({o(i), r.col_slice(static_cast<int64_t>(i) * d, d), false, false});
}

FlopCount Backbone::executed_flops_per_base(int64_t len, int64_t tile_rows) const {
  const MixerFlops m = mixer_flops(config_);
  // The checkpoint sweep covers every tile but the first.
  const int64_t rows = std::min(tile_rows > 0 ? tile_rows : default_tile_rows(len), std::max<int64_t>(len, 1));
  const int64_t tiles = (std::max<int64_t>(len, 1) + rows - 1) / rows;
  const double swept = static_cast<double>(tiles - 1) / static_cast<double>(tiles);
  const double d = config_.d_model;
  FlopCount f;
  for (const LayerPlan& layer : layers_) {
    for (const HalfPlan& half : layer.halves) {
      f.other += norm_flops(config_) + d;  // the final sweep's norm; the tile's residual update
      for (int i = 0; i < half.passes; ++i) {
        if (half.reverse[i]) {
          // Checkpoint sweep: its own norm, x only, state only.
          f.gemm += swept * (m.in_x + m.x_proj + m.dt_proj);
          f.other += swept * (norm_flops(config_) + m.conv + m.scan_state);
        }
        if (i == 0 || !half.shared_in_proj) f.gemm += m.in_x + m.in_z;
        f.gemm += m.x_proj + m.dt_proj;
        f.other += m.conv + m.scan_state + m.scan_output;
      }
      if (half.summed_out_proj) {
        f.gemm += m.out_proj;
        f.other += config_.mixer.d_inner();
      } else {
        f.gemm += m.out_proj * half.passes;
        f.other += d * (half.passes - 1);
      }
    }
  }
  return f;
}

void Backbone::logits(ConstMatF hidden, MatF out) {
  STRAND_ASSERT(hidden.cols == hidden_width() && out.cols == config_.vocab_size && out.rows == hidden.rows);
  const std::unique_lock<std::mutex> one_at_a_time = one_caller();
  // Host matrices: staged through the backend's memory when it has its own.
  kernels::DeviceBuffer<float> hidden_buffer, out_buffer;
  ConstMatF h = hidden;
  MatF o = out;
  if (!backend_.host_memory()) {
    hidden_buffer = kernels::DeviceBuffer<float>(backend_, static_cast<size_t>(hidden.rows * hidden.cols));
    h = hidden_buffer.mat(hidden.rows, hidden.cols);
    upload(hidden, hidden_buffer.mat(hidden.rows, hidden.cols));
    out_buffer = kernels::DeviceBuffer<float>(backend_, static_cast<size_t>(out.rows * out.cols));
    o = out_buffer.mat(out.rows, out.cols);
  }
  lm_head(h, o);
  if (!backend_.host_memory()) download(o, out);
}

void Backbone::lm_head(ConstMatF h, MatF o) {
  const int d = config_.d_model;
  // [L, V] = h1 · W^T (+ h2 · W_rc^T for PS: RCPSLMHead sums the two strands' logits)
  backend_.linear({h.col_slice(0, d), lm_head_, nullptr, o, false});
  if (config_.rcps) backend_.linear({h.col_slice(d, d), lm_head_rc_table_, nullptr, o, true});
}

}  // namespace strand::model
