// Tests of pipelines/gene_caller: planted genes on a random contig are called exactly, start
// choice follows the log-odds and the start priors, the overlap DP (against exhaustive search
// on random candidates), partial genes keep their flags, and bad inputs are errors.
#include "pipelines/gene_caller.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>

#include "core/error.h"
#include "genomics/nucleotide.h"
#include "tests/test_support.h"

namespace strand::pipelines {
namespace {

using genomics::GeneticCode;
using genomics::Orf;
using genomics::Strand;

const GeneticCode& kCode11 = GeneticCode::ncbi(11);

std::string random_bases(std::mt19937& rng, int64_t len) {
  static constexpr char kAcgt[] = "ACGT";
  std::string s(static_cast<size_t>(len), 'A');
  for (char& c : s) c = kAcgt[rng() % 4];
  return s;
}

// ATG, `n_sense` random sense codons, TAA: a gene in transcription order.
std::string random_gene(std::mt19937& rng, int n_sense) {
  std::string gene = "ATG";
  while (static_cast<int>(gene.size()) < 3 + 3 * n_sense) {
    std::string codon = random_bases(rng, 3);
    if (!kCode11.is_stop(codon.c_str()) && !kCode11.is_start(codon.c_str())) gene += codon;
  }
  return gene + "TAA";
}

// Sets the log-odds of a gene [beg0, end0) on `strand` to `value` in its own frame.
void plant(CodingLogOdds& lo, Strand strand, int64_t beg0, int64_t end0, float value) {
  for (int64_t i = beg0; i < end0; ++i) {
    if (strand == Strand::kForward)
      lo.lo[0][(i - beg0) % 3][i] = value;
    else
      lo.lo[1][(end0 - 1 - i) % 3][i] = value;
  }
}

CodingLogOdds filled(int64_t len, float value) {
  CodingLogOdds lo = CodingLogOdds::zeros(len);
  for (auto& strand : lo.lo)
    for (auto& pos : strand) std::fill(pos.begin(), pos.end(), value);
  return lo;
}

std::vector<Orf> orfs_of(std::string_view seq, int64_t min_len_bp = 90) {
  genomics::OrfOptions options;
  options.code = &kCode11;
  options.min_len_bp = min_len_bp;
  return genomics::find_orfs(seq, options);
}

// A hand-made ORF with one start (outermost = the whole ORF).
Orf make_orf(Strand strand, int64_t beg0, int64_t end0, std::vector<int64_t> starts = {}) {
  Orf orf;
  orf.strand = strand;
  orf.beg0 = beg0;
  orf.end0 = end0;
  orf.starts = starts.empty() ? std::vector<int64_t>{strand == Strand::kForward ? beg0 : end0 - 1} : starts;
  return orf;
}

// A contig of C's with ATG (or CAT for −) written at each ORF's starts.
std::string contig_for(int64_t len, const std::vector<Orf>& orfs) {
  std::string seq(static_cast<size_t>(len), 'C');
  for (const Orf& o : orfs)
    for (int64_t s : o.starts) {
      if (o.strand == Strand::kForward)
        seq.replace(s, 3, "ATG");
      else
        seq.replace(s - 2, 3, "CAT");
    }
  return seq;
}

TEST(GeneCaller, CallsExactlyThePlantedGenes) {
  std::mt19937 rng(7);
  std::string seq = random_bases(rng, 3000);
  const std::string plus_gene = random_gene(rng, 198);  // 600 bp
  const std::string minus_gene = genomics::reverse_complement(random_gene(rng, 198));
  seq.replace(300, 600, plus_gene);
  seq.replace(1500, 600, minus_gene);
  CodingLogOdds lo = filled(3000, -0.2f);
  plant(lo, Strand::kForward, 300, 900, 1.0f);
  plant(lo, Strand::kReverse, 1500, 2100, 1.0f);
  const auto orfs = orfs_of(seq);
  const auto calls = call_genes(seq, orfs, lo, kCode11, GeneCallerOptions{});
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].beg0, 300);
  EXPECT_EQ(calls[0].end0, 900);
  EXPECT_EQ(calls[0].strand, Strand::kForward);
  EXPECT_EQ(calls[0].start_pos0, 300);
  EXPECT_EQ(calls[0].start_codon_kind, StartCodonKind::kAtg);
  EXPECT_FALSE(calls[0].partial5 || calls[0].partial3);
  EXPECT_NEAR(calls[0].score, 597.0, 1e-6);  // 199 sense codons; the stop is not scored
  EXPECT_NEAR(calls[0].coding_score, 597.0, 1e-6);
  EXPECT_EQ(calls[0].start_prior, 0.0);
  EXPECT_EQ(calls[1].beg0, 1500);
  EXPECT_EQ(calls[1].end0, 2100);
  EXPECT_EQ(calls[1].strand, Strand::kReverse);
  EXPECT_EQ(calls[1].start_pos0, 2099);
  EXPECT_EQ(calls[1].start_codon_kind, StartCodonKind::kAtg);
  EXPECT_NEAR(calls[1].score, 597.0, 1e-6);
  EXPECT_EQ(orfs[calls[1].orf_index].strand, Strand::kReverse);
  EXPECT_EQ(gene_sequence(seq, calls[0]), plus_gene);
  EXPECT_EQ(gene_sequence(seq, calls[1]), genomics::reverse_complement(minus_gene));
  const std::string protein = gene_protein(seq, calls[1], kCode11);
  EXPECT_EQ(protein.size(), 199u);
  EXPECT_EQ(protein[0], 'M');
  EXPECT_EQ(protein.find('*'), std::string::npos);
  // With the − log-odds counted from the wrong end, the − gene loses its signal.
  CodingLogOdds flipped = filled(3000, -0.2f);
  plant(flipped, Strand::kForward, 300, 900, 1.0f);
  for (int64_t i = 1500; i < 2100; ++i) flipped.lo[1][(i - 1500) % 3][i] = 1.0f;
  const auto calls2 = call_genes(seq, orfs, flipped, kCode11, GeneCallerOptions{});
  ASSERT_FALSE(calls2.empty());
  for (const GeneCall& c : calls2) {
    if (c.strand == Strand::kReverse && c.beg0 == 1500) {
      EXPECT_LT(c.score, 597.0 / 2);
    }
  }
}

