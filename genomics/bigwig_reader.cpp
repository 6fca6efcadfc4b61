#include "genomics/bigwig_reader.h"

#include <bigWig.h>

#include <cerrno>
#include <cmath>
#include <filesystem>
#include <limits>

#include "core/error.h"
#include "core/text.h"
#include "genomics/bigwig_writer.h"
#include "genomics/hts_handles.h"

namespace strand::genomics {
namespace {

bigWigFile_t* as_file(void* p) {
  return static_cast<bigWigFile_t*>(p);
}

}  // namespace

BigWigReader::BigWigReader(std::string path) : path_(std::move(path)) {
  init_libbigwig();
  // Checked before bwOpen, which opens a bigBed as well and prints its own errors for the rest.
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path_, ec))
    fail("cannot read bigWig '", path_, "': ", std::filesystem::exists(path_, ec) ? "not a file" : "no such file");
  if (bwIsBigWig(path_.c_str(), nullptr) != 1)
    fail("cannot read bigWig '", path_,
         "': ", bbIsBigBed(path_.c_str(), nullptr) == 1 ? "it is a bigBed file, not a bigWig" : "not a bigWig file");
  errno = 0;
  bigWigFile_t* bw = bwOpen(path_.c_str(), nullptr, "r");
  if (bw == nullptr) {
    const std::string why = errno != 0 ? errno_reason() : std::string("a corrupt or truncated bigWig file");
    fail("cannot read bigWig '", path_, "': ", why);
  }
  bw_ = bw;
}

BigWigReader::~BigWigReader() {
  if (bw_ != nullptr) bwClose(as_file(bw_));
}

std::optional<int64_t> BigWigReader::contig_length(std::string_view contig) const {
  const bigWigFile_t* bw = as_file(bw_);
  const std::string name(contig);
  const uint32_t tid = bwGetTid(bw, name.c_str());
  if (tid == std::numeric_limits<uint32_t>::max() || bw->cl == nullptr || tid >= bw->cl->nKeys) return std::nullopt;
  return static_cast<int64_t>(bw->cl->len[tid]);
}

std::vector<float> BigWigReader::values(std::string_view contig, int64_t beg0, int64_t end0) {
  const std::optional<int64_t> len = contig_length(contig);
  if (!len) fail("bigWig '", path_, "' has no contig ", quote_for_message(contig));
  if (beg0 < 0 || beg0 > end0 || end0 > *len)
    fail("bigWig '", path_, "': bases ", beg0 + 1, "-", end0, " are outside contig ", quote_for_message(contig), " (",
         *len, " bp)");
  std::vector<float> out(static_cast<size_t>(end0 - beg0), std::numeric_limits<float>::quiet_NaN());
  if (beg0 == end0) return out;
  const std::string name(contig);
  // Intervals overlapping [beg0, end0): every value written, whatever the file's block type.
  bwOverlappingIntervals_t* iv =
      bwGetOverlappingIntervals(as_file(bw_), name.c_str(), static_cast<uint32_t>(beg0), static_cast<uint32_t>(end0));
  if (iv == nullptr)
    fail("cannot read bigWig '", path_, "': contig ", quote_for_message(contig), " bases ", beg0 + 1, "-", end0,
         " (a corrupt or truncated file)");
  for (uint32_t k = 0; k < iv->l; ++k) {
    const int64_t b = std::max<int64_t>(iv->start[k], beg0), e = std::min<int64_t>(iv->end[k], end0);
    for (int64_t p = b; p < e; ++p) out[static_cast<size_t>(p - beg0)] = iv->value[k];
  }
  bwDestroyOverlappingIntervals(iv);
  return out;
}

}  // namespace strand::genomics
