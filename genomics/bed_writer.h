// BED and bedGraph output. bedGraph takes per-base values and merges runs of equal values
// into one line (as bigWig does); NaN marks positions with no value (no line). Plain text,
// or bgzip when the name ends in .gz.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>

#include "core/output_file.h"
#include "genomics/text_writer.h"
#include "genomics/hts_handles.h"
#include "genomics/region.h"
#include "genomics/value_runs.h"

namespace strand::genomics {

// BED3 when only the interval is set, BED4 with a name, BED5 with a score, BED6 with a strand
// ('.' name and 0 score fill the columns a wider line needs).
struct BedRecord {
  std::string contig;
  int64_t beg0 = 0, end0 = 0;
  std::string name;             // empty: a BED3 line
  std::optional<double> score;  // BED5 score column
  char strand = '.';            // BED6 when not '.'
};

class BedWriter {
 public:
  explicit BedWriter(AtomicOutput& output, std::string_view track_line = {});
  ~BedWriter();
  BedWriter(const BedWriter&) = delete;
  BedWriter& operator=(const BedWriter&) = delete;
  void write(const BedRecord& record);
  void close();

 private:
  AtomicOutput& output_;
  TextWriter text_;
};

class BedGraphWriter {
 public:
  explicit BedGraphWriter(AtomicOutput& output, std::string_view track_line = {});
  ~BedGraphWriter();
  BedGraphWriter(const BedGraphWriter&) = delete;
  BedGraphWriter& operator=(const BedGraphWriter&) = delete;
  // values[i] is the value of base beg0 + i. Values equal as floats merge into one line, also
  // across calls that continue each other. Calls come contig by contig, with increasing,
  // non-overlapping positions within a contig (errors otherwise). Values print in the shortest
  // form that reads back as the same float.
  void write_values(std::string_view contig, int64_t beg0, std::span<const float> values);
  void close();

 private:
  void emit_run(const ValueRun& run);
  void end_run();

  AtomicOutput& output_;
  TextWriter text_;
  std::string contig_;
  bool has_contig_ = false;
  int64_t next_pos0_ = 0;  // end of the values written so far on contig_
  ValueRunMerger runs_;
  std::unordered_set<std::string> done_contigs_;
};

}  // namespace strand::genomics