TEST(GeneCaller, StartWhereTheLogOddsBegin) {
  // One + ORF [99, 399) with ATG starts at 99, 159, 219; coding signal from 159 on.
  const std::vector<Orf> orfs = {make_orf(Strand::kForward, 99, 399, {99, 159, 219})};
  const std::string seq = contig_for(500, orfs);
  CodingLogOdds lo = filled(500, -0.5f);
  plant(lo, Strand::kForward, 159, 399, 1.0f);
  const auto calls = call_genes(seq, orfs, lo, kCode11, GeneCallerOptions{});
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].start_pos0, 159);
  EXPECT_EQ(calls[0].beg0, 159);
  EXPECT_EQ(calls[0].end0, 399);
  EXPECT_NEAR(calls[0].score, 237.0, 1e-6);
  // The same on −: mirror everything.
  const std::vector<Orf> rorfs = {make_orf(Strand::kReverse, 101, 401, {400, 340, 280})};
  const std::string rseq = contig_for(500, rorfs);
  CodingLogOdds rlo = filled(500, -0.5f);
  plant(rlo, Strand::kReverse, 101, 341, 1.0f);
  const auto rcalls = call_genes(rseq, rorfs, rlo, kCode11, GeneCallerOptions{});
  ASSERT_EQ(rcalls.size(), 1u);
  EXPECT_EQ(rcalls[0].start_pos0, 340);
  EXPECT_EQ(rcalls[0].beg0, 101);
  EXPECT_EQ(rcalls[0].end0, 341);
  EXPECT_NEAR(rcalls[0].score, 237.0, 1e-6);
  // Starts that would make a gene shorter than the minimum are not taken: min 250 leaves 99.
  GeneCallerOptions longer;
  longer.min_gene_len_bp = 250;
  const auto long_calls = call_genes(seq, orfs, lo, kCode11, longer);
  ASSERT_EQ(long_calls.size(), 1u);
  EXPECT_EQ(long_calls[0].start_pos0, 99);
  EXPECT_NEAR(long_calls[0].score, 237.0 - 0.5 * 60, 1e-6);
}

