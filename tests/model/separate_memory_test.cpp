// The forward pass on a backend with memory of its own (as CUDA has), without a GPU: a wrapper
// of the CPU backend that reports host_memory() == false, allocates its own blocks (filled with
// NaN so that reading anything never written shows), and fails the test whenever an op, a copy
// or a fill touches a pointer outside its blocks. The Backbone must then upload every weight it
// uses, keep R and the workspace in that memory, download the result, issue ops from one
// thread — and give bitwise the results of the plain CPU backend.
#include "model/backbone.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "kernels/backend.h"
#include "model/weights.h"
#include "tests/test_support.h"

namespace strand::model {
namespace {

namespace fs = std::filesystem;
using kernels::ConstMatF;

class SeparateMemoryBackend final : public kernels::Backend {
 public:
  std::string name() const override { return "separate-memory"; }
  bool host_memory() const override { return false; }
  bool concurrent_calls() const override { return false; }
  int64_t default_tile_rows(int64_t /*record_len*/, size_t /*row_bytes*/) const override { return 100; }

  void* allocate(size_t bytes) override {
    if (bytes == 0) return nullptr;
    auto* block = new float[(bytes + 3) / 4];
    std::fill_n(block, (bytes + 3) / 4, std::numeric_limits<float>::quiet_NaN());
    blocks_[reinterpret_cast<const char*>(block)] = bytes;
    current_bytes_ += bytes;
    peak_bytes_ = std::max(peak_bytes_, current_bytes_);
    return block;
  }
  void deallocate(void* ptr) noexcept override {
    if (!ptr) return;
    const auto it = blocks_.find(static_cast<const char*>(ptr));
    if (it != blocks_.end()) current_bytes_ -= it->second, blocks_.erase(it);
    delete[] static_cast<float*>(ptr);
  }
  MemoryUse memory_use() const override { return {current_bytes_, peak_bytes_}; }
  void reset_peak() override { peak_bytes_ = current_bytes_; }
  void upload(void* dst, const void* host_src, size_t bytes) override {
    expect_owned(dst, bytes, "upload destination");
    std::memcpy(dst, host_src, bytes);
  }
  void download(void* host_dst, const void* src, size_t bytes) override {
    expect_owned(src, bytes, "download source");
    std::memcpy(host_dst, src, bytes);
  }
  void copy(void* dst, const void* src, size_t bytes) override {
    expect_owned(dst, bytes, "copy destination");
    expect_owned(src, bytes, "copy source");
    std::memmove(dst, src, bytes);
  }
  void fill_zero(void* dst, size_t bytes) override {
    expect_owned(dst, bytes, "fill");
    std::memset(dst, 0, bytes);
  }

  void linear(const kernels::LinearParams& p) override {
    op("linear", {p.x, p.w, p.y}, {p.bias});
    cpu_->linear(p);
  }
  void conv1d_silu(const kernels::ConvParams& p) override {
    op("conv1d_silu", {p.x, p.y}, {p.w, p.bias, p.state_in, p.state_out});
    cpu_->conv1d_silu(p);
  }
  void selective_scan(const kernels::ScanParams& p) override {
    op("selective_scan", {p.u, p.delta, p.A, p.B, p.C, p.z, p.y}, {p.delta_bias, p.Dskip, p.h_in, p.h_out});
    cpu_->selective_scan(p);
  }
  void add_rms_norm(const kernels::AddRmsNormParams& p) override {
    op("add_rms_norm", {p.x, p.residual_in, p.residual_out, p.y}, {p.weight});
    cpu_->add_rms_norm(p);
  }
  void embedding(const kernels::EmbeddingParams& p) override {
    op("embedding", {p.table, p.y}, {p.ids});
    cpu_->embedding(p);
  }
  void elementwise(const kernels::ElementwiseParams& p) override {
    op("elementwise", {p.a, p.b, p.y}, {});
    cpu_->elementwise(p);
  }
  void flip(const kernels::FlipParams& p) override {
    op("flip", {p.x, p.y}, {});
    cpu_->flip(p);
  }

