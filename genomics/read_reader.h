// Reads from SAM, BAM, CRAM and unaligned BAM through HTSlib: name, sequence (read
// orientation: reverse-strand alignments are reverse-complemented back, qualities reversed),
// qualities and flags. Secondary and supplementary alignments are skipped by default so each
// read comes out once. With an index, region queries.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "genomics/hts_handles.h"
#include "genomics/region.h"
#include "genomics/seq_record.h"

namespace strand::genomics {

struct ReadFilter {
  bool keep_secondary = false;
  bool keep_supplementary = false;
  bool keep_qcfail = true;
  bool keep_duplicates = true;
  int64_t min_length = 0;  // reads shorter than this are skipped (0: keep all, even empty)
};

class ReadReader {
 public:
  // `reference`: FASTA for CRAM decoding when the CRAM's own reference is not reachable.
  // `threads`: HTSlib decompression threads (0 = none).
  explicit ReadReader(const std::string& path, ReadFilter filter = {}, const std::string& reference = "",
                      int threads = 0);
  // Adopts an already opened file (e.g. stdin after its format was sniffed); `path` names it
  // in messages.
  ReadReader(HtsFilePtr fp, const std::string& path, ReadFilter filter = {}, const std::string& reference = "",
             int threads = 0);

  // Restricts reading to alignments overlapping `regions` (needs a .bai/.csi/.crai index;
  // error otherwise). Reads overlapping several regions come out once.
  void set_regions(const std::vector<Region>& regions);

  // Next read that passes the filter into `rec`; false at end. Throws on truncated/corrupt
  // input, naming the file and the last read name.
  bool next(SeqRecord& rec);

  const std::string& path() const { return path_; }
  const sam_hdr_t* header() const { return hdr_.get(); }
  uint64_t reads_returned() const { return returned_; }
  uint64_t reads_skipped() const { return skipped_; }

 private:
  void start(const std::string& reference, int threads);
  bool read_one();  // next alignment into b_ honouring regions; false at end
  bool passes_filter() const;

  std::string path_;
  ReadFilter filter_;
  HtsFilePtr fp_;
  SamHdrPtr hdr_;
  Bam1Ptr b_;
  HtsIdxPtr idx_;
  HtsItrPtr itr_;
  bool regions_set_ = false;                 // set_regions() was called (even with no region: read nothing)
  std::vector<std::string> region_contigs_;  // names the iterator's region list points into
  std::string last_name_;                    // the last read name seen, for error messages
  uint64_t returned_ = 0, skipped_ = 0;
};

}  // namespace strand::genomics
