// VCF/BCF input through HTSlib: plain or bgzip VCF, BCF, or "-" (stdin); optional region
// restriction through the .tbi/.csi index. Records are handed out as HTSlib bcf1_t so that
// they can be passed through to a VcfWriter untouched.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "genomics/hts_handles.h"
#include "genomics/region.h"

namespace strand::genomics {

// A read-only view of one record's alleles (valid until the record is reused).
struct VariantView {
  std::string_view contig;
  int64_t pos0 = 0;  // 0-based position of the first REF base
  std::string_view ref;
  std::vector<std::string_view> alts;  // "." (no ALT) gives an empty list
};

class VcfReader {
 public:
  // Throws when the file cannot be opened, is not VCF/BCF, or its header is malformed
  // (e.g. no "#CHROM" line: "file 'x': malformed VCF header ...").
  explicit VcfReader(const std::string& path, int threads = 0);

  // Restricts to records overlapping any of `regions` (needs an index; error naming the
  // file otherwise). Each record comes out once, in file order.
  void set_regions(const std::vector<Region>& regions);

  // The input header; edits belong in a copy (VcfWriter takes one).
  const bcf_hdr_t* header() const { return hdr_.get(); }
  // Contigs declared in the header (##contig lines), with lengths when given (0 otherwise).
  std::vector<ContigInfo> header_contigs() const;

  // Reads the next record into `rec`, unpacked up to the allele fields. Returns false at
  // end; throws on a malformed record, naming the file and the record (contig:pos).
  bool next(bcf1_t* rec);
  VariantView view(bcf1_t* rec) const;

  const std::string& path() const { return path_; }
  uint64_t records_read() const { return records_; }

 private:
  std::string path_;
  HtsFilePtr fp_;
  BcfHdrPtr hdr_;
  HtsIdxPtr idx_;  // BCF (.csi)
  TbxPtr tbx_;     // bgzip VCF (.tbi/.csi)
  HtsItrPtr itr_;
  std::vector<Region> regions_;
  size_t next_region_ = 0;
  KString line_;
  uint64_t records_ = 0;
};

}  // namespace strand::genomics
