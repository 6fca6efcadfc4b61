// Gene calling from ORFs and coding log-odds; see gene_caller.h.
#include "pipelines/gene_caller.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <utility>

#include "core/error.h"
#include "genomics/nucleotide.h"

namespace strand::pipelines {

using genomics::Orf;
using genomics::Strand;

namespace {

double start_prior_of(StartCodonKind kind, const GeneCallerOptions& options) {
  switch (kind) {
    case StartCodonKind::kAtg: return options.atg_prior;
    case StartCodonKind::kGtg: return options.gtg_prior;
    case StartCodonKind::kTtg: return options.ttg_prior;
    case StartCodonKind::kOther: return options.other_start_prior;
    case StartCodonKind::kEdge: return options.edge_start_prior;
  }
  STRAND_ASSERT(false, "unknown start codon kind");
  return 0.0;
}

// Stop-codon probability of random sequence with this contig's base composition, per strand
// (on − the stop codons read as their reverse complements): the null model of the ORF-length
// term.
std::array<double, 2> stop_probability(std::string_view seq, const genomics::GeneticCode& code) {
  std::array<double, 4> count{1, 1, 1, 1};  // T C A G, with a pseudo-count
  for (char c : seq) {
    const int b = genomics::GeneticCode::base_code(c);
    if (b < 4) count[static_cast<size_t>(b)] += 1;
  }
  const double total = count[0] + count[1] + count[2] + count[3];
  std::array<double, 2> p{0.0, 0.0};
  for (int i = 0; i < 64; ++i) {
    if (!code.is_stop_at(i)) continue;
    const int b1 = i / 16, b2 = (i / 4) % 4, b3 = i % 4;
    p[0] += count[static_cast<size_t>(b1)] * count[static_cast<size_t>(b2)] * count[static_cast<size_t>(b3)];
    // On −, the codon is read from the complement strand: its forward bases are complements.
    const auto comp = [&](int b) { return count[static_cast<size_t>(genomics::GeneticCode::complement_code(b))]; };
    p[1] += comp(b1) * comp(b2) * comp(b3);
  }
  return {p[0] / (total * total * total), p[1] / (total * total * total)};
}

// Candidate genes of one ORF: for each start the summed log-odds (weighted), the ORF-length
// term and the start prior. Kept: every start no shorter start beats (the score's Pareto front
// over length). Shorter alternatives let the selection keep a gene whose best start would
// overlap a neighbour too much; every candidate of one ORF shares its stop, so the selection
// takes at most one. The front is not cut to its best few: on a long ORF whose frame stays
// open into the next gene those are all long starts, and the one start that fits beside the
// neighbour was lost with them, and the gene with it (or an antisense shadow ORF took its
// place). `cum` is scratch space.
void start_candidates(std::string_view seq, const Orf& orf, size_t orf_index, const CodingLogOdds& log_odds,
                      const GeneCallerOptions& options, double codon_bonus, std::vector<double>& cum,
                      std::vector<GeneCall>& out) {
  const bool forward = orf.strand == Strand::kForward;
  const int64_t len_bp = orf.end0 - orf.beg0;
  cum.assign(static_cast<size_t>(len_bp) + 1, 0.0);
  // Sense bases: all but the stop codon (a 3'-partial ORF has none).
  const int64_t stop_len = orf.partial3 ? 0 : 3;
  if (forward) {
    // cum[i - beg0] = sum of the sense bases from i to the last sense base.
    const auto& lo = log_odds.lo[0];
    const auto& codon = log_odds.codon[0];
    const int64_t sense_end0 = orf.end0 - stop_len;
    for (int64_t i = sense_end0 - 1; i >= orf.beg0; --i) {
      const int64_t off = i - orf.beg0;
      cum[off] = cum[off + 1] + options.head_weight * lo[off % 3][i] + (off % 3 == 0 && !codon.empty() ? codon[i] : 0.0f);
    }
  } else {
    // cum[i + 1 - beg0] = sum of the sense bases from the first sense base (left) through i;
    // codon position counts from the right, where transcription begins.
    const auto& lo = log_odds.lo[1];
    const auto& codon = log_odds.codon[1];
    const int64_t sense_beg0 = orf.beg0 + stop_len;
    for (int64_t i = orf.beg0; i < orf.end0; ++i) {
      const int64_t off = i - orf.beg0;
      const int64_t k = (orf.end0 - 1 - i) % 3;
      cum[off + 1] = cum[off] + (i >= sense_beg0 ? options.head_weight * lo[k][i] + (k == 0 && !codon.empty() ? codon[i] : 0.0f)
                                                 : 0.0);
    }
  }
  std::vector<GeneCall> all;
  for (size_t s = 0; s < orf.starts.size(); ++s) {
    const int64_t start_pos0 = orf.starts[s];
    if (orf.gene_len_bp(s) < options.min_gene_len_bp) break;  // starts run from longest to shortest
    const bool edge = orf.partial5 && s == 0;
    const StartCodonKind kind = edge ? StartCodonKind::kEdge : start_codon_kind(seq, orf.strand, start_pos0);
    const double coding = forward ? cum[start_pos0 - orf.beg0] : cum[start_pos0 + 1 - orf.beg0];
    const auto& start_terms = log_odds.start[forward ? 0 : 1];
    const double prior = start_prior_of(kind, options) +
                         (edge || start_terms.empty() ? 0.0 : start_terms[static_cast<size_t>(start_pos0)]);
    GeneCall c;
    c.beg0 = forward ? start_pos0 : orf.beg0;
    c.end0 = forward ? orf.end0 : start_pos0 + 1;
    c.strand = orf.strand;
    c.partial5 = edge;
    c.partial3 = orf.partial3;
    c.start_pos0 = start_pos0;
    c.length_score =
        codon_bonus * (static_cast<double>((c.end0 - c.beg0 - stop_len) / 3) - options.length_offset_codons);
    c.start_prior = prior;
    // A long open frame is evidence of a gene on its own: the coding score is at least a share of it.
    c.coding_score = options.coding_floor > 0.0 && c.length_score > 0.0
                         ? std::max(coding, options.coding_floor * c.length_score)
                         : coding;
    c.score = c.coding_score + c.length_score + prior;
    c.start_codon_kind = kind;
    c.orf_index = orf_index;
    all.push_back(c);
  }
  // Pareto front from the shortest start up: a start is kept when it scores at least as well
  // as every shorter one; of equal scores the longer gene is kept.
  std::vector<GeneCall> front;
  double best_shorter = -std::numeric_limits<double>::infinity();
  for (size_t k = all.size(); k > 0; --k) {
    const GeneCall& c = all[k - 1];
    if (c.score > options.min_score - 2.0 * options.operon_weight && c.score >= best_shorter) {
      if (!front.empty() && c.score == best_shorter) front.pop_back();  // equal: the longer one
      front.push_back(c);
      best_shorter = c.score;
    }
  }
  out.insert(out.end(), front.begin(), front.end());
}

// The transition term between two consecutive genes of a selection, `a` ending first (see
// GeneCallerOptions::operon_weight).
double transition_term(const GeneCall& a, const GeneCall& b, double weight) {
  if (weight == 0.0) return 0.0;
  if (a.strand != b.strand) return -weight;
  // The upstream gene's stop and the downstream one's start (on + a then b, on − b then a): a
  // gene cut by a contig edge or an N run has no codon there to measure from.
  const bool forward = a.strand == Strand::kForward;
  if (forward ? a.partial3 || b.partial5 : b.partial3 || a.partial5) return 0.0;
  // From the first base of the upstream gene's stop codon to the first base of the downstream
  // gene's start codon, in transcription order: on + from a's stop to b's start, on - from b's
  // stop to a's start; both are b.beg0 + 3 - a.end0.
  const int64_t d = b.beg0 + 3 - a.end0;
  const int64_t dist = d < 0 ? -d : d;
  const bool overlap = d <= 2;
  if ((dist <= kOperonDistBp && !overlap) || 4 * dist < kOperonDistBp)
    return (2.0 - static_cast<double>(dist) / kOperonDistBp) * weight;
  if (dist > 3 * kOperonDistBp) return -weight;
  return 0.0;
}

// Best subset of `cands` with pairwise overlaps <= max_overlap_bp: each gene is worth its score
// minus min_score, plus the transition term from the gene before it (see the header for the
// recursion and why it is exact when every gene is longer than max_overlap_bp).
std::vector<GeneCall> select_genes(std::vector<GeneCall> cands, const GeneCallerOptions& options) {
  std::sort(cands.begin(), cands.end(), [](const GeneCall& a, const GeneCall& b) {
    if (a.end0 != b.end0) return a.end0 < b.end0;
    if (a.beg0 != b.beg0) return a.beg0 < b.beg0;
    return a.strand == Strand::kForward && b.strand == Strand::kReverse;
  });
  const size_t n = cands.size();
  const double w = options.operon_weight;
  constexpr size_t kNone = std::numeric_limits<size_t>::max();
  std::vector<int64_t> ends(n);
  for (size_t j = 0; j < n; ++j) ends[j] = cands[j].end0;
  // total[j]: the best selection whose last gene (by end) is j; back[j] the gene before it.
  // prefix[k]: the index of the best total[] among the first k candidates (kNone if none).
  std::vector<double> total(n);
  std::vector<size_t> back(n, kNone), prefix(n + 1, kNone);
  // The candidates of one + ORF share their end (the stop) and, with it, their transition term
  // to any later gene, which reads only the earlier gene's end, strand and partial ends; they
  // lie next to each other in the order. Such a run is visited once, through its best total
  // (run_best; of equal totals the last, as a candidate-by-candidate scan from the right would
  // take): otherwise a long + ORF's whole Pareto front, met from each start of a long ORF near
  // it, made the operon scan quadratic. (A − ORF's candidates end at their starts: at most
  // one per end.) run_start: the run's first index.
  std::vector<size_t> run_start(n), run_best(n);
  const auto same_run = [&](const GeneCall& a, const GeneCall& b) {
    return a.strand == Strand::kForward && b.strand == Strand::kForward && a.end0 == b.end0 && a.partial3 == b.partial3;
  };
  for (size_t j = 0; j < n; ++j) {
    const GeneCall& g = cands[j];
    const auto pred =
        static_cast<size_t>(std::upper_bound(ends.begin(), ends.end(), g.beg0 + options.max_overlap_bp) - ends.begin());
    STRAND_ASSERT(pred <= j, "gene of ", g.len_bp(), " bp not longer than the allowed overlap");
    double best = 0.0;  // j first
    size_t from = kNone;
    if (prefix[pred] != kNone && total[prefix[pred]] - w > best) best = total[prefix[pred]] - w, from = prefix[pred];
    if (w != 0.0)
      // Genes ending near j's start (d <= 3 x kOperonDistBp) may gain more than the penalty.
      for (size_t i = pred; i > 0 && ends[i - 1] + 3 * kOperonDistBp - 3 >= g.beg0; i = run_start[i - 1]) {
        const size_t k = run_best[i - 1];
        const double v = total[k] + transition_term(cands[k], g, w);
        if (v > best) best = v, from = k;
      }
    total[j] = g.score - options.min_score + best;
    back[j] = from;
    const bool joins = j > 0 && same_run(cands[j - 1], g);
    run_start[j] = joins ? run_start[j - 1] : j;
    run_best[j] = joins && total[run_best[j - 1]] > total[j] ? run_best[j - 1] : j;
    prefix[j + 1] = prefix[j] == kNone || total[j] > total[prefix[j]] ? j : prefix[j];
  }
  std::vector<GeneCall> chosen;
  size_t j = prefix[n];
  if (j != kNone && total[j] <= 0.0) j = kNone;
  for (; j != kNone; j = back[j]) chosen.push_back(cands[j]);
  return chosen;
}

}  // namespace

CodingLogOdds CodingLogOdds::zeros(int64_t len_bp) {
  STRAND_ASSERT(len_bp >= 0, "negative contig length ", len_bp);
  CodingLogOdds out;
  out.len = len_bp;
  for (auto& strand : out.lo)
    for (auto& pos : strand) pos.assign(static_cast<size_t>(len_bp), 0.0f);
  return out;
}

void CodingLogOdds::validate(int64_t contig_len_bp) const {
  if (len != contig_len_bp) fail("coding log-odds cover ", len, " bases but the contig has ", contig_len_bp);
  for (int s = 0; s < 2; ++s)
    for (int k = 0; k < 3; ++k)
      if (static_cast<int64_t>(lo[s][k].size()) != len)
        fail("coding log-odds for strand ", s == 0 ? '+' : '-', " codon position ", k + 1, " have ", lo[s][k].size(),
             " values, expected ", len);
  for (int s = 0; s < 2; ++s) {
    if (!codon[s].empty() && static_cast<int64_t>(codon[s].size()) != len)
      fail("codon terms for strand ", s == 0 ? '+' : '-', " have ", codon[s].size(), " values, expected ", len);
    if (!start[s].empty() && static_cast<int64_t>(start[s].size()) != len)
      fail("start terms for strand ", s == 0 ? '+' : '-', " have ", start[s].size(), " values, expected ", len);
  }
}

StartCodonKind start_codon_kind(std::string_view seq, Strand strand, int64_t start_pos0) {
  const auto code = [&](int k) {
    return genomics::GeneticCode::base_code_along(seq, start_pos0, k, strand == Strand::kReverse);
  };
  // xTG: T = 0, G = 3 (GeneticCode::base_code); the first base tells ATG (A = 2), GTG (3), TTG (0).
  if (code(1) != 0 || code(2) != 3) return StartCodonKind::kOther;
  switch (code(0)) {
    case 2: return StartCodonKind::kAtg;
    case 3: return StartCodonKind::kGtg;
    case 0: return StartCodonKind::kTtg;
    default: return StartCodonKind::kOther;
  }
}

std::string_view start_codon_kind_name(StartCodonKind kind) {
  switch (kind) {
    case StartCodonKind::kAtg: return "ATG";
    case StartCodonKind::kGtg: return "GTG";
    case StartCodonKind::kTtg: return "TTG";
    case StartCodonKind::kOther: return "other";
    case StartCodonKind::kEdge: return "edge";
  }
  return "?";
}

void GeneCallerOptions::validate() const {
  if (min_gene_len_bp < 3) fail("gene caller: minimum gene length ", min_gene_len_bp, " bp is below one codon");
  if (max_overlap_bp < 0) fail("gene caller: maximum overlap ", max_overlap_bp, " bp is negative");
  if (min_gene_len_bp <= max_overlap_bp)
    fail("gene caller: minimum gene length (", min_gene_len_bp, " bp) must exceed the maximum overlap (",
         max_overlap_bp, " bp)");
  const std::pair<const char*, double> numbers[] = {{"minimum score", min_score},
                                                    {"head weight", head_weight},
                                                    {"length weight", length_weight},
                                                    {"ATG start prior", atg_prior},
                                                    {"GTG start prior", gtg_prior},
                                                    {"TTG start prior", ttg_prior},
                                                    {"other start prior", other_start_prior},
                                                    {"edge start prior", edge_start_prior},
                                                    {"coding floor", coding_floor},
                                                    {"length offset", length_offset_codons},
                                                    {"operon weight", operon_weight}};
  for (const auto& [what, value] : numbers)
    if (!std::isfinite(value)) fail("gene caller: ", what, " is not a finite number");
  if (coding_floor < 0) fail("gene caller: coding floor ", coding_floor, " is negative");
  if (length_offset_codons < 0) fail("gene caller: length offset ", length_offset_codons, " codons is negative");
  if (operon_weight < 0) fail("gene caller: operon weight ", operon_weight, " is negative");
}

std::vector<GeneCall> call_genes(std::string_view seq, std::span<const Orf> orfs, const CodingLogOdds& log_odds,
                                 const genomics::GeneticCode& code, const GeneCallerOptions& options) {
  options.validate();
  const auto n = static_cast<int64_t>(seq.size());
  log_odds.validate(n);
  std::vector<GeneCall> cands;
  std::vector<double> scratch;
  // The null model costs a pass over the contig: only when the length term is used.
  const std::array<double, 2> p_stop =
      options.length_weight != 0.0 ? stop_probability(seq, code) : std::array<double, 2>{0.0, 0.0};
  for (size_t o = 0; o < orfs.size(); ++o) {
    const Orf& orf = orfs[o];
    STRAND_ASSERT(orf.beg0 >= 0 && orf.beg0 < orf.end0 && orf.end0 <= n && (orf.end0 - orf.beg0) % 3 == 0, "ORF [",
                  orf.beg0, ", ", orf.end0, ") does not fit a contig of ", n, " bases");
    STRAND_ASSERT(orf.strand == Strand::kForward || orf.strand == Strand::kReverse, "ORF without a strand");
    // ORF-length term: log P(no stop over these codons | coding) / P(same | random sequence).
    const double p = p_stop[orf.strand == Strand::kForward ? 0 : 1];
    const double codon_bonus = options.length_weight * -std::log1p(-std::min(p, 0.999));
    start_candidates(seq, orf, o, log_odds, options, codon_bonus, scratch, cands);
  }
  std::vector<GeneCall> genes = select_genes(std::move(cands), options);
  std::sort(genes.begin(), genes.end(), [](const GeneCall& a, const GeneCall& b) {
    if (a.beg0 != b.beg0) return a.beg0 < b.beg0;
    if (a.end0 != b.end0) return a.end0 < b.end0;
    return a.strand == Strand::kForward && b.strand == Strand::kReverse;
  });
  return genes;
}

std::string gene_sequence(std::string_view seq, const GeneCall& call) {
  STRAND_ASSERT(call.beg0 >= 0 && call.beg0 <= call.end0 && call.end0 <= static_cast<int64_t>(seq.size()), "gene [",
                call.beg0, ", ", call.end0, ") outside a contig of ", seq.size(), " bases");
  const std::string_view bases = seq.substr(call.beg0, call.end0 - call.beg0);
  return call.strand == Strand::kReverse ? genomics::reverse_complement(bases) : std::string(bases);
}

std::string gene_protein(std::string_view seq, const GeneCall& call, const genomics::GeneticCode& code) {
  std::string protein = code.translate(gene_sequence(seq, call), !call.partial5);
  if (!call.partial3 && !protein.empty() && protein.back() == '*') protein.pop_back();
  return protein;
}

}  // namespace strand::pipelines
