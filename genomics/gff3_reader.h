// GFF3 input (for training labels): features with their parents. Lines sharing an ID are
// one discontinuous feature (e.g. a CDS in several parts); Parent names are resolved (an
// unknown parent is an error); %XX escapes decoded; ##FASTA (or a '>' line) ends the
// features. The parser takes lines from any source so that files and the fuzzer share it.
// A missing "##gff-version 3" line is tolerated with a warning; version 2 is rejected.
// NCBI's start_range=.,N / end_range=N,. become the parts' partial flags.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "genomics/feature.h"
#include "genomics/region.h"

namespace strand::genomics {

struct Gff3Document {
  std::vector<Feature> features;             // in file order of first appearance
  std::vector<ContigInfo> sequence_regions;  // from ##sequence-region (length = end)
};

class Gff3Parser {
 public:
  // `source_name` prefixes every error: "<source_name> line N: ...".
  explicit Gff3Parser(std::string source_name);
  // One line, without its newline. Throws strand::Error on a malformed line.
  void parse_line(std::string_view line);
  // After the last line: merges, checks parents and returns the document.
  Gff3Document finish();

 private:
  void parse_directive(std::string_view line);
  void parse_feature(std::string_view line);
  [[noreturn]] void fail_line(const std::string& message) const;

  std::string source_;
  uint64_t line_no_ = 0;
  bool in_fasta_ = false;
  bool saw_version_ = false;
  bool saw_content_ = false;
  Gff3Document doc_;
  std::vector<uint64_t> first_line_;  // line of each feature, for errors in finish()
  // Column-8 phase of each part of each feature, to pick the first in transcription order.
  std::vector<std::vector<std::optional<int>>> part_phases_;
  std::unordered_map<std::string, size_t> index_by_id_;
};

// Reads a GFF3 file (plain, gzip or bgzip).
Gff3Document read_gff3(const std::string& path);

}  // namespace strand::genomics
