// GPU time per op, for tuning: with STRAND_CUDA_PROFILE=1 in the environment the CUDA backend
// brackets every op with a pair of CUDA events and, when it is destroyed, logs to stderr the
// total time, calls and share of each op kind (GEMMs by shape, the scan with or without output).
// Off by default: events cost a few microseconds per op.
#pragma once

#include <cuda_runtime.h>

#include <map>
#include <string>
#include <vector>

namespace strand::kernels::cuda {

class OpProfile {
 public:
  // Reads STRAND_CUDA_PROFILE; inactive unless it is set to a non-empty value other than 0.
  OpProfile();
  ~OpProfile();  // logs the report when active (errors ignored)
  OpProfile(const OpProfile&) = delete;
  OpProfile& operator=(const OpProfile&) = delete;

  bool active() const { return active_; }
  // Brackets one op on `stream`: begin() before its launches, end() after them.
  void begin(cudaStream_t stream);
  void end(cudaStream_t stream, std::string kind);

 private:
  struct Pending {
    std::string kind;
    cudaEvent_t start = nullptr, stop = nullptr;
  };
  struct Total {
    double ms = 0;
    long long calls = 0;
  };
  void drain();  // waits for the pending events and adds their times
  cudaEvent_t take_event();

  bool active_ = false;
  cudaEvent_t open_ = nullptr;  // begin()'s event, until end()
  std::vector<Pending> pending_;
  std::vector<cudaEvent_t> free_;
  std::map<std::string, Total> totals_;
};

}  // namespace strand::kernels::cuda
