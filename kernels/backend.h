// The dispatch layer: the forward pass is written once against kernels::Backend; the CPU and
// CUDA implementations live behind it. The scalar reference backend is the
// ground truth the tests compare the fast ones with.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "kernels/ops.h"

namespace strand::kernels {

// How linear() multiplies, on backends that have the choice (CUDA; the CPU backends are fp32
// only). kFp32: true fp32 products and sums (the reference mode, TF32 off). kTf32: tensor cores
// on TF32-rounded operands (10-bit mantissa), fp32 sums and output. kTf32x3: fp32-accurate
// products on the TF32 tensor cores (each operand split into a TF32 part and its remainder,
// three TF32 products summed in fp32; ~2^-22 per product). kBf16: operands rounded to
// bf16, fp32 accumulation and output (DESIGN: bf16 storage, fp32 accumulation). Every other op
// (conv, scan state, norms) stays fp32 in every mode.
enum class GemmPrecision { kFp32, kTf32, kTf32x3, kBf16 };
std::string_view to_string(GemmPrecision precision);
// "fp32", "tf32", "tf32x3", "bf16"; throws strand::Error naming the text otherwise.
GemmPrecision parse_gemm_precision(std::string_view text);

// Every op of ops.h, plus the memory the ops read and write. Views (tensor.h) are raw pointers
// and where they point is the backend's business: host memory for the CPU and reference
// backends, device memory for CUDA. The model allocates its weights, activations and state
// through allocate() (DeviceBuffer below) and moves data in and out with upload/download, so
// it runs unchanged on any backend.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;

  virtual void linear(const LinearParams& p) = 0;
  virtual void conv1d_silu(const ConvParams& p) = 0;
  // conv1d_silu, then linear on its output (lin.x is conv.y: the mixer's conv and x_proj), with
  // the results of the two calls. A backend may make one pass of them (CUDA in the tensor-core
  // modes: the conv's output is written once and not read back).
  virtual void conv1d_silu_linear(const ConvParams& conv, const LinearParams& lin) {
    check(conv, lin);
    conv1d_silu(conv);
    linear(lin);
  }
  // Whether conv1d_silu_linear makes one pass for these params (tests; the profile names it).
  virtual bool fuses_conv_linear(const ConvParams& conv, const LinearParams& lin) const {
    (void)conv;
    (void)lin;
    return false;
  }
  virtual void selective_scan(const ScanParams& p) = 0;
  // Floats of ScanParams::chunk_states_out a state-only call with p's shapes stores (the same
  // for the call with y that reads them), or 0 when this backend keeps none for it (the CPU
  // backends; a call the CUDA scan runs in one chunk).
  virtual size_t scan_chunk_state_floats(const ScanParams& p) const {
    (void)p;
    return 0;
  }
  // Whether ScanParams::y_small / LinearParams::x_small may be passed (the CUDA backend in
  // tf32x3: out_proj then reads the scan's output already split for the tensor cores).
  virtual bool takes_split_activations() const { return false; }
  // Bytes per row of the copy `linear` makes of an input [rows, cols] that it is not given in
  // its tensor cores' layout (CUDA: split in three for tf32x3, 12 bytes an element; bf16, 2),
  // kept in the backend's scratch: the model counts it in its tile memory.
  virtual size_t gemm_input_copy_bytes(int64_t cols) const {
    (void)cols;
    return 0;
  }
  virtual void add_rms_norm(const AddRmsNormParams& p) = 0;
  virtual void embedding(const EmbeddingParams& p) = 0;
  virtual void elementwise(const ElementwiseParams& p) = 0;
  virtual void flip(const FlipParams& p) = 0;

  // ---- memory (the defaults are host memory) -------------------------------------------
  // True when the ops read and write host memory, so host pointers may be passed directly.
  virtual bool host_memory() const { return true; }
  // `bytes` of this backend's memory, 256-byte aligned, contents unspecified; throws
  // strand::Error naming the size when it cannot. bytes == 0 gives nullptr.
  virtual void* allocate(size_t bytes);
  virtual void deallocate(void* ptr) noexcept;
  // Ordered after every op issued before them; download returns once the data is on the host.
  virtual void upload(void* dst, const void* host_src, size_t bytes);
  virtual void download(void* host_dst, const void* src, size_t bytes);
  virtual void copy(void* dst, const void* src, size_t bytes);  // within this backend's memory
  virtual void fill_zero(void* dst, size_t bytes);
  // Waits for every op issued so far (a no-op on the host).
  virtual void synchronize() {}
  // Bytes of this backend's own memory held now (allocate() plus its internal scratch) and the
  // most held since the last reset_peak(). Zero for host-memory backends, whose use shows in
  // the process's resident set instead.
  struct MemoryUse {
    size_t current_bytes = 0, peak_bytes = 0;
  };
  virtual MemoryUse memory_use() const { return {}; }
  virtual void reset_peak() {}
  virtual GemmPrecision gemm_precision() const { return GemmPrecision::kFp32; }

