// The host-memory defaults of Backend's memory interface (the CPU and reference backends), and
// the tile arithmetic the backends' default_tile_rows share.
#include "kernels/backend.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "core/error.h"

namespace strand::kernels {

namespace {
constexpr size_t kAlignment = 256;
}

std::string_view to_string(GemmPrecision precision) {
  switch (precision) {
    case GemmPrecision::kFp32: return "fp32";
    case GemmPrecision::kTf32: return "tf32";
    case GemmPrecision::kTf32x3: return "tf32x3";
    case GemmPrecision::kBf16: return "bf16";
  }
  return "?";
}

GemmPrecision parse_gemm_precision(std::string_view text) {
  for (GemmPrecision p : {GemmPrecision::kFp32, GemmPrecision::kTf32, GemmPrecision::kTf32x3, GemmPrecision::kBf16})
    if (text == to_string(p)) return p;
  fail("invalid --precision '", text, "': expected fp32, tf32x3, tf32 or bf16");
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

int64_t even_tile_rows(int64_t record_len, int64_t max_rows) {
  STRAND_ASSERT(record_len >= 0 && max_rows >= 1, "even_tile_rows: ", record_len, " rows in tiles of at most ", max_rows);
  if (record_len <= max_rows) return std::max<int64_t>(record_len, 1);
  const int64_t tiles = (record_len + max_rows - 1) / max_rows;
  return (record_len + tiles - 1) / tiles;
}

int64_t tile_rows_in_memory(size_t free_bytes, size_t row_bytes) {
  if (row_bytes == 0) return std::numeric_limits<int64_t>::max();
  const double rows = kTileMemoryShare * static_cast<double>(free_bytes) / static_cast<double>(row_bytes);
  return rows >= static_cast<double>(kMinTileRowsInMemory) ? static_cast<int64_t>(std::min(rows, 1e18))
                                                            : kMinTileRowsInMemory;
}

}  // namespace strand::kernels