TEST(GeneCaller, StartCodonPriors) {
  // Outer GTG at 100, inner ATG at 103, zero log-odds between: ATG wins by its prior.
  std::string seq(400, 'C');
  seq.replace(100, 3, "GTG");
  seq.replace(103, 3, "ATG");
  seq.replace(397, 3, "TAA");
  std::vector<Orf> orfs = {make_orf(Strand::kForward, 100, 400, {100, 103})};
  CodingLogOdds lo = CodingLogOdds::zeros(400);
  plant(lo, Strand::kForward, 103, 400, 0.5f);
  auto calls = call_genes(seq, orfs, lo, kCode11, GeneCallerOptions{});
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].start_pos0, 103);
  EXPECT_EQ(calls[0].start_codon_kind, StartCodonKind::kAtg);
  // A TTG inner start loses to the outer GTG (-2 < -1).
  seq.replace(103, 3, "TTG");
  calls = call_genes(seq, orfs, lo, kCode11, GeneCallerOptions{});
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].start_pos0, 100);
  EXPECT_EQ(calls[0].start_codon_kind, StartCodonKind::kGtg);
  EXPECT_EQ(calls[0].start_prior, kGtgStartPrior);
  EXPECT_NEAR(calls[0].score, 0.5 * 294 + kGtgStartPrior, 1e-6);
  EXPECT_EQ(start_codon_kind_name(calls[0].start_codon_kind), "GTG");
  // Equal totals keep the longer gene.
  GeneCallerOptions flat;
  flat.gtg_prior = flat.ttg_prior = 0.0;
  calls = call_genes(seq, orfs, lo, kCode11, flat);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].start_pos0, 100);
  // CTG is an "other" start in table 11.
  seq.replace(100, 3, "CTG");
  seq.replace(103, 3, "CCC");
  orfs[0].starts = {100};
  calls = call_genes(seq, orfs, lo, kCode11, GeneCallerOptions{});
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].start_codon_kind, StartCodonKind::kOther);
  EXPECT_EQ(calls[0].start_prior, kOtherStartPrior);
}

TEST(GeneCaller, OverlapBeyondTheLimitKeepsTheBetterGene) {
  // A + [100, 400) and B − [300, 699): 100 bp of overlap > 60.
  const std::vector<Orf> orfs = {make_orf(Strand::kForward, 100, 400), make_orf(Strand::kReverse, 300, 699)};
  const std::string seq = contig_for(1000, orfs);
  CodingLogOdds lo = filled(1000, -0.1f);
  plant(lo, Strand::kForward, 100, 400, 1.0f);
  plant(lo, Strand::kReverse, 300, 699, 0.5f);  // 396 * 0.5 < 297
  auto calls = call_genes(seq, orfs, lo, kCode11, GeneCallerOptions{});
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].strand, Strand::kForward);
  EXPECT_EQ(calls[0].beg0, 100);
  plant(lo, Strand::kReverse, 300, 699, 0.8f);  // 396 * 0.8 > 297
  calls = call_genes(seq, orfs, lo, kCode11, GeneCallerOptions{});
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].strand, Strand::kReverse);
  EXPECT_EQ(calls[0].beg0, 300);
}

TEST(GeneCaller, OverlapWithinTheLimitKeepsBoth) {
  // A + [100, 400) and B − [340, 700): exactly 60 bp of overlap.
  const std::vector<Orf> orfs = {make_orf(Strand::kForward, 100, 400), make_orf(Strand::kReverse, 340, 700)};
  const std::string seq = contig_for(1000, orfs);
  CodingLogOdds lo = filled(1000, -0.1f);
  plant(lo, Strand::kForward, 100, 400, 1.0f);
  plant(lo, Strand::kReverse, 340, 700, 0.5f);
  auto calls = call_genes(seq, orfs, lo, kCode11, GeneCallerOptions{});
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].beg0, 100);
  EXPECT_EQ(calls[1].beg0, 340);
  GeneCallerOptions strict;
  strict.max_overlap_bp = 59;
  calls = call_genes(seq, orfs, lo, kCode11, strict);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].beg0, 100);  // 297 > 357 * 0.5
}

