// The dispatch layer: the forward pass is written once against kernels::Backend; the CPU
// (and later CUDA) implementations live behind it. The scalar reference backend is the
// ground truth the tests compare the fast ones with.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "kernels/ops.h"

namespace strand::kernels {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;

  virtual void linear(const LinearParams& p) = 0;
  virtual void conv1d_silu(const ConvParams& p) = 0;
  virtual void selective_scan(const ScanParams& p) = 0;
  virtual void add_rms_norm(const AddRmsNormParams& p) = 0;
  virtual void embedding(const EmbeddingParams& p) = 0;
  virtual void elementwise(const ElementwiseParams& p) = 0;
  virtual void flip(const FlipParams& p) = 0;
};

// Scalar loops, obviously correct, slow: the ground truth for tests. fp32 math as the
// PyTorch reference does it, with double accumulation for the long sums (GEMM dot products,
// the RMSNorm mean of squares); kernels/reference/reference_backend.cpp says which.
std::unique_ptr<Backend> make_reference_backend();
// Eigen GEMM + TBB + SIMD, on the threads of the caller's tbb::task_arena.
std::unique_ptr<Backend> make_cpu_backend();

}  // namespace strand::kernels
