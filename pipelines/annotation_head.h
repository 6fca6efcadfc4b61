// An annotation head: per-base class probabilities (intergenic, CDS by strand and codon
// position, tRNA, rRNA, ...) from a frozen backbone's final hidden states; trained by
// `strand train-head` (head_training.h), applied by `strand annotate`.
//
// Strand symmetry is built in, not learned. Each base gives a pair of feature vectors (a, b)
// that swap under reverse complement: for an RC-equivariant (PS) model a is the first channel
// half of the hidden state and b the second half with its channels reversed (one pass); for
// any other model a is the forward pass and b the reverse complement's pass, mirrored back.
// The head scores a class on the + strand from u+ = f([a, b]) and on the − strand from
// u− = f([b, a]) with the same weights (f: identity, or one ReLU layer), and an unstranded
// class (intergenic) from u+ + u−. So P(class on + at i | x) = P(class on − at L−1−i | rc x)
// exactly, for every head, trained or not.
//
// File: safetensors with tensors norm.mean/norm.scale [d] (shared by a and b, so the swap
// survives normalisation), hidden.weight [H, 2d] and hidden.bias [H] (when H > 0),
// out.weight [J, K] and out.bias [J] (K = H, or 2d without a hidden layer; one row per class
// spec), and metadata: the class specs (JSON), the backbone's SHA-256 (a head refuses any
// other backbone), how features are formed, and the training report.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "model/backbone.h"
#include "pipelines/shared_options.h"

namespace strand::pipelines {

// One class the head predicts. A stranded spec has two output columns (+ then −).
struct HeadClassSpec {
  std::string name;           // "intergenic", "CDS_codon1", "tRNA", ...
  std::string feature_type;   // the GFF3/GenBank type it comes from ("" for intergenic)
  bool stranded = false;
  int codon_position = -1;    // 0, 1, 2 for CDS specs (in transcription direction), else -1
  bool operator==(const HeadClassSpec&) const = default;
};

inline constexpr const char* kIntergenicClass = "intergenic";
inline constexpr const char* kCdsType = "CDS";

// The specs for a list of feature types: intergenic first, then per type one stranded spec,
// CDS as three (codon positions 1, 2, 3). Throws for an empty list or a repeated type.
std::vector<HeadClassSpec> head_class_specs(const std::vector<std::string>& feature_types);

// How a head's features come out of a backbone: PS halves (one pass) or a reverse-complement
// pass (two).
enum class HeadFeatureMode { kPsHalves, kRcPass };

// Feature pairs of one record: [L, 2d] rows (a | b), see above. d = feature_width(backbone).
std::vector<float> head_feature_pairs(model::Backbone& backbone, const std::vector<int32_t>& ids,
                                      const TilingOptions& tiling);
int64_t head_feature_width(const model::Backbone& backbone);

// The same feature pairs handed to `consume` in row order, `rows` rows [rows, 2d] at a time
// from row0: a PS model's a piece of the record at a time (record_hidden_pieces, at most
// kHeadPieceRows rows), so on a backend with its own memory the host holds pieces, not [L, 2d];
// a reverse-complement pass's in one piece (it needs the whole record's reverse pass).
inline constexpr int64_t kHeadPieceRows = 65536;
using FeaturePairPieceFn = std::function<void(int64_t row0, int64_t rows, const float* pairs)>;
void head_feature_pieces(model::Backbone& backbone, const std::vector<int32_t>& ids, const TilingOptions& tiling,
                         const FeaturePairPieceFn& consume);

class AnnotationHead;
// The head's class probabilities of one record, [L, columns]: head.predict over its feature
// pairs, a piece at a time (head_feature_pieces).
std::vector<float> head_probabilities(const AnnotationHead& head, model::Backbone& backbone,
                                      const std::vector<int32_t>& ids, const TilingOptions& tiling);
HeadFeatureMode head_feature_mode(const model::Backbone& backbone);

class AnnotationHead {
 public:
  // A zero-initialised head for `specs` over d-wide feature halves with `hidden` ReLU units
  // (0: softmax regression).
  AnnotationHead(std::vector<HeadClassSpec> specs, int64_t feature_width, int64_t hidden);
  // Loads a head file; checks its shapes and that it belongs to `backbone_sha256` (when not
  // empty), naming the file and both checksums otherwise.
  static AnnotationHead load(const std::string& path, const std::string& backbone_sha256);
  // Writes it to `path` (the caller's temporary name) with its metadata.
  void save(const std::string& path) const;

  const std::vector<HeadClassSpec>& specs() const { return specs_; }
  int64_t feature_width() const { return d_; }
  int64_t hidden_units() const { return h_; }
  int64_t columns() const { return static_cast<int64_t>(column_names_.size()); }
  // Output column names: "intergenic", "CDS_codon1_plus", "CDS_codon1_minus", ...
  const std::vector<std::string>& column_names() const { return column_names_; }
  // Output column of a spec on a strand (+: first, −: second; unstranded specs have one).
  int column(size_t spec, bool minus_strand) const;

  // Metadata written into / read from the file (backbone checksum and name, feature mode,
  // training report as JSON text, ...).
  std::map<std::string, std::string>& metadata() { return metadata_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  // Parameters: the normalisation (fixed, not trained) and the trained vector.
  std::vector<float>& norm_mean() { return mean_; }
  std::vector<float>& norm_scale() { return scale_; }
  const std::vector<float>& norm_mean() const { return mean_; }
  const std::vector<float>& norm_scale() const { return scale_; }
  // Trained parameters in one vector: hidden.weight, hidden.bias, out.weight, out.bias.
  std::vector<float>& params() { return theta_; }
  const std::vector<float>& params() const { return theta_; }
  int64_t out_width() const { return h_ > 0 ? h_ : 2 * d_; }  // K
  int64_t spec_count() const { return static_cast<int64_t>(specs_.size()); }  // J
  // Offsets of the blocks in params().
  size_t w1_offset() const { return 0; }
  size_t b1_offset() const { return static_cast<size_t>(h_ * 2 * d_); }
  size_t w_offset() const { return b1_offset() + static_cast<size_t>(h_); }
  size_t c_offset() const { return w_offset() + static_cast<size_t>(spec_count() * out_width()); }

  // Probabilities [n, columns()] of n feature-pair rows [n, 2d] (raw, not normalised);
  // rows are independent (parallel over blocks of rows with TBB).
  std::vector<float> predict(std::span<const float> pairs, int64_t n) const;

 private:
  std::vector<HeadClassSpec> specs_;
  int64_t d_ = 0, h_ = 0;
  std::vector<std::string> column_names_;
  std::vector<int> column_of_;  // [spec * 2 + minus]
  std::vector<float> mean_, scale_, theta_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace strand::pipelines
