// VCF/BCF output through HTSlib, bcftools-style: -O v|z|b|u (guessed from the name when not
// given), -W index (.csi; .tbi on request) written next to the output, header edits
// (INFO lines, provenance lines) and per-allele float INFO values. Written through an
// AtomicOutput: nothing appears under the final name until commit.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/output_file.h"
#include "genomics/hts_handles.h"

namespace strand::genomics {

enum class VcfFormat { kVcf, kVcfGz, kBcf, kBcfUncompressed };  // -O v | z | b | u
// 'v','z','b','u' → format; throws on anything else.
VcfFormat parse_vcf_format(char letter);
// From the name: .bcf → b, .gz/.bgz (.vcf.gz, .vcf.bgz) → z, otherwise (and "-") v.
VcfFormat guess_vcf_format(std::string_view path);

enum class IndexKind { kNone, kCsi, kTbi };

struct VcfWriterOptions {
  VcfFormat format = VcfFormat::kVcf;
  IndexKind index = IndexKind::kNone;  // needs a compressed, non-stdout output
  int threads = 0;
};

// Records read with the input header are written with the output header. The output header is
// a copy of the input's (same IDs) plus the added lines, which get IDs of their own after a
// reserved range. When htslib adds a contig or tag to the input header while reading (it was
// not declared there), the writer gives it the same ID in the output header before the record
// is touched, so records never need translating. VCF output then prints it by name (its
// header, like the input's, does not declare it); BCF output cannot, and fails with a clear
// error, as bcftools does.
class VcfWriter {
 public:
  // Copies `template_header` (typically the input's, which must outlive the writer: additions
  // htslib makes to it while reading are mirrored); edit through add_* before write_header().
  // Throws when the index cannot be made for this output (stdout, plain VCF, uncompressed
  // BCF, .tbi for BCF).
  VcfWriter(AtomicOutput& output, const bcf_hdr_t* template_header, const VcfWriterOptions& options);
  ~VcfWriter();
  VcfWriter(const VcfWriter&) = delete;
  VcfWriter& operator=(const VcfWriter&) = delete;

  bcf_hdr_t* header() { return hdr_.get(); }
  // ##INFO=<ID=id,Number=number,Type=Float,Description="...">; replaces an existing
  // definition of the same ID with a warning.
  void add_info_float(std::string_view id, std::string_view number, std::string_view description);
  // Any "##key=value" line (provenance: ##strandVersion=..., ##strandCommand=...).
  void add_header_line(std::string_view line);
  // Removes every "##key=value" line of this key (a rerun replacing its own provenance).
  void remove_header_lines(std::string_view key);
  // Writes the header and, with an index, starts it (temporary name: output.companion()).
  void write_header();

  // Sets a per-allele (Number=A) float INFO tag on `rec`: values.size() must equal the ALT
  // count; NaN is written as missing ('.'). All-NaN removes nothing: the tag is written as '.'.
  void set_info_floats(bcf1_t* rec, const char* tag, std::span<const float> values);
  // Throws naming the output and the record on a write error or a malformed record.
  void write(bcf1_t* rec);
  // Flushes, closes and saves the index (as a companion of the AtomicOutput). Call before
  // AtomicOutput::commit(). Throws on any write error.
  void close();

 private:
  void append_line(std::string_view line);
  void sync_with_input();

  AtomicOutput& output_;
  VcfWriterOptions options_;
  const bcf_hdr_t* input_hdr_;
  HtsFilePtr fp_;
  BcfHdrPtr hdr_;
  std::string index_path_;
  bool header_written_ = false;
  uint64_t records_ = 0;
  int mirrored_[3] = {0, 0, 0};     // per dictionary: input IDs below this are known to hdr_
  int next_own_id_[3] = {0, 0, 0};  // per dictionary: the ID of the next line added here
  std::vector<float> floats_;
};

}  // namespace strand::genomics
