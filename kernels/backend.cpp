// The host-memory defaults of Backend's memory interface (the CPU and reference backends).
#include "kernels/backend.h"

#include <cstdlib>
#include <cstring>

#include "core/error.h"

namespace strand::kernels {

namespace {
constexpr size_t kAlignment = 256;
}

void* Backend::allocate(size_t bytes) {
  if (bytes == 0) return nullptr;
  const size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  void* ptr = std::aligned_alloc(kAlignment, rounded);
  if (!ptr) fail(name(), ": cannot allocate ", bytes, " bytes of host memory");
  return ptr;
}

void Backend::deallocate(void* ptr) noexcept {
  std::free(ptr);
}

void Backend::upload(void* dst, const void* host_src, size_t bytes) {
  if (bytes) std::memcpy(dst, host_src, bytes);
}

void Backend::download(void* host_dst, const void* src, size_t bytes) {
  if (bytes) std::memcpy(host_dst, src, bytes);
}

void Backend::copy(void* dst, const void* src, size_t bytes) {
  if (bytes) std::memmove(dst, src, bytes);
}

void Backend::fill_zero(void* dst, size_t bytes) {
  if (bytes) std::memset(dst, 0, bytes);
}

}  // namespace strand::kernels
