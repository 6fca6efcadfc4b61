// The CUDA backend: the ops of cuda_ops.h on one device, one stream and one cuBLAS handle
// bound to it, plus device memory for the model's buffers. Every op checks its params and
// enqueues kernels without waiting; upload and download wait for the stream (so a host buffer
// may be reused, and downloaded data is there, when they return); synchronize waits for
// everything issued. Every method first makes this backend's device current, so backends on
// several devices can be driven from one thread. Ops are not to be called concurrently (one
// stream): concurrent_calls() is false. Memory use counts every allocate() and the ops'
// scratch (cuda::Workspace), not the CUDA context or cuBLAS's workspace (32 MiB). Repeated
// op sequences that the model marks (run_recorded) run as CUDA graphs (cuda/graph_recorder.h).
// clang-format off
#include "kernels/cuda/cuda_ops.h"  // first: see the note on #554 there
// clang-format on

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/error.h"
#include "kernels/backend.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/graph_recorder.h"
#include "kernels/cuda/op_profile.h"

namespace strand::kernels {
namespace {

class CudaBackend final : public Backend {
 public:
  CudaBackend(int ordinal, GemmPrecision precision) : ordinal_(ordinal), precision_(precision) {
    int count = 0;
    const cudaError_t rc = cudaGetDeviceCount(&count);
    if (rc != cudaSuccess) {
      (void)cudaGetLastError();
      count = 0;
    }
    if (ordinal < 0 || ordinal >= count) {
      fail("cuda:", ordinal, ": no such device (", count, " visible",
           rc != cudaSuccess ? cat(": ", cudaGetErrorString(rc)) : std::string(), ")");
    }
    STRAND_CUDA_CHECK(cudaSetDevice(ordinal_));
    STRAND_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    const cublasStatus_t status = cublasCreate(&cublas_);
    if (status != CUBLAS_STATUS_SUCCESS) {
      cublas_ = nullptr;
      release();
      fail("cuda:", ordinal, ": cublasCreate failed: ", cublasGetStatusName(status), " (",
           cublasGetStatusString(status), ")");
    }
    try {
      STRAND_CUBLAS_CHECK(cublasSetStream(cublas_, stream_));
      // True fp32: no TF32 tensor cores, no emulation, no reduced-precision reductions.
      STRAND_CUBLAS_CHECK(cublasSetMathMode(
          cublas_, static_cast<cublasMath_t>(CUBLAS_DEFAULT_MATH | CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION)));
      STRAND_CUBLAS_CHECK(cublasSetPointerMode(cublas_, CUBLAS_POINTER_MODE_HOST));
      // cuBLAS's workspace, ours: it must not allocate one while a graph is being captured.
      STRAND_CUDA_CHECK(cudaMalloc(&cublas_workspace_, kCublasWorkspaceBytes));
      STRAND_CUBLAS_CHECK(cublasSetWorkspace(cublas_, cublas_workspace_, kCublasWorkspaceBytes));
      workspace_ = std::make_unique<cuda::Workspace>(ordinal_);
      recorder_ = std::make_unique<cuda::GraphRecorder>(*workspace_);
      const char* graphs = std::getenv("STRAND_CUDA_GRAPHS");
      recording_ = !(graphs && std::string_view(graphs) == "0");
    } catch (...) {
      release();
      throw;
    }
  }
  ~CudaBackend() override { release(); }
  CudaBackend(const CudaBackend&) = delete;
  CudaBackend& operator=(const CudaBackend&) = delete;

  std::string name() const override { return cat("cuda:", ordinal_); }
  GemmPrecision gemm_precision() const override { return precision_; }
  // tf32x3: the scan writes y split and out_proj multiplies it as is (gemm.cu).
  bool takes_split_activations() const override { return precision_ == GemmPrecision::kTf32x3; }
  // gemm.cu's split_tf32 and to_bf16 copies (Workspace::kGemmX).
  size_t gemm_input_copy_bytes(int64_t cols) const override {
    const auto n = static_cast<size_t>(cols);
    return precision_ == GemmPrecision::kTf32x3 ? 3 * sizeof(float) * n
           : precision_ == GemmPrecision::kBf16 ? 2 * n
                                                : 0;
  }