TEST(GeneCaller, EveryStartOfTheFrontIsOffered) {
  // A + [100, 700), and B's ORF + [149, 1499) in another frame with 46 starts, 149 to 689:
  // longer is better for B, so its 41 longest starts (149-629) are its best, and all overlap A
  // by more than 60 bp. B fits beside A only from 641 (59 bp): the caller must still offer it.
  std::vector<int64_t> starts;
  for (int64_t s = 149; s <= 689; s += 12) starts.push_back(s);
  const std::vector<Orf> orfs = {make_orf(Strand::kForward, 100, 700), make_orf(Strand::kForward, 149, 1499, starts)};
  const std::string seq = contig_for(1600, orfs);
  CodingLogOdds lo = filled(1600, -0.1f);
  plant(lo, Strand::kForward, 100, 700, 1.0f);
  plant(lo, Strand::kForward, 149, 1499, 0.5f);
  const auto calls = call_genes(seq, orfs, lo, kCode11, GeneCallerOptions{});
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].beg0, 100);
  EXPECT_EQ(calls[1].beg0, 641);
  EXPECT_EQ(calls[1].end0, 1499);
}

TEST(GeneCaller, DpBeatsGreedy) {
  // A [0, 300) 10, B [200, 599) 15, C [528, 900) 10: A-B (100 bp) and B-C (71 bp) clash,
  // A-C do not. The best set is A + C (20) although B alone scores highest.
  const std::vector<Orf> orfs = {make_orf(Strand::kForward, 0, 300), make_orf(Strand::kReverse, 200, 599),
                                 make_orf(Strand::kForward, 528, 900)};
  const std::string seq = contig_for(1000, orfs);
  CodingLogOdds lo = CodingLogOdds::zeros(1000);
  plant(lo, Strand::kForward, 0, 300, 10.0f / 297);
  plant(lo, Strand::kReverse, 200, 599, 15.0f / 396);
  plant(lo, Strand::kForward, 528, 900, 10.0f / 369);
  const auto calls = call_genes(seq, orfs, lo, kCode11, GeneCallerOptions{});
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].beg0, 0);
  EXPECT_EQ(calls[1].beg0, 528);
  EXPECT_NEAR(calls[0].score + calls[1].score, 20.0, 1e-4);
}

TEST(GeneCaller, MinScoreThreshold) {
  const std::vector<Orf> orfs = {make_orf(Strand::kForward, 100, 400)};
  const std::string seq = contig_for(500, orfs);
  CodingLogOdds lo = CodingLogOdds::zeros(500);
  plant(lo, Strand::kForward, 100, 400, 5.0f / 297);
  GeneCallerOptions options;
  options.min_score = 4.9;
  EXPECT_EQ(call_genes(seq, orfs, lo, kCode11, options).size(), 1u);
  options.min_score = 5.1;
  EXPECT_TRUE(call_genes(seq, orfs, lo, kCode11, options).empty());
  // All-zero log-odds: nothing beats the default threshold of 0.
  EXPECT_TRUE(call_genes(seq, orfs, CodingLogOdds::zeros(500), kCode11, GeneCallerOptions{}).empty());
}

