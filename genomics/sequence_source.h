// One reader over every sequence input strand accepts: FASTA (plain/gzip/bgzip; whole
// records, or regions when indexed), FASTQ, SAM/BAM/CRAM/uBAM. The format is detected from
// the content (hts_detect_format), not the file name, so "-" works too: stdin is opened
// once, sniffed without consuming it, and handed to the matching reader (regions need a
// file).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "genomics/read_reader.h"
#include "genomics/region.h"
#include "genomics/seq_record.h"

namespace strand::genomics {

enum class SequenceFormat { kFasta, kFastq, kSam, kBam, kCram };
const char* to_string(SequenceFormat format);
// Detects the format of a file from its first bytes. Throws for anything else, naming what
// HTSlib saw ("VCF", "BED", "binary data", ...). Not for "-" (it would consume stdin).
SequenceFormat detect_sequence_format(const std::string& path);

struct SequenceSourceOptions {
  std::vector<Region> regions;  // empty: every record. FASTA needs a .fai; SAM/BAM/CRAM an index
  ReadFilter read_filter;
  std::string reference;  // for CRAM
  int threads = 0;
};

class SequenceSource {
 public:
  SequenceSource(const std::string& path, const SequenceSourceOptions& options);
  ~SequenceSource();
  SequenceSource(const SequenceSource&) = delete;
  SequenceSource& operator=(const SequenceSource&) = delete;

  bool next(SeqRecord& rec);
  SequenceFormat format() const { return format_; }
  const std::string& path() const { return path_; }

 private:
  struct Impl;
  std::string path_;
  SequenceFormat format_;
  std::unique_ptr<Impl> impl_;
};

// Several inputs read one after the other as one stream of records (each opened when the
// previous one ends).
class SequenceSources {
 public:
  SequenceSources(std::vector<std::string> paths, SequenceSourceOptions options);
  bool next(SeqRecord& rec);

 private:
  std::vector<std::string> paths_;
  SequenceSourceOptions options_;
  size_t next_path_ = 0;
  std::unique_ptr<SequenceSource> current_;
};

}  // namespace strand::genomics
