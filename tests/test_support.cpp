#include "tests/test_support.h"

#include "core/error.h"

#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

namespace strand::test {

namespace {
// The compiled-in paths, unless the environment moves them (tests run from a bundle copied to
// another machine, e.g. the GPU machine: STRAND_SOURCE_DIR=repo root, STRAND_BINARY=strand).
fs::path env_or(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return fs::path(value != nullptr && *value != '\0' ? value : fallback);
}
}  // namespace

fs::path source_dir() { return env_or("STRAND_SOURCE_DIR", STRAND_SOURCE_DIR); }

std::vector<std::string> golden_models() {
  std::vector<std::string> models;
  const fs::path dir = source_dir() / "data" / "golden";
  if (!fs::is_directory(dir)) return models;
  for (const auto& entry : fs::directory_iterator(dir))
    if (fs::exists(entry.path() / "config.json") && fs::exists(entry.path() / "outputs.safetensors"))
      models.push_back(entry.path().filename().string());
  std::sort(models.begin(), models.end());
  return models;
}
fs::path binary_dir() { return fs::path(STRAND_BINARY_DIR); }

fs::path fixture(std::string_view relative) {
  fs::path p = source_dir() / "data" / fs::path(relative);
  if (!fs::exists(p)) ADD_FAILURE() << "missing fixture " << p;
  return p;
}

fs::path shared_data(std::string_view relative) {
  const char* env = std::getenv("STRAND_SHARED_DATA");
  const fs::path root = env != nullptr && *env != '\0' ? fs::path(env) : source_dir().parent_path() / "shared" / "data";
  fs::path p = root / fs::path(relative);
  return fs::exists(p) ? p : fs::path();
}

TempDir::TempDir() {
  std::random_device rd;
  for (int attempt = 0; attempt < 100; ++attempt) {
    fs::path candidate = fs::temp_directory_path() / ("strand-test-" + std::to_string(getpid()) + "-" + std::to_string(rd()));
    std::error_code ec;
    if (fs::create_directory(candidate, ec)) {
      path_ = candidate;
      return;
    }
  }
  throw std::runtime_error("cannot create a temporary directory");
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::vector<std::string> TempDir::list() const {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(path_)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const fs::path& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::string read_maybe_gzip(const fs::path& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) throw std::runtime_error("cannot open " + path.string());
  std::string out;
  char buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  gzclose(f);
  if (n < 0) throw std::runtime_error("cannot decompress " + path.string());
  return out;
}

std::string error_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

void expect_error(const std::function<void()>& f, std::initializer_list<std::string_view> parts) {
  const std::string msg = error_message(f);
  if (msg.empty()) {
    ADD_FAILURE() << "no strand::Error was thrown";
    return;
  }
  for (std::string_view p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "message: " << msg << "\nlacks: " << p;
}

double relative_error(std::span<const float> got, std::span<const float> want) {
  EXPECT_EQ(got.size(), want.size()) << "relative_error of differently sized results";
  double num = 0, den = 0;
  for (size_t i = 0; i < std::min(got.size(), want.size()); ++i) {
    const double g = got[i], w = want[i];
    num += (g - w) * (g - w);
    den += w * w;
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

CommandResult run_command(const std::string& command, std::string_view stdin_data) {
  TempDir tmp;
  const fs::path out = tmp / "stdout", err = tmp / "stderr", in = tmp / "stdin";
  write_file(in, stdin_data);
  const std::string full = "(" + command + ") <" + in.string() + " >" + out.string() + " 2>" + err.string();
  const int status = std::system(full.c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

fs::path strand_binary() {
  const char* env = std::getenv("STRAND_BINARY");
  return env != nullptr && *env != '\0' ? fs::path(env) : binary_dir() / "apps" / "strand";
}

}  // namespace strand::test