// The operon term: a weak gene just after a strong one on its strand is called below the
// threshold, not on the other strand; a weak gene alone between genes of the other strand
// needs more than the threshold.
TEST(GeneCaller, OperonWeightFavoursCloseGenesOnOneStrand) {
  const auto calls_with = [](Strand second, double operon_weight, bool second_partial5 = false) {
    // A + [100, 400) worth 50; B [420, 720) scoring min_score - 5; d = 420 + 3 - 400 = 23 bp.
    std::vector<Orf> orfs = {make_orf(Strand::kForward, 100, 400), make_orf(second, 420, 720)};
    orfs[1].partial5 = second_partial5;  // B's start is an edge (an N run before it), not a codon
    const std::string seq = contig_for(1000, orfs);
    CodingLogOdds lo = CodingLogOdds::zeros(1000);
    plant(lo, Strand::kForward, 100, 400, 150.0f / 297);
    plant(lo, second, 420, 720, 95.0f / 297);
    GeneCallerOptions options;
    options.min_score = 100;
    options.operon_weight = operon_weight;
    return call_genes(seq, orfs, lo, kCode11, options);
  };
  EXPECT_EQ(calls_with(Strand::kForward, 0.0).size(), 1u);
  const auto operon = calls_with(Strand::kForward, 12.0);  // gain (2 - 23/60) x 12 = 19.4 > 5
  ASSERT_EQ(operon.size(), 2u);
  EXPECT_EQ(operon[1].beg0, 420);
  EXPECT_NEAR(operon[1].score, 95.0, 1e-3);                  // the gene's own score is reported
  EXPECT_EQ(calls_with(Strand::kReverse, 12.0).size(), 1u);  // other strand: loses 12
  EXPECT_EQ(calls_with(Strand::kForward, 12.0, true).size(), 1u);  // no start codon to measure to

  // C − [2000, 2300) worth +5 between A + [100, 400) and D + [4000, 4300), both far.
  const std::vector<Orf> orfs = {make_orf(Strand::kForward, 100, 400), make_orf(Strand::kReverse, 2000, 2300),
                                 make_orf(Strand::kForward, 4000, 4300)};
  const std::string seq = contig_for(5000, orfs);
  CodingLogOdds lo = CodingLogOdds::zeros(5000);
  plant(lo, Strand::kForward, 100, 400, 150.0f / 297);
  plant(lo, Strand::kReverse, 2000, 2300, 105.0f / 297);
  plant(lo, Strand::kForward, 4000, 4300, 150.0f / 297);
  GeneCallerOptions options;
  options.min_score = 100;
  EXPECT_EQ(call_genes(seq, orfs, lo, kCode11, options).size(), 3u);
  options.operon_weight = 4;  // two switches (-8) instead of one long gap (-4): 5 - 4 > 0
  EXPECT_EQ(call_genes(seq, orfs, lo, kCode11, options).size(), 3u);
  options.operon_weight = 6;  // 5 - 6 < 0
  EXPECT_EQ(call_genes(seq, orfs, lo, kCode11, options).size(), 2u);
}

// The coding floor: a long ORF with negative coding evidence scores at least coding_floor x its
// length term, so it can be called on its length; without the floor it is not.
TEST(GeneCaller, CodingFloorLetsLongOrfsScoreOnTheirLength) {
  const std::vector<Orf> orfs = {make_orf(Strand::kForward, 100, 1003)};
  std::string seq;
  while (seq.size() < 1100) seq += "ACGT";  // even composition: stop codons are 3/64 of codons
  seq.replace(100, 3, "ATG");
  CodingLogOdds lo = CodingLogOdds::zeros(static_cast<int64_t>(seq.size()));
  plant(lo, Strand::kForward, 100, 1003, -0.05f);
  GeneCallerOptions options;
  options.length_weight = 1.0;
  EXPECT_TRUE(call_genes(seq, orfs, lo, kCode11, options).empty());
  options.coding_floor = 0.5;
  const auto calls = call_genes(seq, orfs, lo, kCode11, options);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_GT(calls[0].length_score, 5.0);
  EXPECT_DOUBLE_EQ(calls[0].coding_score, 0.5 * calls[0].length_score);
  EXPECT_DOUBLE_EQ(calls[0].score, 1.5 * calls[0].length_score + calls[0].start_prior);
  // Strong coding evidence is above the floor and stays.
  plant(lo, Strand::kForward, 100, 1003, 0.1f);
  EXPECT_NEAR(call_genes(seq, orfs, lo, kCode11, options).at(0).coding_score, 0.1 * 900, 1e-3);
  // Without a length term the floor changes nothing (it would clamp coding scores at 0).
  plant(lo, Strand::kForward, 100, 1003, -0.05f);
  options.length_weight = 0.0;
  EXPECT_TRUE(call_genes(seq, orfs, lo, kCode11, options).empty());
  options.coding_floor = -1.0;
  test::expect_error([&] { call_genes(seq, orfs, lo, kCode11, options); }, {"coding floor", "negative"});
}

