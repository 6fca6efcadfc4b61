#include "genomics/text_writer.h"

#include <cerrno>

#include "core/error.h"
#include "core/text.h"

namespace strand::genomics {

TextWriter::TextWriter(const AtomicOutput& output, bool bgzf, std::string_view what)
    : output_(output), fp_(open_bgzf(output.path(), bgzf ? "w" : "wu", what)) {}

void TextWriter::flush() {
  STRAND_ASSERT(fp_, "write after close()");
  if (buf_.empty()) return;
  errno = 0;
  if (bgzf_write(fp_.get(), buf_.data(), buf_.size()) != static_cast<ssize_t>(buf_.size()))
    fail("cannot write to '", output_.final_path(), "': ", errno_reason());
  buf_.clear();
}

void TextWriter::close() {
  if (!fp_) return;
  flush();
  close_checked(fp_, output_.final_path());
}

bool gz_by_name(const AtomicOutput& output) {
  return !output.is_stdout() && output.final_path().ends_with(".gz");
}

void write_fasta_record(TextWriter& text, std::string_view header, std::string_view seq, size_t width) {
  std::string& buf = text.buffer();
  buf += '>';
  buf.append(header);
  buf += '\n';
  for (size_t i = 0; i < seq.size(); i += width) {
    buf.append(seq.substr(i, width));
    buf += '\n';
  }
  text.flush_if_full();
}

}  // namespace strand::genomics
