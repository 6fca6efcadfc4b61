// cuda::Workspace: the device facts and the reusable scratch the ops share (cuda_ops.h).
#include "kernels/cuda/cuda_ops.h"  // first: see the note on #554 there
#include "core/error.h"
#include "kernels/cuda/cuda_check.h"

namespace strand::kernels::cuda {

Workspace::Workspace(int ordinal) : ordinal_(ordinal) {
  STRAND_CUDA_CHECK(cudaDeviceGetAttribute(&sm_count_, cudaDevAttrMultiProcessorCount, ordinal));
  STRAND_ASSERT(sm_count_ > 0, "cuda:", ordinal, " reports ", sm_count_, " multiprocessors");
}

Workspace::~Workspace() {
  if (cudaSetDevice(ordinal_) != cudaSuccess) {
    (void)cudaGetLastError();
    return;
  }
  for (void* p : ptr_)
    if (p && cudaFree(p) != cudaSuccess) (void)cudaGetLastError();
}

void* Workspace::scratch(Slot slot, size_t bytes) {
  STRAND_ASSERT(slot >= 0 && slot < kSlots);
  if (bytes <= size_[slot]) return ptr_[slot];
  // Grow by at least half again, so that slowly growing requests do not reallocate each time.
  const size_t wanted = std::max(bytes, size_[slot] + size_[slot] / 2);
  ++generation_;
  if (ptr_[slot]) {
    // cudaFree waits for the device: no enqueued op still reads the old block.
    STRAND_CUDA_CHECK(cudaFree(ptr_[slot]));
    ptr_[slot] = nullptr;
    size_[slot] = 0;
  }
  void* p = nullptr;
  const cudaError_t rc = cudaMalloc(&p, wanted);
  if (rc != cudaSuccess) {
    (void)cudaGetLastError();
    fail("cuda:", ordinal_, ": cannot allocate ", wanted, " bytes of device scratch: ", cudaGetErrorString(rc));
  }
  ptr_[slot] = p;
  size_[slot] = wanted;
  return p;
}

size_t Workspace::bytes() const {
  size_t total = 0;
  for (size_t s : size_) total += s;
  return total;
}

}  // namespace strand::kernels::cuda
