#include "genomics/read_reader.h"

#include <htslib/cram.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <utility>

#include "core/error.h"
#include "core/text.h"
#include "genomics/nucleotide.h"

namespace strand::genomics {
namespace {

std::string format_description(const htsFormat* format) {
  MallocPtr<char> desc(hts_format_description(format));
  return desc ? std::string(desc.get()) : std::string("an unknown format");
}

}  // namespace

ReadReader::ReadReader(const std::string& path, ReadFilter filter, const std::string& reference, int threads)
    : path_(path), filter_(filter) {
  fp_ = open_hts(path, "r", "read input");
  start(reference, threads);
}

ReadReader::ReadReader(HtsFilePtr fp, const std::string& path, ReadFilter filter, const std::string& reference,
                       int threads)
    : path_(path), filter_(filter), fp_(std::move(fp)) {
  STRAND_ASSERT(fp_ != nullptr);
  start(reference, threads);
}

void ReadReader::start(const std::string& reference, int threads) {
  const htsFormat* format = hts_get_format(fp_.get());
  const htsExactFormat exact = format->format;
  if (exact != sam && exact != bam && exact != cram)
    fail("file '", path_, "' is not SAM, BAM or CRAM: it is ", format_description(format));
  if (!reference.empty() && exact == cram && hts_set_fai_filename(fp_.get(), reference.c_str()) != 0)
    fail("cannot use '", reference, "' as the reference of CRAM file '", path_, "' (missing or not indexed?)");
  if (threads > 0 && hts_set_threads(fp_.get(), threads) != 0)
    fail("cannot start ", threads, " decompression threads for '", path_, "'");
  // A BAM/CRAM cut at a block boundary reads cleanly up to the cut: only the missing
  // end-of-file block tells (check returns 2 for pipes, which cannot be checked).
  if (exact == bam && fp_->is_bgzf && bgzf_check_EOF(fp_->fp.bgzf) == 0)
    fail("file '", path_, "' is truncated: the BAM end-of-file marker is missing");
  if (exact == cram && cram_check_EOF(fp_->fp.cram) == 0)
    fail("file '", path_, "' is truncated: the CRAM end-of-file container is missing");
  hdr_.reset(sam_hdr_read(fp_.get()));
  if (!hdr_) fail("cannot read the header of '", path_, "' (truncated or corrupt file?)");
  b_.reset(bam_init1());
  if (!b_) fail("out of memory reading '", path_, "'");
}

void ReadReader::set_regions(const std::vector<Region>& regions) {
  regions_set_ = true;
  itr_.reset();
  if (regions.empty()) return;
  // Intervals per contig, sorted and merged, in header order.
  std::map<int, std::vector<std::pair<int64_t, int64_t>>> by_tid;
  for (const Region& region : regions) {
    const int tid = sam_hdr_name2tid(hdr_.get(), region.contig.c_str());
    if (tid == -2) fail("cannot parse the header of '", path_, "'");
    if (tid < 0) fail("contig ", quote_for_message(region.contig), " is not in the header of '", path_, "'");
    Region r;
    try {
      r = clamp_to_contig(region, sam_hdr_tid2len(hdr_.get(), tid));
    } catch (const Error& err) {
      fail("'", path_, "': ", err.what());
    }
    by_tid[tid].emplace_back(r.beg0, r.end0);
  }
  // The regions are checked against the header first: a wrong contig is the likelier mistake.
  if (path_ == "-") fail("region queries need an indexed file, not stdin ('-')");
  idx_.reset(sam_index_load(fp_.get(), path_.c_str()));
  if (!idx_)
    fail("file '", path_, "' has no index (.bai/.csi/.crai) for region queries: run 'samtools index ", path_,
         "' (SAM must be converted to BAM first)");
  region_contigs_.clear();
  for (const auto& [tid, intervals] : by_tid) region_contigs_.emplace_back(sam_hdr_tid2name(hdr_.get(), tid));

  // HTSlib takes ownership of the list and its intervals (freed by hts_itr_destroy), so
  // both are malloc'ed; the names stay ours (region_contigs_).
  auto* list = static_cast<hts_reglist_t*>(std::calloc(by_tid.size(), sizeof(hts_reglist_t)));
  if (!list) fail("out of memory building the region list for '", path_, "'");
  size_t k = 0;
  for (auto& [tid, intervals] : by_tid) {
    std::sort(intervals.begin(), intervals.end());
    std::vector<std::pair<int64_t, int64_t>> merged;
    for (const auto& iv : intervals) {
      if (!merged.empty() && iv.first <= merged.back().second)
        merged.back().second = std::max(merged.back().second, iv.second);
      else
        merged.push_back(iv);
    }
    hts_reglist_t& entry = list[k];
    entry.reg = region_contigs_[k].c_str();
    entry.tid = tid;
    entry.count = static_cast<uint32_t>(merged.size());
    entry.intervals = static_cast<hts_pair_pos_t*>(std::malloc(merged.size() * sizeof(hts_pair_pos_t)));
    if (!entry.intervals) {
      hts_reglist_free(list, static_cast<int>(k));
      fail("out of memory building the region list for '", path_, "'");
    }
    for (size_t i = 0; i < merged.size(); ++i) entry.intervals[i] = {merged[i].first, merged[i].second};
    entry.min_beg = merged.front().first;
    entry.max_end = merged.back().second;
    ++k;
  }
  itr_.reset(sam_itr_regions(idx_.get(), hdr_.get(), list, static_cast<unsigned>(k)));
  if (!itr_) fail("cannot create a region iterator over '", path_, "' (corrupt index?)");
}

bool ReadReader::read_one() {
  int rc;
  if (regions_set_) {
    if (!itr_) return false;
    rc = sam_itr_next(fp_.get(), itr_.get(), b_.get());
  } else {
    rc = sam_read1(fp_.get(), hdr_.get(), b_.get());
  }
  if (rc == -1) return false;
  if (rc < -1) {
    fail("file '", path_, "': truncated or corrupt data ",
         last_name_.empty() ? std::string("before the first read") : cat("after read ", quote_for_message(last_name_)),
         " (htslib error ", rc, ")");
  }
  last_name_.assign(bam_get_qname(b_.get()));
  return true;
}

bool ReadReader::passes_filter() const {
  const uint16_t flag = b_->core.flag;
  if ((flag & BAM_FSECONDARY) && !filter_.keep_secondary) return false;
  if ((flag & BAM_FSUPPLEMENTARY) && !filter_.keep_supplementary) return false;
  if ((flag & BAM_FQCFAIL) && !filter_.keep_qcfail) return false;
  if ((flag & BAM_FDUP) && !filter_.keep_duplicates) return false;
  if (b_->core.l_qseq < filter_.min_length) return false;
  return true;
}

bool ReadReader::next(SeqRecord& rec) {
  while (read_one()) {
    if (!passes_filter()) {
      ++skipped_;
      continue;
    }
    const bam1_t* b = b_.get();
    const auto len = static_cast<size_t>(std::max(0, b->core.l_qseq));
    rec.name.assign(bam_get_qname(b));
    rec.comment.clear();
    rec.seq.resize(len);
    const uint8_t* seq = bam_get_seq(b);
    for (size_t i = 0; i < len; ++i) rec.seq[i] = seq_nt16_str[bam_seqi(seq, i)];
    const uint8_t* qual = bam_get_qual(b);
    if (len == 0 || qual[0] == 0xff) {
      rec.qual.clear();  // SAM '*': no qualities stored
    } else {
      rec.qual.resize(len);
      // Phred+33 tops out at '~' (Q93), as in FASTQ.
      for (size_t i = 0; i < len; ++i) rec.qual[i] = static_cast<char>(std::min<int>(qual[i], 93) + 33);
    }
    if (b->core.flag & BAM_FREVERSE) {
      // Stored on the reference's forward strand: back to the orientation it was sequenced in.
      reverse_complement_inplace(rec.seq);
      std::reverse(rec.qual.begin(), rec.qual.end());
    }
    rec.contig = rec.name;
    rec.beg0 = 0;
    rec.sam_flag = b->core.flag;
    ++returned_;
    return true;
  }
  return false;
}

}  // namespace strand::genomics