  int calls_from_other_threads = 0;

 private:
  bool owns(const void* ptr, size_t bytes) const {
    const char* p = static_cast<const char*>(ptr);
    auto it = blocks_.upper_bound(p);
    if (it == blocks_.begin()) return false;
    --it;
    return p >= it->first && p + bytes <= it->first + it->second;
  }
  void expect_owned(const void* ptr, size_t bytes, const char* what) const {
    EXPECT_TRUE(ptr == nullptr || owns(ptr, bytes)) << what << ": " << bytes << " bytes outside the backend's memory";
  }
  void op(const char* name, std::initializer_list<ConstMatF> views, std::initializer_list<const void*> pointers) {
    if (std::this_thread::get_id() != owner_) ++calls_from_other_threads;
    for (const ConstMatF& v : views) {
      if (v.empty() || v.rows == 0) continue;
      const size_t bytes = static_cast<size_t>(((v.rows - 1) * v.ld + v.cols) * 4);
      expect_owned(v.data, bytes, name);
    }
    for (const void* p : pointers) expect_owned(p, 4, name);
  }

  std::unique_ptr<kernels::Backend> cpu_ = kernels::make_cpu_backend();
  std::map<const char*, size_t> blocks_;
  size_t current_bytes_ = 0, peak_bytes_ = 0;
  std::thread::id owner_ = std::this_thread::get_id();
};

// One golden model on the separate-memory backend and on the plain CPU backend.
struct BackbonePair {
  explicit BackbonePair(const std::string& name)
      : weights(load_model((test::source_dir() / "data" / "golden" / name).string())),
        on_device(weights, separate),
        on_host(weights, *cpu) {}
  ModelWeights weights;
  SeparateMemoryBackend separate;
  std::unique_ptr<kernels::Backend> cpu = kernels::make_cpu_backend();
  Backbone on_device, on_host;
};

TEST(SeparateMemory, ForwardPassEqualsTheHostBackendBitwise) {
  const auto models = test::golden_models();
  ASSERT_FALSE(models.empty()) << "no golden models in data/golden";
  std::mt19937 rng(5);
  std::vector<int32_t> ids(333);
  for (int32_t& id : ids) id = 6 + static_cast<int32_t>(rng() % 6);  // A C G T N and "other"
  const int64_t len = static_cast<int64_t>(ids.size());
  for (const std::string& name : models) {
    SCOPED_TRACE(name);
    BackbonePair pair(name);
    Backbone &on_device = pair.on_device, &on_host = pair.on_host;
    const int64_t width = on_host.hidden_width(), vocab = on_host.vocab_size();
    for (int layer : {-1, 0, 1}) {
      // A strided output (ld > width) exercises the row-by-row download.
      std::vector<float> got(static_cast<size_t>(len * (width + 3)), -7.0f), want(static_cast<size_t>(len * width));
      on_device.run(ids, kernels::MatF(got.data(), len, width, width + 3), {.layer = layer});
      on_host.run(ids, kernels::MatF(want.data(), len, width), {.tile_rows = 100, .layer = layer});
      size_t differ = 0;
      for (int64_t i = 0; i < len; ++i)
        for (int64_t c = 0; c < width; ++c)
          differ += got[static_cast<size_t>(i * (width + 3) + c)] != want[static_cast<size_t>(i * width + c)];
      EXPECT_EQ(differ, 0u) << "layer " << layer;
      EXPECT_EQ(got[static_cast<size_t>(width)], -7.0f) << "the download wrote into the padding";
      if (layer == -1) {
        std::vector<float> logits_got(static_cast<size_t>(len * vocab)), logits_want(logits_got.size());
        on_device.logits(ConstMatF(want.data(), len, width), kernels::MatF(logits_got.data(), len, vocab));
        on_host.logits(ConstMatF(want.data(), len, width), kernels::MatF(logits_want.data(), len, vocab));
        EXPECT_EQ(logits_got, logits_want);
      }
    }
    EXPECT_EQ(pair.separate.calls_from_other_threads, 0);
  }
}

// Backbone::tile_row_bytes, what default tile sizes are fitted into free device memory by,
// against what a record's pass allocates per tile row: two passes over one record in two tiles
// of different sizes differ in their peak by exactly (difference in rows) x the tile's bytes per
// row, which tile_row_bytes covers (this backend keeps no scratch: the allowance for one,
// d_inner floats, is the whole gap).
TEST(SeparateMemory, TileRowBytesCoverWhatATileAllocates) {
  const auto models = test::golden_models();
  ASSERT_FALSE(models.empty()) << "no golden models in data/golden";
  std::vector<int32_t> ids(1000);
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = 6 + static_cast<int32_t>(i % 5);
  const int64_t len = static_cast<int64_t>(ids.size());
  for (const std::string& name : models) {
    SCOPED_TRACE(name);
    BackbonePair pair(name);
    const int64_t width = pair.on_device.hidden_width();
    std::vector<float> out(static_cast<size_t>(len * width));
    const auto peak_with = [&](int64_t tile_rows) {
      pair.separate.reset_peak();
      pair.on_device.run(ids, kernels::MatF(out.data(), len, width), {.tile_rows = tile_rows});
      return pair.separate.memory_use().peak_bytes;
    };
    const size_t small = peak_with(500), large = peak_with(600);  // two tiles each
    const size_t per_row = (large - small) / 100;
    EXPECT_EQ(large - small, per_row * 100);
    const size_t allowance = sizeof(float) * static_cast<size_t>(pair.weights.config.mixer.d_inner());
    EXPECT_EQ(pair.on_device.tile_row_bytes(), per_row + allowance);
  }
}

// run_batch keeps its buffers between calls on such a backend: batches that grow, shrink
// (running in the larger, stale buffers) and keep only some rows all give the host's rows.
TEST(SeparateMemory, BatchesReuseTheirBuffersAndKeepOnlyTheRowsAskedFor) {
  const auto models = test::golden_models();
  ASSERT_FALSE(models.empty()) << "no golden models in data/golden";
  std::mt19937 rng(7);
  constexpr int64_t kWindow = 41;
  for (const std::string& name : models) {
    SCOPED_TRACE(name);
    BackbonePair pair(name);
    Backbone &on_device = pair.on_device, &on_host = pair.on_host;
    const int64_t width = on_host.hidden_width();
    for (const int64_t windows : {2, 5, 3}) {
      std::vector<int32_t> ids(static_cast<size_t>(windows * kWindow));
      for (int32_t& id : ids) id = 6 + static_cast<int32_t>(rng() % 6);
      const int64_t rows = windows * kWindow;
      std::vector<float> got(static_cast<size_t>(rows * width)), want(got.size());
      on_device.run_batch(ids, kWindow, kernels::MatF(got.data(), rows, width), {.tile_rows = rows});
      on_host.run_batch(ids, kWindow, kernels::MatF(want.data(), rows, width), {.tile_rows = rows});
      EXPECT_EQ(got, want) << windows << " windows";
      const std::vector<int32_t> keep = {static_cast<int32_t>(rows - 1), 20, static_cast<int32_t>(kWindow + 3)};
      std::vector<float> kept(keep.size() * static_cast<size_t>(width)), kept_want;
      on_device.run_batch(ids, kWindow, kernels::MatF(kept.data(), static_cast<int64_t>(keep.size()), width),
                          {.tile_rows = rows}, keep);
      for (const int32_t k : keep)
        kept_want.insert(kept_want.end(), want.begin() + k * width, want.begin() + (k + 1) * width);
      EXPECT_EQ(kept, kept_want) << windows << " windows, kept rows";
    }
    EXPECT_EQ(pair.separate.calls_from_other_threads, 0);
  }
}

}  // namespace
}  // namespace strand::model
