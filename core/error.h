// strand::Error — the one exception type for data, user and environment faults.
// It is caught once, in main(), which prints "[E::strand] <what>" and exits 1.
// Invariants (programming errors) use STRAND_ASSERT instead: always on, aborts.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace strand {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// cat(a, b, c...) streams every argument into one string: the message builder for errors/logs.
template <typename... Args>
std::string cat(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}

// Throws strand::Error with the concatenated message.
template <typename... Args>
[[noreturn]] void fail(Args&&... args) {
  throw Error(cat(std::forward<Args>(args)...));
}

// Runs f() and returns what it returns; a strand::Error out of it is thrown again with `context`
// in front ("record 'chr1' (4641652 bases): <what>"), for errors raised where the record (or
// file) being worked on is not known, such as running out of device memory in the model.
template <typename F>
decltype(auto) with_context(const std::string& context, F&& f) {
  try {
    return std::forward<F>(f)();
  } catch (const Error& e) {
    throw Error(cat(context, ": ", e.what()));
  }
}

[[noreturn]] void assert_failed(const char* expr, const char* file, int line, const std::string& msg);

}  // namespace strand

// Always-on invariant check (not for user input: that throws strand::Error).
#define STRAND_ASSERT(cond, ...)                                                        \
  do {                                                                                  \
    if (!(cond)) ::strand::assert_failed(#cond, __FILE__, __LINE__, ::strand::cat("" __VA_OPT__(, ) __VA_ARGS__)); \
  } while (0)