// The length offset: the length term counts only the codons beyond the offset, so a short open
// frame's term is negative (evidence against a gene) and a long one's shrinks by the offset.
TEST(GeneCaller, LengthOffsetCountsCodonsBeyondIt) {
  std::string seq;
  while (seq.size() < 1100) seq += "ACGT";  // even composition
  seq.replace(100, 3, "ATG");
  const std::vector<Orf> orfs = {make_orf(Strand::kForward, 100, 1003)};  // 300 sense codons
  CodingLogOdds lo = CodingLogOdds::zeros(static_cast<int64_t>(seq.size()));
  plant(lo, Strand::kForward, 100, 1003, 0.1f);
  GeneCallerOptions options;
  options.length_weight = 1.0;
  options.min_score = -1e9;
  // Stop codons are about 3/64 of codons in this sequence.
  const double per_codon = call_genes(seq, orfs, lo, kCode11, options).at(0).length_score / 300;
  EXPECT_NEAR(per_codon, -std::log1p(-3.0 / 64.0), 0.001);
  options.length_offset_codons = 80;
  EXPECT_NEAR(call_genes(seq, orfs, lo, kCode11, options).at(0).length_score, 220 * per_codon, 1e-9);
  options.length_offset_codons = 400;  // longer than the ORF: the term counts against it
  EXPECT_NEAR(call_genes(seq, orfs, lo, kCode11, options).at(0).length_score, -100 * per_codon, 1e-9);
  // A negative term leaves the coding floor out (a large start prior keeps the gene's score
  // positive, so that it is called and its parts can be read).
  options.coding_floor = 0.5;
  options.atg_prior = 100;
  plant(lo, Strand::kForward, 100, 1003, -0.05f);
  EXPECT_NEAR(call_genes(seq, orfs, lo, kCode11, options).at(0).coding_score, -0.05 * 900, 1e-3);
  options.length_offset_codons = -1;
  test::expect_error([&] { call_genes(seq, orfs, lo, kCode11, options); }, {"length offset", "negative"});
}

TEST(GeneCaller, PartialGenesKeepTheirFlags) {
  // Frame 0 of +: a gene tail from the left edge to TAA at [297, 300); a gene head from ATG at
  // 600 running off the right end (contig of 900 bases).
  std::mt19937 rng(11);
  std::string tail = random_gene(rng, 99).substr(3);  // 297 bases: 98 sense codons + TAA
  std::string head = random_gene(rng, 150);           // ATG + 150 codons + TAA; cut below
  std::string seq = tail.substr(0, 297) + random_bases(rng, 303) + head.substr(0, 300);
  seq.replace(297, 3, "TAA");
  ASSERT_EQ(seq.size(), 900u);
  CodingLogOdds lo = filled(900, -0.3f);
  plant(lo, Strand::kForward, 0, 300, 1.0f);
  plant(lo, Strand::kForward, 600, 900, 1.0f);
  const auto orfs = orfs_of(seq);
  const auto calls = call_genes(seq, orfs, lo, kCode11, GeneCallerOptions{});
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].beg0, 0);
  EXPECT_EQ(calls[0].end0, 300);
  EXPECT_TRUE(calls[0].partial5);
  EXPECT_FALSE(calls[0].partial3);
  EXPECT_EQ(calls[0].start_codon_kind, StartCodonKind::kEdge);
  EXPECT_EQ(calls[0].start_prior, kEdgeStartPrior);
  EXPECT_NEAR(calls[0].score, 297.0, 1e-6);
  EXPECT_EQ(calls[1].beg0, 600);
  EXPECT_EQ(calls[1].end0, 900);
  EXPECT_FALSE(calls[1].partial5);
  EXPECT_TRUE(calls[1].partial3);
  EXPECT_NEAR(calls[1].score, 300.0, 1e-6);  // no stop: every base scores
  // Proteins: the edge codon is not forced to M; the 3'-partial one has no stop to drop.
  const std::string p0 = gene_protein(seq, calls[0], kCode11);
  EXPECT_EQ(p0, kCode11.translate(seq.substr(0, 297), false));
  EXPECT_EQ(p0.size(), 99u);
  const std::string p1 = gene_protein(seq, calls[1], kCode11);
  EXPECT_EQ(p1.size(), 100u);
  EXPECT_EQ(p1[0], 'M');
}

