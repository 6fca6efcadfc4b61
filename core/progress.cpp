#include "core/progress.h"

#include <cmath>
#include <cstdio>

#include "core/log.h"

namespace strand {

std::string human_count(double value) {
  char buf[32];
  const double a = std::fabs(value);
  if (a >= 1e9) std::snprintf(buf, sizeof buf, "%.2fG", value / 1e9);
  else if (a >= 1e6) std::snprintf(buf, sizeof buf, "%.2fM", value / 1e6);
  else if (a >= 1e4) std::snprintf(buf, sizeof buf, "%.1fk", value / 1e3);
  else if (a >= 10 || a == 0) std::snprintf(buf, sizeof buf, "%.0f", value);
  else std::snprintf(buf, sizeof buf, "%.2g", value);  // slow rates: 0.15, 3.4
  return buf;
}

std::string human_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<long long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, (s / 60) % 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%lld:%02lld", s / 60, s % 60);
  return buf;
}

Progress::Progress(std::string where, std::string unit, uint64_t total, double interval_s)
    : where_(std::move(where)), unit_(std::move(unit)), total_(total), interval_s_(interval_s),
      start_(std::chrono::steady_clock::now()),
      next_print_ns_(static_cast<int64_t>(interval_s * 1e9)) {}

double Progress::elapsed_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::add(uint64_t n) {
  done_.fetch_add(n);
  if (interval_s_ <= 0) return;
  const auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::steady_clock::now() - start_).count();
  int64_t due = next_print_ns_.load();
  if (now_ns < due) return;
  // One thread wins the right to print this interval.
  if (next_print_ns_.compare_exchange_strong(due, now_ns + static_cast<int64_t>(interval_s_ * 1e9))) print(false);
}

void Progress::finish() {
  std::lock_guard<std::mutex> lock(print_mutex_);
  if (finished_) return;
  finished_ = true;
  const double t = elapsed_s();
  const double rate = t > 0 ? static_cast<double>(done_.load()) / t : 0.0;
  log_info(where_, human_count(static_cast<double>(done_.load())), " ", unit_, " in ",
           std::round(t * 100) / 100, " s (", human_count(rate), " ", unit_, "/s)");
}

void Progress::print(bool final_line) {
  (void)final_line;
  std::lock_guard<std::mutex> lock(print_mutex_);
  if (finished_) return;
  const double t = elapsed_s();
  const double done = static_cast<double>(done_.load());
  const double rate = t > 0 ? done / t : 0.0;
  std::string line = cat(human_count(done), " ", unit_);
  if (total_ > 0) {
    line += cat(" of ", human_count(static_cast<double>(total_)), " (",
                std::round(1000.0 * done / static_cast<double>(total_)) / 10, "%)");
  }
  line += cat(", ", human_count(rate), " ", unit_, "/s");
  if (total_ > 0 && rate > 0) line += cat(", ETA ", human_duration((static_cast<double>(total_) - done) / rate));
  log_info(where_, line);
}

}  // namespace strand
