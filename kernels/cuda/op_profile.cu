#include "kernels/cuda/op_profile.h"

#include <algorithm>
#include <cstdlib>
#include <string_view>
#include <utility>

#include "core/log.h"
#include "kernels/cuda/cuda_check.h"

namespace strand::kernels::cuda {
namespace {
constexpr size_t kDrainEvery = 4096;  // pending ops before their times are collected
}

OpProfile::OpProfile() {
  const char* env = std::getenv("STRAND_CUDA_PROFILE");
  active_ = env != nullptr && *env != '\0' && std::string_view(env) != "0";
}

cudaEvent_t OpProfile::take_event() {
  if (!free_.empty()) {
    cudaEvent_t e = free_.back();
    free_.pop_back();
    return e;
  }
  cudaEvent_t e = nullptr;
  STRAND_CUDA_CHECK(cudaEventCreate(&e));
  return e;
}

void OpProfile::begin(cudaStream_t stream) {
  if (!active_) return;
  open_ = take_event();
  STRAND_CUDA_CHECK(cudaEventRecord(open_, stream));
}

void OpProfile::end(cudaStream_t stream, std::string kind) {
  if (!active_ || !open_) return;
  cudaEvent_t stop = take_event();
  STRAND_CUDA_CHECK(cudaEventRecord(stop, stream));
  pending_.push_back({std::move(kind), open_, stop});
  open_ = nullptr;
  if (pending_.size() >= kDrainEvery) drain();
}

void OpProfile::drain() {
  for (Pending& p : pending_) {
    STRAND_CUDA_CHECK(cudaEventSynchronize(p.stop));
    float ms = 0;
    STRAND_CUDA_CHECK(cudaEventElapsedTime(&ms, p.start, p.stop));
    Total& t = totals_[p.kind];
    t.ms += ms;
    ++t.calls;
    free_.push_back(p.start);
    free_.push_back(p.stop);
  }
  pending_.clear();
}

OpProfile::~OpProfile() {
  if (!active_) return;
  try {
    drain();
    double all = 0;
    for (const auto& [kind, t] : totals_) all += t.ms;
    std::vector<std::pair<std::string, Total>> rows(totals_.begin(), totals_.end());
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second.ms > b.second.ms; });
    log_info("profile", "GPU time per op, ", all / 1e3, " s in all:");
    for (const auto& [kind, t] : rows)
      log_info("profile", "  ", kind, ": ", t.ms / 1e3, " s, ", t.calls, " calls, ", 100.0 * t.ms / std::max(all, 1e-9),
               " %");
  } catch (...) {
  }
  for (cudaEvent_t e : free_) (void)cudaEventDestroy(e);
  (void)cudaGetLastError();
}

}  // namespace strand::kernels::cuda
