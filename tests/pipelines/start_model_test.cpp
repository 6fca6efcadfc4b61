// Tests of pipelines/start_model: the RBS bin of a start (motif length, spacer, both strands,
// none), and a model trained on planted genes behind a Shine-Dalgarno motif that scores their
// starts above the same codons elsewhere; the gene caller adds the start terms.
#include "pipelines/start_model.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "genomics/nucleotide.h"
#include "tests/test_support.h"

namespace strand::pipelines {
namespace {

using genomics::Orf;
using genomics::Strand;

// A start codon at 30 with `upstream` right before it, in a run of C's (no SD piece at all).
std::string with_upstream(const std::string& upstream) {
  std::string s(30 - upstream.size(), 'C');
  return s + upstream + "ATGCCCCCCCCC";
}

TEST(StartModel, RbsBinByMotifLengthAndSpacer) {
  const int none = kRbsBins - 1;
  EXPECT_EQ(rbs_bin(with_upstream(""), Strand::kForward, 30), none);
  // AGGAGG ending 7 bases before the codon: 6-base motif, spacer class 5-7.
  EXPECT_EQ(rbs_bin(with_upstream("AGGAGGCCCCCCC"), Strand::kForward, 30), 3 * kRbsSpacerClasses + 1);
  // GGAG with a spacer of 3 and of 12.
  EXPECT_EQ(rbs_bin(with_upstream("GGAGCCC"), Strand::kForward, 30), 1 * kRbsSpacerClasses + 0);
  EXPECT_EQ(rbs_bin(with_upstream("GGAGCCCCCCCCCCCC"), Strand::kForward, 30), 1 * kRbsSpacerClasses + 3);
  // A motif too close (spacer 2) counts as its longest piece 3 or more bases away (AGGAG);
  // one too far (16) as none.
  EXPECT_EQ(rbs_bin(with_upstream("AGGAGGCC"), Strand::kForward, 30), 2 * kRbsSpacerClasses + 0);
  EXPECT_EQ(rbs_bin(with_upstream("AGGAGG" + std::string(16, 'C')), Strand::kForward, 30), none);
  // The longest piece wins over a closer-to-7 shorter one.
  EXPECT_EQ(rbs_bin(with_upstream("AGGAGCCCCAGGCCCCC"), Strand::kForward, 30), 2 * kRbsSpacerClasses + 3);
  // The same start on the minus strand: reverse complement, start codon's first base at the right.
  const std::string fwd = with_upstream("AGGAGGCCCCCCC");
  const std::string rc = genomics::reverse_complement(fwd);
  EXPECT_EQ(rbs_bin(rc, Strand::kReverse, static_cast<int64_t>(rc.size()) - 1 - 30), 3 * kRbsSpacerClasses + 1);
  // Near the contig's edge: no crash, no motif.
  EXPECT_EQ(rbs_bin("ATGCCC", Strand::kForward, 0), none);
}

// 300 planted genes, ATG behind AGGAGG + 7 bases, each with a decoy ATG in frame further down
// that has no motif; ORFs list both starts. Trained on the true starts, the model gives them a
// higher start term than the decoys, and with the term the caller picks them.
TEST(StartModel, LearnsPlantedRibosomeBindingSites) {
  std::mt19937 rng(7);
  const genomics::GeneticCode& code = genomics::GeneticCode::ncbi(11);
  std::string seq;
  std::vector<Orf> orfs;
  std::vector<GeneCall> calls;
  const auto random_codon = [&] {
    static constexpr char kAcgt[] = "ACGT";
    for (;;) {
      std::string c = {kAcgt[rng() % 4], kAcgt[rng() % 4], kAcgt[rng() % 4]};
      if (!code.is_stop(c.c_str()) && !code.is_start(c.c_str())) return c;
    }
  };
  for (int g = 0; g < 300; ++g) {
    seq += "TAATAATAA" + std::string("CCAGGAGGCCCCCCC");
    const auto start = static_cast<int64_t>(seq.size());
    std::string gene = "ATG";
    for (int k = 0; k < 30; ++k) gene += random_codon();
    gene += "ATG";  // the decoy start, no motif before it
    for (int k = 0; k < 80; ++k) gene += random_codon();
    gene += "TAA";
    seq += gene;
    Orf orf;
    orf.beg0 = start;
    orf.end0 = start + static_cast<int64_t>(gene.size());
    orf.starts = {start, start + 93};
    orfs.push_back(orf);
    GeneCall call;
    call.beg0 = start;
    call.end0 = orf.end0;
    call.start_pos0 = start;
    calls.push_back(call);
  }
  const StartModel m = train_start_model({seq}, {std::span<const Orf>(orfs)}, {calls}, 300);
  EXPECT_EQ(m.training_genes, 300);
  EXPECT_EQ(m.background_starts, 600);
  EXPECT_GT(m.rbs_llr[3 * kRbsSpacerClasses + 1], 0.5f);
  EXPECT_LT(m.rbs_llr[kRbsBins - 1], -0.5f);
  const auto terms = start_scores(seq, orfs, m, 2.0);
  ASSERT_EQ(terms[0].size(), seq.size());
  EXPECT_TRUE(terms[1] == std::vector<float>(seq.size(), 0.0f));
  for (const Orf& orf : orfs)
    EXPECT_GT(terms[0][static_cast<size_t>(orf.starts[0])], terms[0][static_cast<size_t>(orf.starts[1])] + 1.0f);

  // The caller: coding log-odds that are negative between the two starts make the shorter gene
  // score higher, unless the start term says otherwise.
  CodingLogOdds lo = CodingLogOdds::zeros(static_cast<int64_t>(seq.size()));
  for (auto& pos : lo.lo[0]) std::fill(pos.begin(), pos.end(), 0.05f);
  for (const Orf& orf : orfs)
    for (auto& pos : lo.lo[0]) std::fill(pos.begin() + orf.starts[0], pos.begin() + orf.starts[1], -0.02f);
  GeneCallerOptions options;
  options.min_score = -1e9;
  const auto without = call_genes(seq, orfs, lo, code, options);
  lo.start = terms;
  const auto with = call_genes(seq, orfs, lo, code, options);
  ASSERT_EQ(with.size(), orfs.size());
  ASSERT_EQ(without.size(), orfs.size());
  for (size_t i = 0; i < orfs.size(); ++i) {
    EXPECT_EQ(without[i].start_pos0, orfs[i].starts[1]);
    EXPECT_EQ(with[i].start_pos0, orfs[i].starts[0]);
  }
}

}  // namespace
}  // namespace strand::pipelines
