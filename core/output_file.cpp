#include "core/output_file.h"

#include <unistd.h>

#include <array>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace strand {
namespace {

// Signal-safe registry of temporaries: fixed slots of plain char buffers, claimed with an
// atomic flag, so that the handler only reads memory and calls unlink().
constexpr int kMaxTemporaries = 256;
constexpr size_t kMaxPathBytes = 4096;
struct TempSlot {
  std::atomic<bool> used{false};
  char path[kMaxPathBytes];
};
std::array<TempSlot, kMaxTemporaries> g_slots;
std::atomic<unsigned> g_counter{0};

int register_temporary(const std::string& path) {
  if (path.size() >= kMaxPathBytes) return -1;
  for (int i = 0; i < kMaxTemporaries; ++i) {
    bool expected = false;
    if (g_slots[i].used.compare_exchange_strong(expected, true)) {
      // Publish an empty string first so that a concurrent handler never reads a torn path.
      g_slots[i].path[0] = '\0';
      std::memcpy(g_slots[i].path, path.c_str(), path.size() + 1);
      return i;
    }
  }
  return -1;  // registry full: the destructor still cleans up on normal unwinding
}

void release_slot(int slot) {
  if (slot >= 0) g_slots[slot].used.store(false);
}

extern "C" void cleanup_and_reraise(int sig) {
  for (auto& slot : g_slots)
    if (slot.used.load() && slot.path[0] != '\0') unlink(slot.path);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

}  // namespace

AtomicOutput::AtomicOutput(std::string final_path) : final_path_(std::move(final_path)) {
  if (final_path_.empty()) fail("output path is empty");
  if (is_stdout()) {
    temp_path_.assign(1, '-');  // (assigning "-" trips GCC 12's -Wrestrict false positive)
    return;
  }
  namespace fs = std::filesystem;
  const fs::path target(final_path_);
  if (fs::is_directory(target)) fail("output '", final_path_, "' is a directory");
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  if (!fs::is_directory(dir)) fail("cannot write output '", final_path_, "': directory '", dir.string(), "' does not exist");
  if (access(dir.c_str(), W_OK) != 0)
    fail("cannot write output '", final_path_, "': directory '", dir.string(), "' is not writable");
  // Hidden name in the same directory (rename stays on one file system), extension kept last.
  temp_path_ = (dir / cat(".strand-tmp.", getpid(), ".", g_counter.fetch_add(1), ".",
                          target.filename().string())).string();
  slots_.push_back(register_temporary(temp_path_));
}

AtomicOutput::~AtomicOutput() {
  if (!committed_) discard();
  for (int slot : slots_) release_slot(slot);
}

std::string AtomicOutput::companion(std::string_view suffix) {
  STRAND_ASSERT(!is_stdout(), "standard output has no companion files");
  suffixes_.emplace_back(suffix);
  std::string temp = temp_path_ + std::string(suffix);
  slots_.push_back(register_temporary(temp));
  return temp;
}

void AtomicOutput::commit() {
  STRAND_ASSERT(!committed_, "output committed twice");
  committed_ = true;
  if (is_stdout()) return;
  // Companions first: an index must never sit beside an older output under the final name.
  for (const auto& suffix : suffixes_) {
    const std::string from = temp_path_ + suffix, to = final_path_ + suffix;
    if (std::rename(from.c_str(), to.c_str()) != 0) {
      committed_ = false;
      fail("cannot rename '", from, "' to '", to, "': ", std::strerror(errno));
    }
  }
  if (std::rename(temp_path_.c_str(), final_path_.c_str()) != 0) {
    committed_ = false;
    fail("cannot rename '", temp_path_, "' to '", final_path_, "': ", std::strerror(errno));
  }
}

void AtomicOutput::discard() noexcept {
  if (is_stdout()) return;
  unlink(temp_path_.c_str());
  for (const auto& suffix : suffixes_) unlink((temp_path_ + suffix).c_str());
}

void install_output_cleanup_handlers() {
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) std::signal(sig, cleanup_and_reraise);
}

}  // namespace strand
