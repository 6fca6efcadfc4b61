#include "genomics/bed_writer.h"

#include <cerrno>
#include <charconv>
#include <cmath>

#include "core/error.h"
#include "core/text.h"

namespace strand::genomics {
namespace {

void check_track_line(std::string_view line) {
  if (line.find('\n') != std::string_view::npos) fail("track line ", quote_for_message(line), " has a newline");
}

void check_name(std::string_view name, std::string_view what, const AtomicOutput& output) {
  if (name.empty()) fail("cannot write '", output.final_path(), "': empty ", what);
  for (char c : name)
    if (c == '\t' || c == '\n' || c == '\r')
      fail("cannot write '", output.final_path(), "': ", what, " ", quote_for_message(name), " has a tab or newline");
}

void append_int(std::string& buf, int64_t value) {
  char text[24];
  const auto [end, ec] = std::to_chars(text, text + sizeof text, value);
  STRAND_ASSERT(ec == std::errc());
  buf.append(text, end);
}

}  // namespace

// ---- BED -----------------------------------------------------------------------------------

BedWriter::BedWriter(AtomicOutput& output, std::string_view track_line)
    : output_(output), text_(output, gz_by_name(output), "BED output") {
  check_track_line(track_line);
  if (!track_line.empty()) text_.write(cat(track_line, "\n"));
}

BedWriter::~BedWriter() = default;

void BedWriter::write(const BedRecord& record) {
  STRAND_ASSERT(text_.is_open(), "BedWriter::write() after close()");
  check_name(record.contig, "contig name", output_);
  if (record.beg0 < 0 || record.end0 < record.beg0)
    fail("cannot write '", output_.final_path(), "': invalid interval ", record.contig, ":", record.beg0, "-",
         record.end0, " (0-based half-open)");
  if (record.strand != '.' && record.strand != '+' && record.strand != '-')
    fail("cannot write '", output_.final_path(), "': invalid strand '", std::string(1, record.strand), "'");
  text_.buffer().append(record.contig);
  text_.buffer() += '\t';
  append_int(text_.buffer(), record.beg0);
  text_.buffer() += '\t';
  append_int(text_.buffer(), record.end0);
  // BED5 needs a name and BED6 a score: missing ones are '.' and 0.
  const bool bed6 = record.strand != '.';
  const bool bed5 = bed6 || record.score.has_value();
  if (!record.name.empty() || bed5) {
    text_.buffer() += '\t';
    if (record.name.empty()) {
      text_.buffer() += '.';
    } else {
      check_name(record.name, "feature name", output_);
      text_.buffer().append(record.name);
    }
  }
  if (bed5) {
    text_.buffer() += '\t';
    if (record.score)
      append_shortest(text_.buffer(), *record.score);
    else
      text_.buffer() += '0';
  }
  if (bed6) {
    text_.buffer() += '\t';
    text_.buffer() += record.strand;
  }
  text_.buffer() += '\n';
  text_.flush_if_full();
}

void BedWriter::close() {
  text_.close();
}

// ---- bedGraph ------------------------------------------------------------------------------

BedGraphWriter::BedGraphWriter(AtomicOutput& output, std::string_view track_line)
    : output_(output), text_(output, gz_by_name(output), "bedGraph output") {
  check_track_line(track_line);
  if (!track_line.empty()) text_.write(cat(track_line, "\n"));
}

BedGraphWriter::~BedGraphWriter() = default;

void BedGraphWriter::emit_run(const ValueRun& run) {
  text_.buffer().append(contig_);
  text_.buffer() += '\t';
  append_int(text_.buffer(), run.beg0);
  text_.buffer() += '\t';
  append_int(text_.buffer(), run.end0);
  text_.buffer() += '\t';
  append_shortest(text_.buffer(), run.value);
  text_.buffer() += '\n';
  text_.flush_if_full();
}

void BedGraphWriter::end_run() {
  runs_.finish([this](const ValueRun& run) { emit_run(run); });
}

void BedGraphWriter::write_values(std::string_view contig, int64_t beg0, std::span<const float> values) {
  STRAND_ASSERT(text_.is_open(), "BedGraphWriter::write_values() after close()");
  if (contig != contig_ || !has_contig_) {
    check_name(contig, "contig name", output_);
    end_run();
    if (has_contig_) done_contigs_.insert(contig_);
    if (done_contigs_.count(std::string(contig)) != 0)
      fail("cannot write bedGraph '", output_.final_path(), "': values for contig '", std::string(contig),
           "' come again after those of other contigs (write contig by contig)");
    contig_ = contig;
    has_contig_ = true;
    next_pos0_ = 0;
  }
  if (beg0 < next_pos0_)
    fail("cannot write bedGraph '", output_.final_path(), "': values at ", contig_, ":", beg0 + 1,
         " overlap or precede values already written (up to ", next_pos0_, ")");
  runs_.add(beg0, values, [this](const ValueRun& run) { emit_run(run); });
  next_pos0_ = beg0 + static_cast<int64_t>(values.size());
}

void BedGraphWriter::close() {
  if (!text_.is_open()) return;
  end_run();
  text_.close();
}

}  // namespace strand::genomics
