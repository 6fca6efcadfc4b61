// GraphRecorder (graph_recorder.h): CUDA graphs of repeated op sequences.
// clang-format off
#include "kernels/cuda/cuda_ops.h"  // first: see the note on #554 there
// clang-format on

#include <algorithm>

#include "core/error.h"
#include "core/log.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/graph_recorder.h"

namespace strand::kernels::cuda {

GraphRecorder::~GraphRecorder() {
  for (auto& [owner, entry] : entries_) destroy(entry);
}

void GraphRecorder::destroy(Entry& entry) noexcept {
  if (entry.exec && cudaGraphExecDestroy(entry.exec) != cudaSuccess) (void)cudaGetLastError();
  entry.exec = nullptr;
}

void GraphRecorder::forget(const void* owner) noexcept {
  const auto it = entries_.find(owner);
  if (it == entries_.end()) return;
  destroy(it->second);
  entries_.erase(it);
}

cudaGraphExec_t GraphRecorder::capture(cudaStream_t stream, const std::function<void()>& issue) {
  // Thread-local mode: this thread may not make calls that are unsafe under capture (an
  // allocation, a synchronising free); if an op tried, the capture fails instead of recording
  // something else than a direct run would do. Other threads (another device's backend) are
  // not affected.
  STRAND_CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
  bool issued = true;
  try {
    issue();
  } catch (const std::exception& e) {
    issued = false;
    log_debug("cuda graph", "capture: ", e.what());
  } catch (...) {
    issued = false;  // ended below all the same: a stream left capturing would fail every op
  }
  cudaGraph_t graph = nullptr;
  const cudaError_t ended = cudaStreamEndCapture(stream, &graph);
  cudaGraphExec_t exec = nullptr;
  if (issued && ended == cudaSuccess && graph) {
    if (cudaGraphInstantiate(&exec, graph, 0) != cudaSuccess) exec = nullptr;
  }
  if (graph && cudaGraphDestroy(graph) != cudaSuccess) exec = nullptr;
  (void)cudaGetLastError();  // a failed capture leaves its error behind: not the next op's
  return exec;
}

void GraphRecorder::run(const void* owner, std::span<const int64_t> signature, cudaStream_t stream,
                        const std::function<void()>& issue) {
  Entry& entry = entries_[owner];
  const bool same = std::equal(signature.begin(), signature.end(), entry.signature.begin(), entry.signature.end()) &&
                    entry.generation == workspace_.generation();
  if (same && entry.exec) {
    STRAND_CUDA_CHECK(cudaGraphLaunch(entry.exec, stream));
    ++stats_.replayed;
    return;
  }
  if (same && !entry.capture_failed) {
    entry.exec = capture(stream, issue);
    // The ops were recorded, not run: a failed capture ran nothing, so run them directly.
    if (entry.exec && entry.generation == workspace_.generation()) {
      STRAND_CUDA_CHECK(cudaGraphLaunch(entry.exec, stream));
      ++stats_.recorded;
      return;
    }
    destroy(entry);
    entry.capture_failed = true;
    log_debug("cuda graph", "capture failed; this call sequence runs directly from now on");
    issue();
    entry.generation = workspace_.generation();
    ++stats_.direct;
    return;
  }
  destroy(entry);
  const bool failed_before = same && entry.capture_failed;
  entry.signature.assign(signature.begin(), signature.end());
  entry.capture_failed = failed_before;
  try {
    issue();
  } catch (...) {
    entry.signature.clear();  // not run through: the next call runs directly again
    throw;
  }
  // Read after issue(): the ops may have grown their scratch this time.
  entry.generation = workspace_.generation();
  ++stats_.direct;
}

}  // namespace strand::kernels::cuda
