// A genome annotation feature, the common model of the GFF3 reader/writer and the GenBank
// reader: gene, CDS, tRNA, rRNA, ... with its location and hierarchy. Coordinates are
// 0-based half-open on the forward strand. Multi-part features (a spliced or joined CDS, a
// gene across the origin of a circular genome) keep one Feature with several parts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace strand::genomics {

enum class Strand : char { kForward = '+', kReverse = '-', kUnknown = '?', kNone = '.' };

struct FeaturePart {
  int64_t beg0 = 0;
  int64_t end0 = 0;
  // GenBank '<' / '>' and GFF3 partial= : the feature extends beyond this part's start/end.
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
  std::optional<int> phase;  // 0, 1, 2 for CDS (GFF3 column 8 / GenBank codon_start - 1)
  std::string id;            // GFF3 ID (or GenBank locus_tag); may be empty
  std::vector<std::string> parents;  // GFF3 Parent ids
  // Remaining attributes / qualifiers in file order, values decoded (GFF3 %XX unescaped,
  // GenBank quotes removed).
  std::vector<std::pair<std::string, std::string>> attributes;

  int64_t beg0() const;  // smallest part start
  int64_t end0() const;  // largest part end
  // First value of an attribute, or nullptr.
  const std::string* attribute(std::string_view key) const;
};

}  // namespace strand::genomics
