// Streaming FASTA/FASTQ reader: plain, gzip or bgzip files, or "-" (stdin), record by
// record, through HTSlib's BGZF. The format is detected from the first non-blank byte ('>'
// FASTA, '@' FASTQ). Each sequence is read once, straight into the caller's record; records
// of hundreds of megabases are fine (memory = the record itself).
#pragma once

#include <cstdint>
#include <string>

#include "genomics/hts_handles.h"
#include "genomics/seq_record.h"

namespace strand::genomics {

enum class FastxFormat { kFasta, kFastq };

class FastxReader {
 public:
  // Throws strand::Error when the file cannot be opened, is empty, or starts with neither
  // '>' nor '@' ("file 'x' is not FASTA or FASTQ: first byte ...").
  explicit FastxReader(const std::string& path);
  // Adopts an already opened stream (e.g. stdin after its format was sniffed); `path` names
  // it in messages.
  FastxReader(BgzfPtr fp, const std::string& path);

  // Fills `rec` with the next record (reusing its buffers); returns false at end of input.
  // Throws strand::Error naming file, line and record on malformed input: truncated or
  // corrupt compression, FASTQ with a missing '+' line or quality length != sequence
  // length, a header without a name, bytes that are not sequence characters, ...
  bool next(SeqRecord& rec);

  FastxFormat format() const { return format_; }
  const std::string& path() const { return path_; }
  uint64_t records_read() const { return records_; }

 private:
  void start();             // checks the compression and reads the first header line
  bool read_line();         // next line into line_ (without '\n'/'\r'); false at EOF
  bool read_header_line();  // skips blank lines; false at EOF
  void parse_header(SeqRecord& rec);
  bool next_fasta(SeqRecord& rec);
  bool next_fastq(SeqRecord& rec);
  [[noreturn]] void fail_at(const SeqRecord& rec, const std::string& what) const;

  std::string path_;
  BgzfPtr fp_;
  KString line_;
  bool have_line_ = false;  // line_ holds a header line read ahead
  FastxFormat format_ = FastxFormat::kFasta;
  uint64_t line_no_ = 0;
  uint64_t records_ = 0;
};

}  // namespace strand::genomics
