// Deterministic TBB loops: the work is cut into blocks whose bounds depend only on the problem
// size, never on the number of threads, so every output element is computed by the same
// instructions in the same order whatever the arena. Small problems run inline.
#pragma once

#include <tbb/blocked_range.h>
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cstdint>

namespace strand::kernels::cpu {

// The threads that can run tasks of the caller's arena (--threads caps them through
// tbb::global_control, which the arena's own max_concurrency does not show).
inline int64_t arena_threads() {
  return std::min<int64_t>(tbb::this_task_arena::max_concurrency(),
                           static_cast<int64_t>(tbb::global_control::active_value(
                               tbb::global_control::max_allowed_parallelism)));
}

// Calls f(begin, end) for [0, n) cut into blocks of `block` items (the last one shorter).
template <typename F>
void for_each_block(int64_t n, int64_t block, const F& f) {
  if (n <= 0) return;
  const int64_t blocks = (n + block - 1) / block;
  // One thread: no tasks (a decoding step's ops are microseconds, a task spawn a sizeable part).
  if (blocks == 1 || arena_threads() == 1) {
    for (int64_t b = 0; b < blocks; ++b) f(b * block, std::min(n, (b + 1) * block));
    return;
  }
  tbb::parallel_for(
      tbb::blocked_range<int64_t>(0, blocks, 1),
      [&](const tbb::blocked_range<int64_t>& r) {
        for (int64_t b = r.begin(); b != r.end(); ++b) f(b * block, std::min(n, (b + 1) * block));
      },
      tbb::simple_partitioner());
}

// Calls f(i) for every i in [0, n), one task per index (each index is a sizeable piece of work).
template <typename F>
void for_each_index(int64_t n, const F& f) {
  for_each_block(n, 1, [&](int64_t begin, int64_t) { f(begin); });
}

}  // namespace strand::kernels::cpu
