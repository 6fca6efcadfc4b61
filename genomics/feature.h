// A genome annotation feature, the common model of the GFF3 reader/writer and the GenBank
// reader: gene, CDS, tRNA, rRNA, ... with its location and hierarchy. Coordinates are
// 0-based half-open on the forward strand. Multi-part features (a spliced or joined CDS, a
// gene across the origin of a circular genome) keep one Feature with several parts.
// Strand kUnknown also stands for mixed-strand (trans-spliced) GenBank joins.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace strand::genomics {

enum class Strand : char { kForward = '+', kReverse = '-', kUnknown = '?', kNone = '.' };

struct FeaturePart {
  int64_t beg0 = 0;
  int64_t end0 = 0;
  // GenBank '<' / '>' and GFF3 start_range / end_range: the feature extends beyond this part's
  // lower (beg0) / upper (end0) coordinate, on either strand (as INSDC writes '<' / '>').
  bool partial_start = false;
  bool partial_end = false;
  bool operator==(const FeaturePart&) const = default;
};

struct Feature {
  std::string seqid;
  std::string source = ".";
  std::string type;  // SO term as written: gene, CDS, tRNA, rRNA, ...
  // Parts in transcription order (reverse-strand parts run from right to left).
  std::vector<FeaturePart> parts;
  Strand strand = Strand::kNone;
  std::optional<double> score;
  // 0, 1, 2 for CDS: the phase of the first part in transcription order (GFF3 column 8 /
  // GenBank codon_start - 1); the phases of later parts follow from the part lengths.
  std::optional<int> phase;
  std::string id;                    // GFF3 ID (GenBank: from /locus_tag, see genbank_reader.h)
  std::vector<std::string> parents;  // GFF3 Parent ids
  // Remaining attributes / qualifiers in file order, values decoded (GFF3 %XX unescaped,
  // GenBank quotes removed). A multi-value GFF3 attribute (Alias=a,b) is one pair per value;
  // a GenBank qualifier without value (/pseudo) has an empty value.
  std::vector<std::pair<std::string, std::string>> attributes;

  // Smallest part start / largest part end: the bounding box (for a feature across the origin
  // of a circular record this is the whole record, not the feature's span).
  int64_t beg0() const;
  int64_t end0() const;
  // First value of an attribute, or nullptr (ID and Parent live in `id` and `parents`).
  const std::string* attribute(std::string_view key) const;
};

}  // namespace strand::genomics