  // ---- recording -----------------------------------------------------------------------
  // Runs `issue`, which only enqueues this backend's ops (no upload, download, allocate,
  // deallocate or synchronize) and may be run a second time if a recording of it fails. A
  // backend that can record what it enqueues (CUDA: a graph) replays the recording instead when
  // `owner` calls again with an equal `signature`, so the signature must hold everything that
  // issue() passes to the ops: shapes, and the pointers (or a fresh number whenever a buffer is
  // reallocated). What the ops read from memory may change between calls; their arguments may
  // not. Results are the same bits either way. Host-memory backends just call `issue`.
  virtual void run_recorded(const void* owner, std::span<const int64_t> signature, const std::function<void()>& issue) {
    (void)owner, (void)signature;
    issue();
  }
  // Drops owner's recording (before the owner goes away: its address may be reused).
  virtual void forget_recorded(const void* owner) noexcept { (void)owner; }
  // Off: every run_recorded call runs `issue` (recording is on by default where it exists;
  // STRAND_CUDA_GRAPHS=0 in the environment turns it off for a CUDA backend).
  virtual void set_recording(bool on) { (void)on; }
  // Calls of run_recorded run directly, recorded (and launched) and replayed so far.
  struct RecordingStats {
    int64_t direct = 0, recorded = 0, replayed = 0;
  };
  virtual RecordingStats recording_stats() const { return {}; }

  // ---- scheduling ----------------------------------------------------------------------
  // Whether ops may be called from several threads at once (the CPU backends: yes; CUDA:
  // one stream per backend, so the model issues them from one thread).
  virtual bool concurrent_calls() const { return true; }
  // Positions per tile that suit this backend for a record of `record_len` rows (0: short or
  // unknown) when the caller does not choose (results never depend on it beyond fp32
  // rounding), for a model whose tile workspace takes `row_bytes` per row (0: unknown): a
  // backend with its own memory keeps the tiles within what is free.
  virtual int64_t default_tile_rows(int64_t record_len, size_t row_bytes) const {
    (void)record_len, (void)row_bytes;
    return 1024;
  }
};

// Rows per tile of a record of `record_len` rows cut into the fewest tiles of at most `max_rows`
// (>= 1), evened out: ceil(record_len / tiles), so no tile is much shorter than the others.
int64_t even_tile_rows(int64_t record_len, int64_t max_rows);
// The most tile rows, at `row_bytes` each, that take at most kTileMemoryShare of `free_bytes`
// (the rest stays for scratch that grows later, the library's own and other records), and at
// least kMinTileRowsInMemory (fewer cost a checkpoint sweep each for little memory: below that a
// device is too small for the model, and the allocation says so).
inline constexpr double kTileMemoryShare = 0.75;
inline constexpr int64_t kMinTileRowsInMemory = 4096;
int64_t tile_rows_in_memory(size_t free_bytes, size_t row_bytes);

// An owning array of T in a backend's memory (move-only). The backend must outlive it.
template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(Backend& backend, size_t count)
      : backend_(&backend), data_(static_cast<T*>(backend.allocate(count * sizeof(T)))), count_(count) {}
  DeviceBuffer(DeviceBuffer&& other) noexcept { swap(other); }
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    DeviceBuffer moved(std::move(other));
    swap(moved);
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() {
    if (data_) backend_->deallocate(data_);
  }

  T* data() const { return data_; }
  size_t size() const { return count_; }
  size_t bytes() const { return count_ * sizeof(T); }
  // A [rows, cols] view of the first rows * cols elements.
  Mat<T> mat(int64_t rows, int64_t cols) const {
    STRAND_ASSERT(static_cast<size_t>(rows * cols) <= count_, "view [", rows, ", ", cols, "] of ", count_);
    return Mat<T>(data_, rows, cols);
  }

 private:
  void swap(DeviceBuffer& o) noexcept {
    std::swap(backend_, o.backend_);
    std::swap(data_, o.data_);
    std::swap(count_, o.count_);
  }
  Backend* backend_ = nullptr;
  T* data_ = nullptr;
  size_t count_ = 0;
};

// Scalar loops, obviously correct, slow: the ground truth for tests. fp32 math as the
// PyTorch reference does it, with double accumulation for the long sums (GEMM dot products,
// the RMSNorm mean of squares); kernels/reference/reference_backend.cpp says which.
std::unique_ptr<Backend> make_reference_backend();
// Own GEMM kernel + TBB + SIMD, on the threads of the caller's tbb::task_arena.
std::unique_ptr<Backend> make_cpu_backend();
// CUDA on device `ordinal` (kernels/cuda/): ops on one stream, GEMMs in `precision`, all else
// fp32. Throws strand::Error when this build has no CUDA backend or the device cannot be used.
std::unique_ptr<Backend> make_cuda_backend(int ordinal, GemmPrecision precision = GemmPrecision::kFp32);

}  // namespace strand::kernels
