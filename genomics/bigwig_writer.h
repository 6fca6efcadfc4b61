// bigWig output through libBigWig: per-base values, runs of equal values merged into spans,
// zoom levels for genome browsers. Contigs are declared up front (their order is the file's
// order); values must come contig by contig in that order with increasing positions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/output_file.h"
#include "genomics/region.h"

struct bigWigFile_t;

namespace strand::genomics {

class BigWigWriter {
 public:
  BigWigWriter(AtomicOutput& output, const std::vector<ContigInfo>& contigs, int zoom_levels = 10);
  ~BigWigWriter();
  BigWigWriter(const BigWigWriter&) = delete;
  BigWigWriter& operator=(const BigWigWriter&) = delete;

  // values[i] is the value of base beg0 + i; NaN = no value. Throws on an unknown contig,
  // out-of-order calls or values past the contig end.
  void write_values(std::string_view contig, int64_t beg0, std::span<const float> values);
  void close();

 private:
  AtomicOutput& output_;
  bigWigFile_t* bw_ = nullptr;
  std::vector<ContigInfo> contigs_;
  size_t current_contig_ = 0;
  int64_t next_pos0_ = 0;
  bool started_ = false;
};

}  // namespace strand::genomics
