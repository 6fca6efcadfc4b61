// Per-base training labels of an annotation head from a genome's features (GFF3 or
// GenBank): every base gets the output column of the class covering it, on its strand; CDS
// bases also by codon position in transcription order (from the CDS's phase / codon_start,
// across all its parts). Bases are left out (kIgnoreLabel) where the label is unclear:
// covered by two features of different classes (overlapping genes), by a pseudogene, or by a
// feature of unknown or mixed strand.
#pragma once

#include <cstdint>
#include <vector>

#include "genomics/feature.h"
#include "pipelines/annotation_head.h"

namespace strand::pipelines {

inline constexpr int8_t kIgnoreLabel = -1;

struct LabelStats {
  std::vector<int64_t> bases_per_column;  // [head.columns()]
  int64_t ignored_bases = 0;
  int64_t features_used = 0;
  int64_t pseudo_features = 0;  // /pseudo, pseudo=true or pseudogene: their bases ignored
  void add(const LabelStats& other);
};

// Labels [len] of one contig from its features (all on this contig; features of types the
// head does not predict are not used, except that pseudogenes blank their bases).
std::vector<int8_t> base_labels(const std::vector<const genomics::Feature*>& features, int64_t len,
                                const AnnotationHead& head, LabelStats& stats);

// Whether a feature is marked as a pseudogene (GenBank /pseudo or /pseudogene, GFF3
// pseudo=true, or type "pseudogene").
bool is_pseudo(const genomics::Feature& feature);

}  // namespace strand::pipelines