TEST(GeneCaller, GeneSequenceAndProteinOnMinusKeepCase) {
  // [2, 11) = "ttagcccat"; read on − (reverse complement): atg ggc taa.
  const std::string seq = "ccttagcccatcc";
  GeneCall call;
  call.strand = Strand::kReverse;
  call.beg0 = 2;
  call.end0 = 11;
  call.start_pos0 = 10;
  EXPECT_EQ(gene_sequence(seq, call), "atgggctaa");
  EXPECT_EQ(gene_protein(seq, call, kCode11), "MG");
}

TEST(GeneCaller, EmptyContigAndNoOrfs) {
  EXPECT_TRUE(call_genes("", {}, CodingLogOdds::zeros(0), kCode11, GeneCallerOptions{}).empty());
  EXPECT_TRUE(call_genes("ACGT", {}, CodingLogOdds::zeros(4), kCode11, GeneCallerOptions{}).empty());
}

TEST(GeneCaller, BadInputsAreErrors) {
  const std::string seq(100, 'C');
  GeneCallerOptions options;
  options.min_gene_len_bp = 60;
  test::expect_error([&] { call_genes(seq, {}, CodingLogOdds::zeros(100), kCode11, options); },
                     {"minimum gene length (60 bp)", "maximum overlap (60 bp)"});
  options = {};
  options.max_overlap_bp = -1;
  test::expect_error([&] { call_genes(seq, {}, CodingLogOdds::zeros(100), kCode11, options); }, {"maximum overlap", "-1"});
  options = {};
  options.min_score = std::nan("");
  test::expect_error([&] { call_genes(seq, {}, CodingLogOdds::zeros(100), kCode11, options); }, {"minimum score"});
  test::expect_error([&] { call_genes(seq, {}, CodingLogOdds::zeros(99), kCode11, GeneCallerOptions{}); }, {"99 bases", "100"});
  CodingLogOdds short_one = CodingLogOdds::zeros(100);
  short_one.lo[1][2].resize(50);
  test::expect_error([&] { call_genes(seq, {}, short_one, kCode11, GeneCallerOptions{}); },
                     {"strand -", "codon position 3", "50 values"});
}

