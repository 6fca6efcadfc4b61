// Deterministic TBB loops: the work is cut into blocks whose bounds depend only on the problem
// size, never on the number of threads, so every output element is computed by the same
// instructions in the same order whatever the arena. Small problems run inline.
#pragma once

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>

#include <algorithm>
#include <cstdint>

namespace strand::kernels::cpu {

// Calls f(begin, end) for [0, n) cut into blocks of `block` items (the last one shorter).
template <typename F>
void for_each_block(int64_t n, int64_t block, const F& f) {
  if (n <= 0) return;
  const int64_t blocks = (n + block - 1) / block;
  if (blocks == 1) {
    f(int64_t{0}, n);
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
