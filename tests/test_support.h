// Helpers shared by the test suite: fixture paths in data/, real data in ../shared/data
// (tests skip cleanly without it), temporary directories, running the strand binary.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace strand::test {

namespace fs = std::filesystem;

// The project root (tests run with it as their working directory); $STRAND_SOURCE_DIR overrides.
fs::path source_dir();
// The CMake build directory.
fs::path binary_dir();
// data/<relative>; fails the test (ADD_FAILURE) when the fixture is missing.
fs::path fixture(std::string_view relative);
// ../shared/data/<relative> (or $STRAND_SHARED_DATA/<relative>); empty when absent.
fs::path shared_data(std::string_view relative);
// Names of the golden models in data/golden/ (folders with config.json and
// outputs.safetensors, tests/golden/make_golden.py), sorted; empty when there are none.
std::vector<std::string> golden_models();

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  fs::path operator/(std::string_view name) const { return path_ / name; }
  // Names of the files in the directory (to check that no temporary is left behind).
  std::vector<std::string> list() const;

 private:
  fs::path path_;
};

std::string read_file(const fs::path& path);
void write_file(const fs::path& path, std::string_view content);
// Decompresses a gzip/bgzip file (or reads a plain one) through HTSlib-compatible zlib.
std::string read_maybe_gzip(const fs::path& path);

// The message of the strand::Error that `f` throws, or "" when it throws none.
std::string error_message(const std::function<void()>& f);
// Expects `f` to throw strand::Error whose message contains every one of `parts`.
void expect_error(const std::function<void()>& f, std::initializer_list<std::string_view> parts);

// ‖got - want‖ / ‖want‖ in double (‖got - want‖ when want is all zero); a size mismatch is a
// test failure.
double relative_error(std::span<const float> got, std::span<const float> want);

struct CommandResult {
  int exit_code = -1;
  std::string out, err;
};
// Runs `command` through /bin/sh with stdout and stderr captured (stdin from /dev/null
// unless `stdin_data` is given).
CommandResult run_command(const std::string& command, std::string_view stdin_data = {});
// Path of the strand executable of this build ($STRAND_BINARY overrides).
fs::path strand_binary();

}  // namespace strand::test

// Binds `var` to ../shared/data/<rel> or skips the test when that file is absent.
#define STRAND_SHARED_DATA_OR_SKIP(var, rel)                                     \
  const ::std::filesystem::path var = ::strand::test::shared_data(rel);        \
  if (var.empty()) GTEST_SKIP() << "shared data not present: " << (rel)
