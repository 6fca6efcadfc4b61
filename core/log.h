// Logging to stderr in the samtools/htslib style: "[E::where] ...", "[W::where] ...",
// "[M::where] ..." (messages) and "[D::where] ..." (debug). Data never goes here.
#pragma once

#include <string>
#include <string_view>

#include "core/error.h"

namespace strand {

enum class LogLevel { kQuiet = 0, kError = 1, kWarning = 2, kInfo = 3, kDebug = 4 };

void set_log_level(LogLevel level);
LogLevel log_level();
// Writes one whole line atomically (thread-safe); `where` is the component, e.g. "score".
void log_line(LogLevel level, std::string_view where, std::string_view message);

template <typename... Args>
void log_error(std::string_view where, Args&&... args) {
  if (log_level() >= LogLevel::kError) log_line(LogLevel::kError, where, cat(std::forward<Args>(args)...));
}
template <typename... Args>
void log_warning(std::string_view where, Args&&... args) {
  if (log_level() >= LogLevel::kWarning) log_line(LogLevel::kWarning, where, cat(std::forward<Args>(args)...));
}
template <typename... Args>
void log_info(std::string_view where, Args&&... args) {
  if (log_level() >= LogLevel::kInfo) log_line(LogLevel::kInfo, where, cat(std::forward<Args>(args)...));
}
template <typename... Args>
void log_debug(std::string_view where, Args&&... args) {
  if (log_level() >= LogLevel::kDebug) log_line(LogLevel::kDebug, where, cat(std::forward<Args>(args)...));
}

}  // namespace strand
