// Runs of equal per-base values: the unit of bedGraph lines and bigWig intervals. Consecutive
// positions whose values are equal as floats merge into one run; NaN (no value) and a gap in
// positions end a run. Runs continue across add() calls that continue each other.
#pragma once

#include <cmath>
#include <cstdint>
#include <span>

namespace strand::genomics {

struct ValueRun {
  int64_t beg0 = 0, end0 = 0;  // 0-based half-open
  float value = 0.0f;
};

class ValueRunMerger {
 public:
  // Feeds values[i] for base beg0 + i; calls emit(const ValueRun&) for every run it closes.
  template <typename Emit>
  void add(int64_t beg0, std::span<const float> values, Emit&& emit) {
    for (size_t i = 0; i < values.size(); ++i) {
      const float v = values[i];
      const int64_t pos0 = beg0 + static_cast<int64_t>(i);
      if (open_ && run_.end0 == pos0 && v == run_.value) {  // NaN never compares equal
        ++run_.end0;
        continue;
      }
      finish(emit);
      if (std::isnan(v)) continue;
      open_ = true;
      run_ = {pos0, pos0 + 1, v};
    }
  }
  // Emits the open run, if any (at a contig change and at the end).
  template <typename Emit>
  void finish(Emit&& emit) {
    if (!open_) return;
    open_ = false;
    emit(run_);
  }

 private:
  bool open_ = false;
  ValueRun run_;
};

}  // namespace strand::genomics
