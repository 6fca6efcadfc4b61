// GFF3 output: "##gff-version 3", ##sequence-region per contig, provenance pragmas, then one
// line per feature part (parts of one feature share its ID). Reserved characters in
// attribute values are %-escaped as the specification requires. Plain text, or bgzip when
// the output name ends in .gz. Parts are written in coordinate order (also on the reverse
// strand); a CDS gets each part's phase, computed from the feature's phase and the lengths
// of the parts before it in transcription order. Partial parts get NCBI's start_range /
// end_range; a valueless attribute (GenBank /pseudo) is written as "pseudo=true" since GFF3
// has no empty values.
#pragma once

#include <string>
#include <vector>

#include "core/output_file.h"
#include "genomics/feature.h"
#include "genomics/hts_handles.h"
#include "genomics/region.h"

namespace strand::genomics {

class Gff3Writer {
 public:
  explicit Gff3Writer(AtomicOutput& output);
  ~Gff3Writer();
  // Writes the pragmas; `pragmas` are extra lines written as "#!<text>" (e.g.
  // "#!strand-version 0.1.0", "#!strand-command ...").
  void write_header(const std::vector<ContigInfo>& contigs, const std::vector<std::string>& pragmas);
  void write(const Feature& feature);
  void close();  // flush and close; throws on write errors

 private:
  AtomicOutput& output_;
  BgzfPtr fp_;
  std::string buf_;
};

// One feature as GFF3 lines (no trailing newline after the last), for the writer and tests.
std::string format_gff3(const Feature& feature);
// %-escapes a column-9 value (tab, newline, CR, %, control chars, ';', '=', '&', ',').
std::string gff3_escape(std::string_view value);

}  // namespace strand::genomics
