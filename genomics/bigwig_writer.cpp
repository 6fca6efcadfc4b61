#include "genomics/bigwig_writer.h"

#include <bigWig.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>

#include "core/error.h"
#include "core/text.h"
#include "genomics/hts_handles.h"

namespace strand::genomics {
namespace {

// Runs handed to libBigWig per call: large enough to amortize the call, small enough to keep
// memory flat (libBigWig blocks and compresses on its own).
constexpr size_t kBatchIntervals = 4096;

bigWigFile_t* as_file(void* p) {
  return static_cast<bigWigFile_t*>(p);
}

std::once_flag g_init_once;
int g_init_status = 0;

}  // namespace

// bwInit sets process-wide state (curl): once, from whichever thread gets here first.
void init_libbigwig() {
  std::call_once(g_init_once, [] { g_init_status = bwInit(1 << 17); });
  if (g_init_status != 0) fail("cannot initialise libBigWig (bwInit returned ", g_init_status, ")");
}

BigWigWriter::BigWigWriter(AtomicOutput& output, const std::vector<ContigInfo>& contigs, int zoom_levels)
    : output_(output), contigs_(contigs) {
  const std::string& name = output_.final_path();
  if (output_.is_stdout()) fail("bigWig output cannot go to standard output (it needs a file it can seek in)");
  if (contigs_.empty()) fail("cannot write bigWig '", name, "': no contigs (a bigWig needs at least one)");
  if (zoom_levels < 0 || zoom_levels > 10) fail("invalid number of bigWig zoom levels ", zoom_levels, " (0-10)");
  std::vector<const char*> names;
  std::vector<uint32_t> lengths;
  for (size_t i = 0; i < contigs_.size(); ++i) {
    const ContigInfo& c = contigs_[i];
    if (c.name.empty() || c.name.find_first_of(" \t\n\r") != std::string::npos)
      fail("cannot write bigWig '", name, "': invalid contig name ", quote_for_message(c.name));
    if (c.length <= 0 || c.length > std::numeric_limits<uint32_t>::max())
      fail("cannot write bigWig '", name, "': contig '", c.name, "' has length ", c.length,
           " (bigWig needs a known length below 2^32)");
    if (!index_.emplace(c.name, i).second) fail("cannot write bigWig '", name, "': contig '", c.name, "' listed twice");
    names.push_back(c.name.c_str());
    lengths.push_back(static_cast<uint32_t>(c.length));
  }

  init_libbigwig();
  errno = 0;
  bigWigFile_t* bw = bwOpen(output_.path().c_str(), nullptr, "w");
  bw_ = bw;
  if (bw == nullptr) fail("cannot open bigWig output '", name, "': ", errno_reason());
  if (int rc = bwCreateHdr(bw, zoom_levels); rc != 0)
    fail("cannot create the bigWig header of '", name, "' (libBigWig error ", rc, ")");
  // bwCreateChromList copies the names; bwClose frees the list.
  bw->cl = bwCreateChromList(names.data(), lengths.data(), static_cast<int64_t>(names.size()));
  if (bw->cl == nullptr) fail("cannot create the bigWig contig list of '", name, "' (out of memory)");
  errno = 0;
  if (int rc = bwWriteHdr(bw); rc != 0)
    fail("cannot write the bigWig header of '", name, "' (libBigWig error ", rc, "): ", errno_reason());
}

BigWigWriter::~BigWigWriter() {
  bigWigFile_t* bw = as_file(bw_);
  if (bw == nullptr) return;
  // Error path: the AtomicOutput removes the file; only memory must be freed. bwClose finalizes
  // (flushes, writes index and zooms): skip that when no block was written yet, and skip the
  // zoom levels otherwise (finalizing is what frees the block list).
  if (bw->writeBuffer != nullptr && bw->writeBuffer->firstIndexNode == nullptr) {
    bw->isWrite = 0;
  } else if (bw->hdr != nullptr) {
    bw->hdr->nLevels = 0;
  }
  bwClose(bw);
}

void BigWigWriter::flush_batch() {
  if (starts_.empty()) return;
  const ContigInfo& contig = contigs_[current_contig_];
  const auto n = static_cast<uint32_t>(starts_.size());
  int rc;
  if (!started_) {
    // The first call of a contig names it; later ones append to the same block sequence.
    const std::vector<const char*> chroms(n, contig.name.c_str());
    rc = bwAddIntervals(as_file(bw_), chroms.data(), starts_.data(), ends_.data(), values_.data(), n);
    started_ = true;
  } else {
    rc = bwAppendIntervals(as_file(bw_), starts_.data(), ends_.data(), values_.data(), n);
  }
  if (rc != 0)
    fail("cannot write bigWig '", output_.final_path(), "' (contig ", contig.name, "): libBigWig error ", rc);
  starts_.clear();
  ends_.clear();
  values_.clear();
}

void BigWigWriter::emit_run(const ValueRun& run) {
  starts_.push_back(static_cast<uint32_t>(run.beg0));
  ends_.push_back(static_cast<uint32_t>(run.end0));
  values_.push_back(run.value);
  if (starts_.size() >= kBatchIntervals) flush_batch();
}

void BigWigWriter::end_run() {
  runs_.finish([this](const ValueRun& run) { emit_run(run); });
}

void BigWigWriter::write_values(std::string_view contig, int64_t beg0, std::span<const float> values) {
  STRAND_ASSERT(bw_ != nullptr, "BigWigWriter::write_values() after close()");
  const std::string& name = output_.final_path();
  const auto it = index_.find(std::string(contig));
  if (it == index_.end())
    fail("cannot write bigWig '", name, "': contig '", std::string(contig), "' is not among its declared contigs");
  const size_t ci = it->second;
  if (!has_contig_ || ci != current_contig_) {
    if (has_contig_ && ci < current_contig_)
      fail("cannot write bigWig '", name, "': values for contig '", std::string(contig), "' come after contig '",
           contigs_[current_contig_].name, "' (values must come contig by contig in the declared order)");
    end_run();
    flush_batch();
    current_contig_ = ci;
    has_contig_ = true;
    started_ = false;
    next_pos0_ = 0;
  }
  const ContigInfo& c = contigs_[ci];
  if (beg0 < next_pos0_)
    fail("cannot write bigWig '", name, "': values at ", c.name, ":", beg0 + 1,
         " overlap or precede values already written (up to ", next_pos0_, ")");
  const int64_t end0 = beg0 + static_cast<int64_t>(values.size());
  if (end0 > c.length)
    fail("cannot write bigWig '", name, "': values at ", c.name, ":", beg0 + 1, "-", end0,
         " run past the end of the contig (length ", c.length, ")");
  runs_.add(beg0, values, [this](const ValueRun& run) { emit_run(run); });
  next_pos0_ = end0;
}

void BigWigWriter::close() {
  if (bw_ == nullptr) return;
  end_run();
  flush_batch();
  // bwClose reports nothing (it prints to stderr): check the result by opening it again.
  bwClose(as_file(bw_));
  bw_ = nullptr;
  const std::string& path = output_.path();
  bigWigFile_t* check = bwIsBigWig(path.c_str(), nullptr) == 1 ? bwOpen(path.c_str(), nullptr, "r") : nullptr;
  if (check == nullptr)
    fail("cannot write bigWig '", output_.final_path(), "': the file is unreadable after closing (disk full?)");
  bwClose(check);
}

}  // namespace strand::genomics
