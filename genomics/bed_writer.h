// BED and bedGraph output. bedGraph takes per-base values and merges runs of equal values
// into one line (as bigWig does); NaN marks positions with no value (no line). Plain text,
// or bgzip when the name ends in .gz.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/output_file.h"
#include "genomics/hts_handles.h"
#include "genomics/region.h"

namespace strand::genomics {

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
  void write(const BedRecord& record);
  void close();

 private:
  AtomicOutput& output_;
  BgzfPtr fp_;
  std::string buf_;
};

class BedGraphWriter {
 public:
  explicit BedGraphWriter(AtomicOutput& output, std::string_view track_line = {});
  ~BedGraphWriter();
  // values[i] is the value of base beg0 + i. Calls for one contig must not overlap.
  void write_values(std::string_view contig, int64_t beg0, std::span<const float> values);
  void close();

 private:
  AtomicOutput& output_;
  BgzfPtr fp_;
  std::string buf_;
};

}  // namespace strand::genomics
