#include "pipelines/hexamer_model.h"

#include <cmath>

#include "core/error.h"
#include "genomics/genetic_code.h"

namespace strand::pipelines {
namespace {

// Hexamer index read on strand s from its first base in transcription order at pos0, or -1.
int hexamer_at(std::string_view seq, int64_t pos0, int strand) {
  int h = 0;
  for (int k = 0; k < 6; ++k) {
    const int b = genomics::GeneticCode::base_code_along(seq, pos0, k, strand == 1);
    if (b > 3) return -1;
    h = h * 4 + b;
  }
  return h;
}

}  // namespace

HexamerModel train_hexamer_model(const std::vector<std::string_view>& contigs,
                                 const std::vector<std::vector<GeneCall>>& calls) {
  STRAND_ASSERT(contigs.size() == calls.size());
  std::vector<double> coding(4096, 1.0), background(4096, 1.0);  // pseudo-counts
  HexamerModel model;
  for (size_t c = 0; c < contigs.size(); ++c) {
    const std::string_view seq = contigs[c];
    for (int64_t i = 0; i < static_cast<int64_t>(seq.size()); ++i)
      for (int s = 0; s < 2; ++s) {
        const int h = hexamer_at(seq, i, s);
        if (h >= 0) background[static_cast<size_t>(h)] += 1.0;
      }
    for (const GeneCall& g : calls[c]) {
      if (g.partial5 || g.partial3 || g.len_bp() < kHexamerTrainingMinLenBp) continue;
      ++model.training_genes;
      const bool forward = g.strand == genomics::Strand::kForward;
      // Codon pairs from the start through the pair that ends with the stop codon.
      for (int64_t t = 0; t + 6 <= g.len_bp(); t += 3) {
        const int h = hexamer_at(seq, forward ? g.beg0 + t : g.end0 - 1 - t, forward ? 0 : 1);
        if (h < 0) continue;
        coding[static_cast<size_t>(h)] += 1.0;
        ++model.training_hexamers;
      }
    }
  }
  double sum_c = 0.0, sum_b = 0.0;
  for (size_t h = 0; h < 4096; ++h) sum_c += coding[h], sum_b += background[h];
  for (size_t h = 0; h < 4096; ++h)
    model.llr[h] = static_cast<float>(std::log(coding[h] / sum_c) - std::log(background[h] / sum_b));
  return model;
}

std::array<std::vector<float>, 2> hexamer_codon_scores(std::string_view seq, const HexamerModel& model, double weight) {
  const auto n = static_cast<int64_t>(seq.size());
  std::array<std::vector<float>, 2> out;
  for (int s = 0; s < 2; ++s) {
    out[static_cast<size_t>(s)].assign(static_cast<size_t>(n), 0.0f);
    for (int64_t i = 0; i < n; ++i) {
      const int h = hexamer_at(seq, i, s);
      if (h >= 0) out[static_cast<size_t>(s)][static_cast<size_t>(i)] = static_cast<float>(weight * model.llr[static_cast<size_t>(h)]);
    }
  }
  return out;
}

}  // namespace strand::pipelines
