// The CPU backend: own GEMM kernel, TBB over fixed work blocks, vectorised loops (see cpu_ops.h
// and the file of each op).
#include <oneapi/tbb/task_arena.h>

#include <algorithm>

#include "kernels/backend.h"
#include "kernels/cpu/cpu_ops.h"

namespace strand::kernels {
namespace {

class CpuBackend final : public Backend {
 public:
  std::string name() const override { return "cpu"; }
  void linear(const LinearParams& p) override { cpu::linear(p); }
  void conv1d_silu(const ConvParams& p) override { cpu::conv1d_silu(p); }
  void selective_scan(const ScanParams& p) override { cpu::selective_scan(p); }
  void add_rms_norm(const AddRmsNormParams& p) override { cpu::add_rms_norm(p); }
  void embedding(const EmbeddingParams& p) override { cpu::embedding(p); }
  void elementwise(const ElementwiseParams& p) override { cpu::elementwise(p); }
  void flip(const FlipParams& p) override { cpu::flip(p); }
  // 512 rows per thread of the caller's arena, within [1024, 8192]: measured, 1024 was the
  // fastest on 2 threads and 8192 on 16 (one layer of the Caduceus-PS 131k shape at 1 Mb).
  int64_t default_tile_rows(int64_t /*record_len*/, size_t /*row_bytes*/) const override {
    return std::clamp<int64_t>(512 * tbb::this_task_arena::max_concurrency(), 1024, 8192);
  }
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend() {
  return std::make_unique<CpuBackend>();
}

}  // namespace strand::kernels
