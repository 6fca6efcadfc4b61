// Atomic outputs: every output file is written under a temporary name in the destination
// directory and renamed to its final name only on success (commit). A run that fails, throws
// or is interrupted (SIGINT/SIGTERM/SIGHUP) leaves no half-written file behind.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace strand {

class AtomicOutput {
 public:
  // `final_path` "-" means standard output: nothing is renamed and path() is "-".
  // Throws strand::Error when the destination directory does not exist or is not writable,
  // so that a bad -o fails before any work is done.
  explicit AtomicOutput(std::string final_path);
  ~AtomicOutput();
  AtomicOutput(const AtomicOutput&) = delete;
  AtomicOutput& operator=(const AtomicOutput&) = delete;

  bool is_stdout() const { return final_path_ == "-"; }
  // Where writers must write now: the temporary name (or "-").
  const std::string& path() const { return temp_path_; }
  const std::string& final_path() const { return final_path_; }

  // A file that travels with the output, e.g. its index: returns the temporary name
  // path() + suffix, renamed to final_path() + suffix on commit.
  std::string companion(std::string_view suffix);

  // Renames the companions, then the output itself. Throws strand::Error on failure.
  void commit();
  bool committed() const { return committed_; }

 private:
  void discard() noexcept;

  std::string final_path_;
  std::string temp_path_;
  std::vector<std::string> suffixes_;
  std::vector<int> slots_;  // cleanup registrations, see output_file.cpp
  bool committed_ = false;
};

// Installs the handlers that delete registered temporaries on SIGINT/SIGTERM/SIGHUP, then
// re-raise the signal. Called once from main().
void install_output_cleanup_handlers();

}  // namespace strand
