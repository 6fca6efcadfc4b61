// bigWig output through libBigWig: per-base values, runs of equal values merged into spans,
// zoom levels for genome browsers. Contigs are declared up front (their order is the file's
// order); values must come contig by contig in that order with increasing positions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/output_file.h"
#include "genomics/region.h"
#include "genomics/value_runs.h"

namespace strand::genomics {

// libBigWig's process-wide initialisation (bwInit), once; the reader and writer call it.
void init_libbigwig();

class BigWigWriter {
 public:
  // Throws for stdout (libBigWig needs to seek), no contigs, contigs of unknown (0) length or
  // longer than 2^32-1, duplicate names, zoom_levels outside 0-10.
  BigWigWriter(AtomicOutput& output, const std::vector<ContigInfo>& contigs, int zoom_levels = 10);
  ~BigWigWriter();
  BigWigWriter(const BigWigWriter&) = delete;
  BigWigWriter& operator=(const BigWigWriter&) = delete;

  // values[i] is the value of base beg0 + i; NaN = no value. Values equal as floats merge
  // into one interval, also across calls that continue each other. Throws on an unknown
  // contig, out-of-order calls or values past the contig end. Contigs may be skipped.
  void write_values(std::string_view contig, int64_t beg0, std::span<const float> values);
  // Writes the index and zoom levels (libBigWig's bwClose), then checks the file opens.
  void close();

 private:
  void emit_run(const ValueRun& run);  // a closed run → batch
  void end_run();                      // the open run → batch
  void flush_batch();  // batch → libBigWig

  AtomicOutput& output_;
  // libBigWig's bigWigFile_t is a typedef of an anonymous struct, which cannot be declared
  // here without <bigWig.h> (and its zlib/curl includes): kept opaque, see bigwig_writer.cpp.
  void* bw_ = nullptr;
  std::vector<ContigInfo> contigs_;
  std::unordered_map<std::string, size_t> index_;
  size_t current_contig_ = 0;
  bool has_contig_ = false;
  int64_t next_pos0_ = 0;
  bool started_ = false;  // bwAddIntervals done for current_contig_
  ValueRunMerger runs_;
  std::vector<uint32_t> starts_, ends_;
  std::vector<float> values_;
};

}  // namespace strand::genomics
