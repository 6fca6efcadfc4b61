// Start-site statistics; see start_model.h.
#include "pipelines/start_model.h"

#include <array>
#include <cmath>
#include <cstdlib>
#include <string_view>

#include "core/error.h"
#include "genomics/genetic_code.h"

namespace strand::pipelines {

using genomics::Strand;

namespace {

constexpr std::string_view kShineDalgarno = "AGGAGG";
constexpr int kMinSpacer = 3, kMaxSpacer = 15;
constexpr int kContextOffsets[kStartContextPositions] = {-3, -2, -1, 3};

// Base code (T C A G = 0-3, else 4) at `offset` from the start codon's first base, read in
// transcription order (complemented on −); 4 off the contig.
int base_at(std::string_view seq, Strand strand, int64_t pos0, int offset) {
  return genomics::GeneticCode::base_code_along(seq, pos0, offset, strand == Strand::kReverse);
}

int spacer_class(int spacer) {
  return spacer <= 4 ? 0 : spacer <= 7 ? 1 : spacer <= 10 ? 2 : 3;
}

int type_index(StartCodonKind kind) {
  STRAND_ASSERT(kind != StartCodonKind::kEdge, "an edge start has no start codon");
  return static_cast<int>(kind);
}

// Counts of each feature over a set of starts.
struct StartCounts {
  std::array<double, 4> type{};
  std::array<double, kRbsBins> rbs{};
  std::array<std::array<double, 4>, kStartContextPositions> context{};
  int64_t starts = 0;

  void add(std::string_view seq, Strand strand, int64_t pos0) {
    ++starts;
    type[static_cast<size_t>(type_index(start_codon_kind(seq, strand, pos0)))] += 1;
    rbs[static_cast<size_t>(rbs_bin(seq, strand, pos0))] += 1;
    for (int k = 0; k < kStartContextPositions; ++k) {
      const int b = base_at(seq, strand, pos0, kContextOffsets[k]);
      if (b < 4) context[static_cast<size_t>(k)][static_cast<size_t>(b)] += 1;
    }
  }
};

// log(P(feature | training starts) / P(feature | all starts)), with one pseudo-count per cell.
template <size_t kN>
std::array<float, kN> llr(const std::array<double, kN>& train, const std::array<double, kN>& background) {
  double sum_t = 0, sum_b = 0;
  for (size_t i = 0; i < kN; ++i) sum_t += train[i] + 1, sum_b += background[i] + 1;
  std::array<float, kN> out{};
  for (size_t i = 0; i < kN; ++i)
    out[i] = static_cast<float>(std::log((train[i] + 1) / sum_t) - std::log((background[i] + 1) / sum_b));
  return out;
}

double start_llr(std::string_view seq, Strand strand, int64_t pos0, const StartModel& m) {
  double s = m.type_llr[static_cast<size_t>(type_index(start_codon_kind(seq, strand, pos0)))] +
             m.rbs_llr[static_cast<size_t>(rbs_bin(seq, strand, pos0))];
  for (int k = 0; k < kStartContextPositions; ++k) {
    const int b = base_at(seq, strand, pos0, kContextOffsets[k]);
    if (b < 4) s += m.context_llr[static_cast<size_t>(k)][static_cast<size_t>(b)];
  }
  return s;
}

}  // namespace

int rbs_bin(std::string_view seq, Strand strand, int64_t pos0) {
  constexpr int kSdLen = static_cast<int>(kShineDalgarno.size());
  // The bases a motif can cover, read once: offsets -(kMaxSpacer + kSdLen) .. -(kMinSpacer + 1).
  constexpr int kFirstOffset = -(kMaxSpacer + kSdLen), kWindow = kMaxSpacer - kMinSpacer + kSdLen;
  std::array<int, kWindow> up{};
  for (int k = 0; k < kWindow; ++k) up[static_cast<size_t>(k)] = base_at(seq, strand, pos0, kFirstOffset + k);
  std::array<int, kSdLen> sd{};
  for (int k = 0; k < kSdLen; ++k)
    sd[static_cast<size_t>(k)] = genomics::GeneticCode::base_code(kShineDalgarno[static_cast<size_t>(k)]);
  int best_len = 0, best_spacer = 0;
  for (int spacer = kMinSpacer; spacer <= kMaxSpacer; ++spacer) {
    const int end = -1 - spacer - kFirstOffset;  // index in `up` of the motif's last base
    // The longest piece of AGGAGG ending there.
    int len_here = 0;
    for (int len = kSdLen; len >= 3 && len_here == 0; --len)
      for (int from = 0; from + len <= kSdLen && len_here == 0; ++from) {
        bool match = true;
        for (int k = 0; k < len && match; ++k)
          match = up[static_cast<size_t>(end - len + 1 + k)] == sd[static_cast<size_t>(from + k)];
        if (match) len_here = len;
      }
    if (len_here > best_len ||
        (len_here == best_len && len_here > 0 && std::abs(spacer - 7) < std::abs(best_spacer - 7)))
      best_len = len_here, best_spacer = spacer;
  }
  if (best_len == 0) return kRbsBins - 1;
  return (best_len - 3) * kRbsSpacerClasses + spacer_class(best_spacer);
}

StartModel train_start_model(const std::vector<std::string_view>& contigs,
                             const std::vector<std::span<const genomics::Orf>>& orfs,
                             const std::vector<std::vector<GeneCall>>& calls, int64_t min_len_bp) {
  STRAND_ASSERT(contigs.size() == orfs.size() && contigs.size() == calls.size());
  StartCounts train, background;
  for (size_t c = 0; c < contigs.size(); ++c) {
    const std::string_view seq = contigs[c];
    for (const genomics::Orf& orf : orfs[c])
      for (size_t s = orf.partial5 ? 1 : 0; s < orf.starts.size(); ++s) background.add(seq, orf.strand, orf.starts[s]);
    for (const GeneCall& g : calls[c])
      if (!g.partial5 && !g.partial3 && g.len_bp() >= min_len_bp) train.add(seq, g.strand, g.start_pos0);
  }
  StartModel m;
  m.training_genes = train.starts;
  m.background_starts = background.starts;
  m.type_llr = llr(train.type, background.type);
  m.rbs_llr = llr(train.rbs, background.rbs);
  for (size_t k = 0; k < kStartContextPositions; ++k) m.context_llr[k] = llr(train.context[k], background.context[k]);
  return m;
}

std::array<std::vector<float>, 2> start_scores(std::string_view seq, std::span<const genomics::Orf> orfs,
                                               const StartModel& model, double weight) {
  std::array<std::vector<float>, 2> out;
  for (auto& v : out) v.assign(seq.size(), 0.0f);
  for (const genomics::Orf& orf : orfs) {
    auto& strand_out = out[orf.strand == Strand::kForward ? 0 : 1];
    for (size_t s = orf.partial5 ? 1 : 0; s < orf.starts.size(); ++s)
      strand_out[static_cast<size_t>(orf.starts[s])] =
          static_cast<float>(weight * start_llr(seq, orf.strand, orf.starts[s], model));
  }
  return out;
}

}  // namespace strand::pipelines
