// The CUDA backend: the ops of cuda_ops.h on one device, one stream and one cuBLAS handle
// bound to it, plus device memory for the model's buffers. Every op checks its params and
// enqueues kernels without waiting; upload and download wait for the stream (so a host buffer
// may be reused, and downloaded data is there, when they return); synchronize waits for
// everything issued. Every method first makes this backend's device current, so backends on
// several devices can be driven from one thread. Ops are not to be called concurrently (one
// stream): concurrent_calls() is false.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <memory>
#include <string>

#include "kernels/cuda/cuda_ops.h"  // first: see the note on #554 there
#include "core/error.h"
#include "kernels/backend.h"
#include "kernels/cuda/cuda_check.h"

namespace strand::kernels {
namespace {

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(int ordinal) : ordinal_(ordinal) {
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
    } catch (...) {
      release();
      throw;
    }
  }
  ~CudaBackend() override { release(); }
  CudaBackend(const CudaBackend&) = delete;
  CudaBackend& operator=(const CudaBackend&) = delete;

  std::string name() const override { return cat("cuda:", ordinal_); }

  void linear(const LinearParams& p) override {
    activate();
    cuda::linear(p, cublas_, stream_);
  }
  void conv1d_silu(const ConvParams& p) override {
    activate();
    cuda::conv1d_silu(p, stream_);
  }
  void selective_scan(const ScanParams& p) override {
    activate();
    cuda::selective_scan(p, stream_);
  }
  void add_rms_norm(const AddRmsNormParams& p) override {
    activate();
    cuda::add_rms_norm(p, stream_);
  }
  void embedding(const EmbeddingParams& p) override {
    activate();
    cuda::embedding(p, stream_);
  }
  void elementwise(const ElementwiseParams& p) override {
    activate();
    cuda::elementwise(p, stream_);
  }
  void flip(const FlipParams& p) override {
    activate();
    cuda::flip(p, stream_);
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
    return ptr;
  }

  // cudaFree waits for the device, so no op issued earlier still uses the memory.
  void deallocate(void* ptr) noexcept override {
    if (!ptr) return;
    if (cudaSetDevice(ordinal_) != cudaSuccess || cudaFree(ptr) != cudaSuccess) (void)cudaGetLastError();
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
    activate();
    STRAND_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_));
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

  // ---- scheduling -------------------------------------------------------------------------
  bool concurrent_calls() const override { return false; }
  // Long tiles keep the GPU busy: the scan's parallelism is (sequences x channels x states)
  // only, so the cost of a tile is mostly its length, and fewer tiles mean fewer launches.
  int64_t default_tile_rows() const override { return 131072; }

 private:
  void activate() const { STRAND_CUDA_CHECK(cudaSetDevice(ordinal_)); }

  // Destroys what the constructor made; errors are ignored (called from the destructor).
  void release() noexcept {
    if (cudaSetDevice(ordinal_) == cudaSuccess && stream_) (void)cudaStreamSynchronize(stream_);
    if (cublas_) (void)cublasDestroy(cublas_);
    if (stream_) (void)cudaStreamDestroy(stream_);
    cublas_ = nullptr;
    stream_ = nullptr;
    (void)cudaGetLastError();
  }

  int ordinal_ = 0;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
};

}  // namespace

std::unique_ptr<Backend> make_cuda_backend(int ordinal) {
  return std::make_unique<CudaBackend>(ordinal);
}

}  // namespace strand::kernels