  // Each op: enqueued on the stream; with STRAND_CUDA_PROFILE on, timed under kind() (a name
  // built only then). The ops with scratch then note it in the memory use.
  void linear(const LinearParams& p) override {
    op([&] { cuda::linear(p, precision_, cublas_, stream_, *workspace_); },
       [&] { return cat("linear [", p.w.rows, " x ", p.x.cols, p.x_small.empty() ? "" : ", split", "]"); });
    note_scratch();
  }
  void conv1d_silu(const ConvParams& p) override {
    op([&] { cuda::conv1d_silu(p, stream_); }, [] { return std::string("conv1d_silu"); });
  }
  void conv1d_silu_linear(const ConvParams& conv, const LinearParams& lin) override {
    if (!fuses_conv_linear(conv, lin)) {
      Backend::conv1d_silu_linear(conv, lin);
      return;
    }
    op([&] { cuda::conv1d_silu_linear(conv, lin, precision_, stream_, *workspace_); },
       [&] { return cat("conv1d_silu + linear [", lin.w.rows, " x ", lin.x.cols, "]"); });
    note_scratch();
  }
  bool fuses_conv_linear(const ConvParams& conv, const LinearParams& lin) const override {
    return cuda::conv_linear_fused_applies(conv, lin, precision_);
  }
  void selective_scan(const ScanParams& p) override {
    op([&] { cuda::selective_scan(p, stream_, *workspace_); },
       [&] {
         return std::string(p.y.empty()         ? "selective_scan (state only)"
                            : p.chunk_states_in ? "selective_scan (kept chunk states)"
                                                : "selective_scan");
       });
    note_scratch();
  }
  size_t scan_chunk_state_floats(const ScanParams& p) const override {
    activate();
    return cuda::scan_chunk_state_floats(p, workspace_->sm_count());
  }
  void add_rms_norm(const AddRmsNormParams& p) override {
    op([&] { cuda::add_rms_norm(p, stream_); }, [] { return std::string("add_rms_norm"); });
  }
  void embedding(const EmbeddingParams& p) override {
    op([&] { cuda::embedding(p, stream_); }, [] { return std::string("embedding"); });
  }
  void elementwise(const ElementwiseParams& p) override {
    op([&] { cuda::elementwise(p, stream_); }, [] { return std::string("elementwise"); });
  }
  void flip(const FlipParams& p) override {
    op([&] { cuda::flip(p, stream_); }, [] { return std::string("flip/copy"); });
  }

  // ---- memory -----------------------------------------------------------------------------
  bool host_memory() const override { return false; }

  // cudaMalloc returns 256-byte aligned memory (at least).
  void* allocate(size_t bytes) override {
    if (bytes == 0) return nullptr;
    activate();
    void* ptr = nullptr;
    const cudaError_t rc = cudaMalloc(&ptr, bytes);
    if (rc != cudaSuccess) {
      (void)cudaGetLastError();  // out of memory is not sticky: leave no stale error behind
      size_t free_bytes = 0, total_bytes = 0;
      const bool have_info = cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess;
      (void)cudaGetLastError();
      fail(name(), ": cannot allocate ", bytes, " bytes of device memory: ", cudaGetErrorString(rc),
           have_info ? cat(" (", free_bytes, " of ", total_bytes, " bytes free)") : std::string());
    }
    std::lock_guard<std::mutex> lock(memory_mutex_);
    allocations_[ptr] = bytes;
    allocated_bytes_ += bytes;
    update_peak();
    return ptr;
  }

  // cudaFree waits for the device, so no op issued earlier still uses the memory.
  void deallocate(void* ptr) noexcept override {
    if (!ptr) return;
    {
      std::lock_guard<std::mutex> lock(memory_mutex_);
      const auto it = allocations_.find(ptr);
      if (it != allocations_.end()) {
        allocated_bytes_ -= it->second;
        allocations_.erase(it);
      }
    }
    if (cudaSetDevice(ordinal_) != cudaSuccess || cudaFree(ptr) != cudaSuccess) (void)cudaGetLastError();
  }

  MemoryUse memory_use() const override {
    std::lock_guard<std::mutex> lock(memory_mutex_);
    return {allocated_bytes_ + workspace_->bytes(), peak_bytes_};
  }
  void reset_peak() override {
    std::lock_guard<std::mutex> lock(memory_mutex_);
    peak_bytes_ = allocated_bytes_ + workspace_->bytes();
  }

  void upload(void* dst, const void* host_src, size_t bytes) override {
    if (bytes == 0) return;
    activate();
    STRAND_CUDA_CHECK(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, stream_));
    STRAND_CUDA_CHECK(cudaStreamSynchronize(stream_));
  }

  void download(void* host_dst, const void* src, size_t bytes) override {
    if (bytes == 0) return;
    activate();
    STRAND_CUDA_CHECK(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, stream_));
    STRAND_CUDA_CHECK(cudaStreamSynchronize(stream_));
  }

