#include "core/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>

namespace strand {
namespace {

std::atomic<LogLevel> g_level{LogLevel::kInfo};
std::mutex g_mutex;

char level_letter(LogLevel level) {
  switch (level) {
    case LogLevel::kError: return 'E';
    case LogLevel::kWarning: return 'W';
    case LogLevel::kInfo: return 'M';
    case LogLevel::kDebug: return 'D';
    case LogLevel::kQuiet: break;
  }
  return '?';
}

}  // namespace

void set_log_level(LogLevel level) { g_level.store(level); }
LogLevel log_level() { return g_level.load(); }

void log_line(LogLevel level, std::string_view where, std::string_view message) {
  std::string line;
  line.reserve(message.size() + where.size() + 8);
  line += '[';
  line += level_letter(level);
  line += "::";
  line += where;
  line += "] ";
  line += message;
  line += '\n';
  std::lock_guard<std::mutex> lock(g_mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace strand
