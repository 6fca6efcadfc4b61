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

  // Restricts to records overlapping any of `regions` (needs a BGZF file with a .tbi/.csi
  // index; error naming the file otherwise). Call before the first next(). Regions are sorted
  // and merged per contig, so each record comes out once, contig by contig in file order; a
  // record that starts before a region but reaches into it comes with that region. An empty
  // list selects nothing. Contigs the file does not have give no records (with a warning when
  // the header does not know them either).
  void set_regions(const std::vector<Region>& regions);

  // The input header; edits belong in a copy (VcfWriter takes one).
  const bcf_hdr_t* header() const { return hdr_.get(); }
  // Contigs declared in the header (##contig lines), with lengths when given (0 otherwise).
  std::vector<ContigInfo> header_contigs() const;

  // Reads the next record into `rec`, unpacked up to the allele fields. Returns false at
  // end; throws on a malformed record, naming the file, the record number and the previous
  // record's contig:pos. A contig or INFO/FORMAT tag missing from a VCF header is accepted:
  // htslib adds a definition to header() with a warning (bcftools does the same), and the
  // record keeps BCF_ERR_CTG_UNDEF/BCF_ERR_TAG_UNDEF in rec->errcode (VcfWriter handles it).
  bool next(bcf1_t* rec);
  VariantView view(bcf1_t* rec) const;

  const std::string& path() const { return path_; }
  uint64_t records_read() const { return records_; }

 private:
  struct Query {
    int tid = -1;  // in the index's contig numbering
    int64_t beg0 = 0, end0 = 0;
  };
  bool read_sequential(bcf1_t* rec);
  bool read_regions(bcf1_t* rec);
  bool parse_line(bcf1_t* rec);  // line_ → rec, with the checks htslib does not do
  [[noreturn]] void fail_record(std::string_view what, std::string_view line) const;

  std::string path_;
  HtsFilePtr fp_;
  BcfHdrPtr hdr_;
  HtsIdxPtr idx_;  // BCF (.csi)
  TbxPtr tbx_;     // bgzip VCF (.tbi/.csi)
  HtsItrPtr itr_;
  std::vector<Query> queries_;  // sorted, merged
  size_t next_region_ = 0;
  bool regions_active_ = false;
  int64_t skip_before_pos0_ = -1;
  KString line_;
  uint64_t records_ = 0;
  std::string last_contig_;
  int64_t last_pos1_ = 0;
};

}  // namespace strand::genomics