  void copy(void* dst, const void* src, size_t bytes) override {
    if (bytes == 0) return;
    op([&] { STRAND_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_)); },
       [] { return std::string("memcpy d2d"); });
  }

  void fill_zero(void* dst, size_t bytes) override {
    if (bytes == 0) return;
    activate();
    STRAND_CUDA_CHECK(cudaMemsetAsync(dst, 0, bytes, stream_));
  }

  void synchronize() override {
    activate();
    STRAND_CUDA_CHECK(cudaStreamSynchronize(stream_));
  }

  // ---- recording --------------------------------------------------------------------------
  // CUDA graphs (cuda/graph_recorder.h); not while profiling, whose events time each op.
  void run_recorded(const void* owner, std::span<const int64_t> signature,
                    const std::function<void()>& issue) override {
    activate();
    if (!recording_ || profile_.active()) {
      issue();
      return;
    }
    recorder_->run(owner, signature, stream_, issue);
  }
  void forget_recorded(const void* owner) noexcept override {
    if (cudaSetDevice(ordinal_) != cudaSuccess) (void)cudaGetLastError();
    recorder_->forget(owner);
  }
  void set_recording(bool on) override { recording_ = on; }
  RecordingStats recording_stats() const override { return recorder_->stats(); }

  // ---- scheduling -------------------------------------------------------------------------
  bool concurrent_calls() const override { return false; }
  // The chunked scan fills the GPU from a few thousand rows on. Batches of windows go in groups
  // of 65,536 rows. A record runs as one tile up to 393,216 rows (no checkpoint sweep), longer
  // ones in the fewest tiles of at most that, evened out (1 Mb: three of 333,334 rows): the
  // device workspace (tile matrices, which a PS model's halves share, plus the GEMM and scan
  // scratch) takes ~14 KB per row, ~5.3 GB; each tile fewer saves its checkpoint sweep. H100,
  // Caduceus-PS 131k shape, tf32x3, hidden states left on the GPU: 1 Mb in 1.149 s (6.35 GB) in
  // three 333,334-row tiles against 1.176 s (5.95 GB) in four of 262,144 rows before, in one
  // call (and 1.245 s, 4.0 GB, in eight of 131,072 in an earlier one, with the scan's dt in its
  // own scratch); 131 kb in one tile 0.136 s (2.0 GB) against 0.182 s (0.92 GB) in three and
  // 0.186 s (0.79 GB) in four.
  // On a device with less free memory than that takes (a GPU of 8-24 GB, or one shared with
  // other work) a longer record's tiles shrink to what fits (tile_rows_in_memory), in more
  // tiles. Batches and records of up to kTileRows rows (~1 GB) keep theirs: a batch's group size
  // must not follow the free memory, which its own cached workspace lowers after the first call.
  int64_t default_tile_rows(int64_t record_len, size_t row_bytes) const override {
    if (record_len <= kTileRows) return kTileRows;
    int64_t most = kLongTileRows;
    if (row_bytes > 0) {
      activate();
      size_t free_bytes = 0, total_bytes = 0;
      STRAND_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
      // The scratch this backend keeps from earlier calls is free for this one (row_bytes counts
      // it): without it, a second record of a run would get smaller tiles than the first.
      free_bytes += workspace_->bytes();
      most = std::min(most, tile_rows_in_memory(free_bytes, row_bytes));
    }
    return even_tile_rows(record_len, most);
  }

 private:
  void activate() const { STRAND_CUDA_CHECK(cudaSetDevice(ordinal_)); }
  template <typename Launch, typename Kind>
  void op(const Launch& launch, const Kind& kind) {
    activate();
    if (!profile_.active()) {
      launch();
      return;
    }
    profile_.begin(stream_);
    launch();
    profile_.end(stream_, kind());
  }
  void update_peak() { peak_bytes_ = std::max(peak_bytes_, allocated_bytes_ + workspace_->bytes()); }
  void note_scratch() {
    std::lock_guard<std::mutex> lock(memory_mutex_);
    update_peak();
  }

  // Destroys what the constructor made; errors are ignored (called from the destructor).
  void release() noexcept {
    if (cudaSetDevice(ordinal_) == cudaSuccess && stream_) (void)cudaStreamSynchronize(stream_);
    recorder_.reset();
    workspace_.reset();
    if (cublas_) (void)cublasDestroy(cublas_);
    if (stream_) (void)cudaStreamDestroy(stream_);
    if (cublas_workspace_) (void)cudaFree(cublas_workspace_);
    cublas_workspace_ = nullptr;
    cublas_ = nullptr;
    stream_ = nullptr;
    (void)cudaGetLastError();
  }

  int ordinal_ = 0;
  GemmPrecision precision_ = GemmPrecision::kFp32;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  // 32 MiB: NVIDIA's recommendation for Hopper (cuBLAS documentation, cublasSetWorkspace).
  static constexpr size_t kCublasWorkspaceBytes = size_t(32) << 20;
  static constexpr int64_t kTileRows = 65536, kLongTileRows = 393216;
  void* cublas_workspace_ = nullptr;
  std::unique_ptr<cuda::Workspace> workspace_;
  std::unique_ptr<cuda::GraphRecorder> recorder_;  // after workspace_, whose generation it reads
  bool recording_ = true;
  cuda::OpProfile profile_;  // STRAND_CUDA_PROFILE=1: GPU time per op, logged at destruction
  mutable std::mutex memory_mutex_;
  std::unordered_map<void*, size_t> allocations_;
  size_t allocated_bytes_ = 0, peak_bytes_ = 0;
};

}  // namespace

std::unique_ptr<Backend> make_cuda_backend(int ordinal, GemmPrecision precision) {
  return std::make_unique<CudaBackend>(ordinal, precision);
}

}  // namespace strand::kernels
