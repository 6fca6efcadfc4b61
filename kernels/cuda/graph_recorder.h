// CUDA graphs of repeated op sequences (Backend::run_recorded): a decoding step or a batch of
// short windows enqueues the same few hundred small kernels, with the same arguments, call after
// call, and on a GPU each launch costs the host a few microseconds, more than the kernels of a
// one-token step take to run. The recorder captures such a sequence once into a CUDA graph and
// afterwards launches the graph (one call) instead of re-issuing it.
//
// Per owner (a caller's object: one stream of generation, one batch cache) it keeps the latest
// signature and at most one graph. A signature is run directly the first time (so the ops size
// their scratch and warm their caches outside any capture, and a one-off costs nothing extra),
// captured and launched the second time, replayed from then on. A graph holds the pointers of
// the workspace's scratch as they were when it was captured: when the workspace reallocates a
// slot (Workspace::generation changes, e.g. for another owner's larger call) the graph is
// dropped and the signature starts over. If a capture fails (an op that cannot be captured),
// the sequence is run directly and that signature is not captured again.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <functional>
#include <span>
#include <unordered_map>
#include <vector>

#include "kernels/cuda/cuda_ops.h"

namespace strand::kernels::cuda {

class GraphRecorder {
 public:
  using Stats = Backend::RecordingStats;

  explicit GraphRecorder(const Workspace& workspace) : workspace_(workspace) {}
  ~GraphRecorder();  // destroys the graphs (errors ignored)
  GraphRecorder(const GraphRecorder&) = delete;
  GraphRecorder& operator=(const GraphRecorder&) = delete;

  // Runs `issue` (it enqueues on `stream` only, and may be run again after a failed capture) or
  // replays its graph; see above.
  void run(const void* owner, std::span<const int64_t> signature, cudaStream_t stream,
           const std::function<void()>& issue);
  // Drops owner's graph (the owner is going away; its memory may be reused).
  void forget(const void* owner) noexcept;
  Stats stats() const { return stats_; }

 private:
  struct Entry {
    std::vector<int64_t> signature;
    uint64_t generation = 0;
    bool capture_failed = false;
    cudaGraphExec_t exec = nullptr;
  };
  // Captures `issue` on `stream`; nullptr (and no error left behind) when it cannot be captured.
  cudaGraphExec_t capture(cudaStream_t stream, const std::function<void()>& issue);
  static void destroy(Entry& entry) noexcept;

  const Workspace& workspace_;
  std::unordered_map<const void*, Entry> entries_;
  Stats stats_;
};

}  // namespace strand::kernels::cuda
