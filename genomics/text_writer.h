// Text output through HTSlib's BGZF layer: plain or bgzip-compressed (what `-O v|z` means for
// TSV, BED, bedGraph), to a file of an AtomicOutput or to stdout, buffered, every write checked.
#pragma once

#include <string>
#include <string_view>

#include "core/output_file.h"
#include "genomics/hts_handles.h"

namespace strand::genomics {

class TextWriter {
 public:
  // `what` names the output in errors ("BED output"). Throws when the file cannot be opened.
  TextWriter(const AtomicOutput& output, bool bgzf, std::string_view what);
  // Append to buffer(), then call flush_if_full(); or write() whole pieces.
  std::string& buffer() { return buf_; }
  void flush_if_full() {
    if (buf_.size() >= kFlushBytes) flush();
  }
  void write(std::string_view text) {
    buf_.append(text);
    flush_if_full();
  }
  // Flushes and closes, checking for errors. Further writes are invariant violations.
  void close();
  bool is_open() const { return fp_ != nullptr; }

 private:
  static constexpr size_t kFlushBytes = 1 << 16;
  void flush();

  const AtomicOutput& output_;
  BgzfPtr fp_;
  std::string buf_;
};

// One FASTA record: ">header\n" then the sequence in lines of `width` characters.
inline constexpr size_t kFastaLineWidth = 60;
void write_fasta_record(TextWriter& text, std::string_view header, std::string_view seq, size_t width = kFastaLineWidth);

// BED-family convention: bgzip when the final name ends in .gz (never on stdout).
bool gz_by_name(const AtomicOutput& output);

}  // namespace strand::genomics
