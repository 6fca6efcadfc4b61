// GenBank flat-file input: per record the LOCUS line (name, length, topology), the
// accession/version, the features (CDS, gene, tRNA, rRNA, ... with INSDC locations:
// complement(), join(), order(), '<'/'>' partial ends, across the origin of circular
// records) with their qualifiers, and the ORIGIN sequence. Multi-record files (one record
// per contig) are streamed record by record. The shared bacterial training genomes are
// GenBank: this reader gives both their sequence and their CDS labels.
// Decisions: a feature with a remote location ("AB000001.1:1..10") is skipped with a
// warning; a site between two bases ("123^124") becomes the one-base part of the base on its
// left (GFF3's zero-length convention); order() is kept like join(); a join of parts on both
// strands gets Strand::kUnknown. Feature ids: a gene is its /locus_tag; another feature
// with a locus_tag is "<locus_tag>.<type>" (Parent = the gene when the record has one);
// features without locus_tag get "<record name>.<type>.<n>".
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "genomics/feature.h"
#include "genomics/hts_handles.h"

namespace strand::genomics {

struct GenbankRecord {
  std::string name;   // seqid used for features: VERSION, else ACCESSION, else LOCUS name
  std::string locus;  // LOCUS name
  std::string definition;
  int64_t length = 0;  // LOCUS length (checked against the sequence)
  bool circular = false;
  std::string seq;                // ORIGIN bases, in the case of the file (often lower-case)
  std::vector<Feature> features;  // seqid = name; source = "GenBank"
};

// An INSDC location, "complement(join(<1..200,300..>400))", as parts in transcription order.
struct InsdcLocation {
  std::vector<FeaturePart> parts;
  Strand strand = Strand::kForward;
};
// Parses a location against a record of `seq_length` bases (positions outside it, remote
// references "X12345.1:1..20", and malformed text are errors naming the text).
InsdcLocation parse_insdc_location(std::string_view text, int64_t seq_length);

class GenbankParser {
 public:
  explicit GenbankParser(std::string source_name);
  // Feeds one line (without newline). Returns true when it completed a record ("//").
  bool parse_line(std::string_view line);
  // The record completed by the last parse_line that returned true.
  GenbankRecord take();
  // After the last line: throws if a record was left unterminated (truncated file) or the
  // input held no record at all (empty file).
  void finish();
  uint64_t line_no() const;  // lines fed so far

 private:
  struct State;
  std::string source_;
  std::shared_ptr<State> state_;
};

class GenbankReader {
 public:
  explicit GenbankReader(const std::string& path);  // plain, gzip or bgzip
  bool next(GenbankRecord& rec);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  BgzfPtr fp_;
  KString line_;
  GenbankParser parser_;
  bool done_ = false;
};

std::vector<GenbankRecord> read_genbank(const std::string& path);

}  // namespace strand::genomics
