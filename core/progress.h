// Progress lines for long work: "[M::where] 1.2M bases, 45.1k bases/s, ETA 0:03:10".
// Thread-safe; prints at most once per interval, and a final throughput line on finish().
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace strand {

class Progress {
 public:
  // total 0 = unknown (no ETA). interval_s 0 disables periodic lines (finish() still prints).
  Progress(std::string where, std::string unit, uint64_t total = 0, double interval_s = 10.0);
  void add(uint64_t n);
  // Prints "<done> <unit> in <t> s (<rate> <unit>/s)" once.
  void finish();
  uint64_t done() const { return done_.load(); }
  double elapsed_s() const;

 private:
  void print(bool final_line);

  std::string where_, unit_;
  uint64_t total_;
  double interval_s_;
  std::atomic<uint64_t> done_{0};
  std::chrono::steady_clock::time_point start_;
  std::atomic<int64_t> next_print_ns_;
  std::mutex print_mutex_;
  bool finished_ = false;
};

// "1.23M", "45.1k", "999": for rates and counts in progress lines.
std::string human_count(double value);
// "1:02:03" or "2:03".
std::string human_duration(double seconds);

}  // namespace strand