// The DP against exhaustive search over random candidate sets, with and without the operon term.
TEST(GeneCaller, DpMatchesExhaustiveSearch) {
  std::mt19937 rng(2024);
  const int64_t len = 1200;
  for (int trial = 0; trial < 60; ++trial) {
    // ORFs of 1-3 starts (in frame, longest first), so that one + ORF's candidates share a stop
    // (the selection visits them as one run in its operon scan).
    std::vector<Orf> orfs;
    for (int k = 0; k < 9; ++k) {
      const int64_t gene_len = 3 * (10 + static_cast<int64_t>(rng() % 90));  // 30..297
      const int64_t beg0 = static_cast<int64_t>(rng() % (len - gene_len));
      const bool forward = rng() % 2;
      std::vector<int64_t> starts;
      for (int64_t codons = 0; codons < gene_len / 3 - 10 && starts.size() < 3; codons += 1 + rng() % 12)
        starts.push_back(forward ? beg0 + 3 * codons : beg0 + gene_len - 1 - 3 * codons);
      if (trial % 4 == 0) starts.resize(1);
      orfs.push_back(make_orf(forward ? Strand::kForward : Strand::kReverse, beg0, beg0 + gene_len, starts));
    }
    const std::string seq(static_cast<size_t>(len), 'A');  // every start is "other"
    CodingLogOdds lo = CodingLogOdds::zeros(len);
    std::uniform_real_distribution<float> uniform(-0.6f, 1.0f);
    for (auto& strand : lo.lo)
      for (auto& pos : strand)
        for (float& v : pos) v = uniform(rng);
    GeneCallerOptions options;
    options.min_gene_len_bp = 30;
    options.max_overlap_bp = static_cast<int64_t>(rng() % 30);
    options.other_start_prior = 0.0;
    options.min_score = trial % 3 == 0 ? 0.0 : static_cast<double>(rng() % 50) / 10;      // 0..4.9
    options.operon_weight = trial % 2 == 0 ? 0.0 : static_cast<double>(rng() % 30) / 10;  // 0..2.9
    const double w = options.operon_weight;
    // The candidates, computed directly: per ORF the starts no shorter start outscores (ties
    // keep the longer) that score above min_score - 2 w.
    struct Cand {
      int64_t beg0, end0;
      Strand strand;
      double score;
    };
    std::vector<std::vector<Cand>> cands(orfs.size());
    for (size_t k = 0; k < orfs.size(); ++k) {
      const Orf& o = orfs[k];
      const bool fwd = o.strand == Strand::kForward;
      double best_shorter = -1e300;
      for (size_t st = o.starts.size(); st > 0; --st) {
        const Cand c{fwd ? o.starts[st - 1] : o.beg0, fwd ? o.end0 : o.starts[st - 1] + 1, o.strand, 0.0};
        double sc = 0;
        for (int64_t i = c.beg0; i < c.end0; ++i) {
          if (fwd && i < c.end0 - 3) sc += lo.lo[0][(i - o.beg0) % 3][i];
          if (!fwd && i >= c.beg0 + 3) sc += lo.lo[1][(o.end0 - 1 - i) % 3][i];
        }
        if (sc <= options.min_score - 2 * w || sc < best_shorter) continue;
        if (sc == best_shorter) cands[k].pop_back();
        cands[k].push_back({c.beg0, c.end0, c.strand, sc});
        best_shorter = sc;
      }
    }
    auto overlap = [](const Cand& a, const Cand& b) {
      return std::max<int64_t>(0, std::min(a.end0, b.end0) - std::max(a.beg0, b.beg0));
    };
    // The operon term between consecutive genes a, b (b ends later), from the stop codon of
    // the upstream gene to the start codon of the downstream one in transcription order.
    auto transition = [&](const Cand& a, const Cand& b) {
      if (a.strand != b.strand) return -w;
      const int64_t d = a.strand == Strand::kForward ? b.beg0 - (a.end0 - 3) : (b.beg0 + 2) - (a.end0 - 1);
      const int64_t dist = std::abs(d);
      if ((dist <= 60 && d > 2) || dist < 15) return (2.0 - static_cast<double>(dist) / 60) * w;
      return dist > 180 ? -w : 0.0;
    };
    // A selection's worth: scores less min_score plus the terms between genes in end order.
    auto worth = [&](std::vector<Cand> genes) {
      std::sort(genes.begin(), genes.end(), [](const Cand& a, const Cand& b) {
        if (a.end0 != b.end0) return a.end0 < b.end0;
        if (a.beg0 != b.beg0) return a.beg0 < b.beg0;
        return a.strand == Strand::kForward && b.strand == Strand::kReverse;
      });
      double total = 0;
      for (size_t k = 0; k < genes.size(); ++k)
        total += genes[k].score - options.min_score + (k > 0 ? transition(genes[k - 1], genes[k]) : 0.0);
      return total;
    };
    // Every choice of at most one candidate per ORF (a mixed-radix counter).
    double best = 0;
    std::vector<size_t> choice(orfs.size(), 0);  // 0: none, c: cands[k][c - 1]
    while (true) {
      std::vector<Cand> genes;
      bool ok = true;
      for (size_t k = 0; k < orfs.size() && ok; ++k) {
        if (choice[k] == 0) continue;
        const Cand& c = cands[k][choice[k] - 1];
        for (const Cand& g : genes)
          if (overlap(g, c) > options.max_overlap_bp) ok = false;
        genes.push_back(c);
      }
      if (ok) best = std::max(best, worth(genes));
      size_t k = 0;
      while (k < orfs.size() && ++choice[k] > cands[k].size()) choice[k++] = 0;
      if (k == orfs.size()) break;
    }
    const auto calls = call_genes(seq, orfs, lo, kCode11, options);
    std::vector<Cand> called;
    for (size_t a = 0; a < calls.size(); ++a) {
      called.push_back({calls[a].beg0, calls[a].end0, calls[a].strand, calls[a].score});
      for (size_t b = a + 1; b < calls.size(); ++b) {
        const int64_t ov = std::min(calls[a].end0, calls[b].end0) - std::max(calls[a].beg0, calls[b].beg0);
        EXPECT_LE(ov, options.max_overlap_bp) << "trial " << trial;
      }
    }
    EXPECT_NEAR(worth(called), best, 1e-3) << "trial " << trial;
  }
}

}  // namespace
}  // namespace strand::pipelines
