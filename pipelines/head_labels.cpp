#include "pipelines/head_labels.h"

#include <algorithm>

#include "core/error.h"

namespace strand::pipelines {

void LabelStats::add(const LabelStats& other) {
  if (bases_per_column.size() < other.bases_per_column.size()) bases_per_column.resize(other.bases_per_column.size(), 0);
  for (size_t i = 0; i < other.bases_per_column.size(); ++i) bases_per_column[i] += other.bases_per_column[i];
  ignored_bases += other.ignored_bases;
  features_used += other.features_used;
  pseudo_features += other.pseudo_features;
}

bool is_pseudo(const genomics::Feature& feature) {
  if (feature.type == "pseudogene") return true;
  for (const auto& [key, value] : feature.attributes) {
    if (key == "pseudogene") return true;
    if (key == "pseudo" && value != "false") return true;
  }
  return false;
}

std::vector<int8_t> base_labels(const std::vector<const genomics::Feature*>& features, int64_t len,
                                const AnnotationHead& head, LabelStats& stats) {
  const auto& specs = head.specs();
  int intergenic = -1;
  for (size_t s = 0; s < specs.size(); ++s)
    if (specs[s].name == kIntergenicClass) intergenic = head.column(s, false);
  STRAND_ASSERT(intergenic >= 0, "a head always has the intergenic class");
  std::vector<int8_t> label(static_cast<size_t>(len), static_cast<int8_t>(intergenic));
  std::vector<uint8_t> blocked(static_cast<size_t>(len), 0);  // conflicting or pseudo: ignored in the end
  const auto mark = [&](int64_t pos0, int column) {
    if (pos0 < 0 || pos0 >= len) return;
    int8_t& l = label[static_cast<size_t>(pos0)];
    if (l != intergenic && l != column) blocked[static_cast<size_t>(pos0)] = 1;
    l = static_cast<int8_t>(column);
  };
  const auto block = [&](const genomics::Feature& f) {
    for (const auto& part : f.parts)
      for (int64_t p = std::max<int64_t>(0, part.beg0); p < std::min(len, part.end0); ++p) blocked[static_cast<size_t>(p)] = 1;
  };

  for (const genomics::Feature* fp : features) {
    const genomics::Feature& f = *fp;
    const bool pseudo = is_pseudo(f);
    // Specs of this type (CDS: one per codon position).
    std::vector<size_t> type_specs;
    for (size_t s = 0; s < specs.size(); ++s)
      if (!specs[s].feature_type.empty() && specs[s].feature_type == f.type) type_specs.push_back(s);
    if (pseudo) {
      ++stats.pseudo_features;
      block(f);
      continue;
    }
    if (type_specs.empty()) continue;
    if (f.strand != genomics::Strand::kForward && f.strand != genomics::Strand::kReverse) {
      block(f);
      continue;
    }
    ++stats.features_used;
    const bool minus = f.strand == genomics::Strand::kReverse;
    const int phase = f.phase.value_or(0);
    int64_t t = 0;  // bases of the feature before this one, in transcription order
    for (const auto& part : f.parts) {
      const int64_t n = part.end0 - part.beg0;
      for (int64_t i = 0; i < n; ++i, ++t) {
        const int64_t pos0 = minus ? part.end0 - 1 - i : part.beg0 + i;
        size_t spec = type_specs.front();
        if (type_specs.size() == 3) spec = type_specs[static_cast<size_t>((((t - phase) % 3) + 3) % 3)];
        mark(pos0, head.column(spec, minus));
      }
    }
  }
  stats.bases_per_column.resize(static_cast<size_t>(head.columns()), 0);
  for (int64_t i = 0; i < len; ++i) {
    if (blocked[static_cast<size_t>(i)]) {
      label[static_cast<size_t>(i)] = kIgnoreLabel;
      ++stats.ignored_bases;
    } else {
      ++stats.bases_per_column[static_cast<size_t>(label[static_cast<size_t>(i)])];
    }
  }
  return label;
}

}  // namespace strand::pipelines
