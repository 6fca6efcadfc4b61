// The CUDA backend's ops as free functions (one .cu file per op family), mirroring
// kernels/cpu/cpu_ops.h: each checks its params (kernels::check), then enqueues its kernels on
// `stream` and returns without waiting. Every pointer in the params is device memory (ids
// included). cuda_backend.cu wraps them in a kernels::Backend that owns the stream and the
// cuBLAS handle. The current device must be the one the memory and the stream belong to.
//
// fp32 except the GEMMs in tf32/bf16 mode. Every output element is computed by one thread in a
// fixed order, so results are deterministic run to run; tiling a record is bitwise exact for
// the conv, and exact to rounding for the scan (its chunks start where a tile starts).
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

// tensor.h's Mat<T> -> Mat<const T> conversion is, for T = const float, a conversion to the
// type itself: C++ never calls it and GCC says nothing, but nvcc warns (#554) at every
// instantiation. Silenced for this include only (every .cu file includes this header before
// any other that reaches tensor.h, which #pragma once then skips).
#pragma nv_diagnostic push
#pragma nv_diag_suppress 554
#include "kernels/backend.h"
#include "kernels/ops.h"
#pragma nv_diagnostic pop

namespace strand::kernels::cuda {

// What the ops share on one device: its multiprocessor count (grids are sized by it) and
// scratch memory reused from launch to launch. Scratch is stream-ordered: every op of a backend
// runs on its one stream, so a slot may be reused as soon as the next op is enqueued. A slot
// grows (cudaFree waits for the device first) and never shrinks.
class Workspace {
 public:
  enum Slot { kScanChunkLocal, kScanChunkDt, kScanChunkStart, kScanDt, kGemmX, kGemmW, kSlots };
  explicit Workspace(int ordinal);
  ~Workspace();
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;

  int sm_count() const { return sm_count_; }
  // At least `bytes` of device memory for `slot`, contents unspecified.
  void* scratch(Slot slot, size_t bytes);
  // Bytes held by all slots (the backend counts them in its memory use).
  size_t bytes() const;
  // Changes whenever a slot is reallocated (its old pointer is then invalid: recorded graphs
  // that hold it must not run again).
  uint64_t generation() const { return generation_; }
  // What slot kGemmX holds after the last linear call: the tf32x3 split of this x view, or
  // nothing (data null). Every linear call sets or clears it.
  struct SplitX {
    const float* data = nullptr;
    int64_t rows = 0, cols = 0, ld = 0;
  };
  SplitX split_x;

 private:
  int ordinal_ = 0;
  int sm_count_ = 0;
  void* ptr_[kSlots] = {};
  size_t size_[kSlots] = {};
  uint64_t generation_ = 0;
};

// `handle` must be bound to `stream` (cublasSetStream) with the default math mode.
void linear(const LinearParams& p, GemmPrecision precision, cublasHandle_t handle, cudaStream_t stream,
            Workspace& ws);                                                         // gemm.cu
// linear's tf32x3 products with x split in registers (no split copy of x), for the shapes and
// alignments tf32x3_kernel_applies() accepts.
bool tf32x3_kernel_applies(const LinearParams& p);                                  // gemm_tf32x3.cu
// Whether linear() in `precision` takes that path (few output columns, a tensor-core mode).
bool linear_uses_tf32x3_kernel(const LinearParams& p, GemmPrecision precision);     // gemm.cu
void tf32x3_linear(const LinearParams& p, cudaStream_t stream, Workspace& ws);      // gemm_tf32x3.cu
void conv1d_silu(const ConvParams& p, cudaStream_t stream);                         // conv.cu
// conv1d_silu's state_out alone, from its x and state_in (after a kernel that computed y).
void conv1d_state_out(const ConvParams& p, cudaStream_t stream);  // conv.cu
// conv1d_silu, then linear on its output (lin.x is conv.y) in one pass, for what
// conv_linear_fused_applies() accepts: the same bits as conv1d_silu and linear's
// tf32x3_linear.
bool conv_linear_fused_applies(const ConvParams& conv, const LinearParams& lin, GemmPrecision precision);
void conv1d_silu_linear(const ConvParams& conv, const LinearParams& lin, GemmPrecision precision, cudaStream_t stream,
                        Workspace& ws);                                             // gemm_tf32x3.cu
void selective_scan(const ScanParams& p, cudaStream_t stream, Workspace& ws);       // scan.cu
size_t scan_chunk_state_floats(const ScanParams& p, int sm_count);                  // scan.cu
void add_rms_norm(const AddRmsNormParams& p, cudaStream_t stream);                  // rowwise.cu
void embedding(const EmbeddingParams& p, cudaStream_t stream);                      // rowwise.cu
void elementwise(const ElementwiseParams& p, cudaStream_t stream);                  // rowwise.cu
void flip(const FlipParams& p, cudaStream_t stream);                                // rowwise.cu

// Threads per block of the elementwise-style kernels (grid-stride loops over a flat index).
constexpr int kBlockThreads = 256;
// Blocks of a grid-stride launch: enough to fill any current GPU many times over, never more
// than the work needs (and never 0: callers return early on empty work).
inline unsigned grid_blocks(int64_t work_items, int threads_per_block = kBlockThreads) {
  constexpr int64_t kMaxBlocks = int64_t(1) << 20;
  const int64_t blocks = (work_items + threads_per_block - 1) / threads_per_block;
  return static_cast<unsigned>(std::clamp<int64_t>(blocks, 1, kMaxBlocks));
}

}  // namespace strand::kernels::cuda
