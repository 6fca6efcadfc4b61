// strand score against the independent PyTorch implementation's expected scores
// (tests/golden/make_score_golden.py → data/score/expected_*.tsv): STRAND_LLR and STRAND_EDIST
// of masked PS/PH and causal models, both strands and --no-rc, every allele kind and edge case
// of data/score/variants.vcf (contig ends, N runs, a contig shorter than the window, indels,
// multi-allelic records, unscorable alleles); chr-prefix matching; the same output whatever
// --threads and --batch.
#include "pipelines/score.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/text.h"
#include "genomics/fasta_index.h"
#include "genomics/tokenizer.h"
#include "genomics/vcf_reader.h"
#include "kernels/backend.h"
#include "kernels/device.h"
#include "model/weights.h"
#include "pipelines/window_scorer.h"
#include "tests/test_support.h"

namespace strand::pipelines {
namespace {

namespace fs = std::filesystem;

const fs::path kData = test::source_dir() / "data" / "score";

struct Expected {
  size_t record = 0;
  int alt_index = 0;
  std::string where;  // chrom:pos ref>alt, for messages
  double llr = NAN, llr_fwd = NAN, edist = NAN, edist_fwd = NAN;
  std::string reason;
};

double parse_value(const std::string& text) { return text == "." ? NAN : parse_double(text, "expected value"); }

std::vector<Expected> read_expected(const fs::path& path) {
  std::ifstream in(path);
  std::vector<Expected> rows;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string rec, chrom, pos, ref, alt_index, alt, llr, llr_fwd, edist, edist_fwd, reason;
    f >> rec >> chrom >> pos >> ref >> alt_index >> alt >> llr >> llr_fwd >> edist >> edist_fwd >> reason;
    Expected e;
    e.record = static_cast<size_t>(std::stoul(rec));
    e.alt_index = std::stoi(alt_index);
    e.where = chrom + ":" + pos + " " + ref + ">" + alt;
    e.llr = parse_value(llr);
    e.llr_fwd = parse_value(llr_fwd);
    e.edist = parse_value(edist);
    e.edist_fwd = parse_value(edist_fwd);
    e.reason = reason;
    rows.push_back(e);
  }
  return rows;
}

// Per record, the values of a Number=A float tag (NaN = '.'); records without ALT: empty.
struct Scored {
  std::vector<std::vector<float>> llr, edist;
};

std::vector<float> info_floats(const bcf_hdr_t* hdr, bcf1_t* rec, const char* tag, size_t alts) {
  std::vector<float> values(alts, NAN);
  float* buf = nullptr;
  int n = 0;
  const int got = bcf_get_info_float(const_cast<bcf_hdr_t*>(hdr), rec, tag, &buf, &n);
  for (int i = 0; i < got && static_cast<size_t>(i) < alts; ++i)
    values[static_cast<size_t>(i)] = bcf_float_is_missing(buf[i]) ? NAN : buf[i];
  std::free(buf);
  return values;
}

Scored read_scores(const std::string& path) {
  genomics::VcfReader reader(path);
  genomics::Bcf1Ptr rec(bcf_init());
  Scored s;
  while (reader.next(rec.get())) {
    const size_t alts = static_cast<size_t>(std::max(0, rec->n_allele - 1));
    s.llr.push_back(info_floats(reader.header(), rec.get(), "STRAND_LLR", alts));
    s.edist.push_back(info_floats(reader.header(), rec.get(), "STRAND_EDIST", alts));
  }
  return s;
}

ScoreOptions options(const std::string& model, const std::string& vcf, const std::string& out, int64_t window) {
  ScoreOptions o;
  o.model = (test::source_dir() / "data" / "golden" / model).string();
  o.fasta_ref = (kData / "ref.fa").string();
  o.input = (kData / vcf).string();
  o.output.path = out;
  o.output.type = OutputType::kBcf;  // exact float32 values
  o.window = window;
  o.compute.threads = 2;
  o.check_ref = CheckRef::kExclude;
  return o;
}

// LLRs are differences of log-probabilities of order 1; EDIST is 1 - cos of nearby vectors.
void expect_close(double got, double want, double abs_tol, double rel_tol, const std::string& what) {
  if (std::isnan(want)) {
    EXPECT_TRUE(std::isnan(got)) << what << ": expected '.', got " << got;
    return;
  }
  EXPECT_NEAR(got, want, abs_tol + rel_tol * std::fabs(want)) << what;
}

void check_against(const std::string& model, int64_t window, const std::string& vcf, const std::string& expected) {
  if (!fs::exists(kData / expected)) GTEST_FAIL() << "missing " << (kData / expected);
  const std::vector<Expected> rows = read_expected(kData / expected);
  ASSERT_FALSE(rows.empty());
  for (const bool both : {true, false}) {
    test::TempDir tmp;
    const std::string out = (tmp / "s.bcf").string();
    ScoreOptions o = options(model, vcf, out, window);
    o.both_strands = both;
    const ScoreSummary summary = run_score(o);
    const Scored s = read_scores(out);
    size_t compared = 0;
    for (const Expected& e : rows) {
      const std::string what = cat(expected, both ? "" : " --no-rc", " record ", e.record, " ", e.where, " (", e.reason, ")");
      ASSERT_LT(e.record, s.llr.size()) << what;
      if (e.alt_index < 0) {
        EXPECT_TRUE(s.llr[e.record].empty()) << what;
        continue;
      }
      const auto a = static_cast<size_t>(e.alt_index);
      ASSERT_LT(a, s.llr[e.record].size()) << what;
      expect_close(s.llr[e.record][a], both ? e.llr : e.llr_fwd, 2e-5, 1e-5, what + " STRAND_LLR");
      expect_close(s.edist[e.record][a], both ? e.edist : e.edist_fwd, 1e-7, 2e-4, what + " STRAND_EDIST");
      ++compared;
    }
    EXPECT_GT(compared, 0u);
    EXPECT_EQ(summary.records, s.llr.size());
  }
}

TEST(Score, MaskedPsMatchesTheIndependentImplementation) { check_against("ps", 64, "variants.vcf", "expected_ps_w64.tsv"); }
TEST(Score, OddWindowPutsTheVariantAtHalfTheWindow) { check_against("ps", 51, "variants.vcf", "expected_ps_w51.tsv"); }
TEST(Score, MaskedPhMatchesTheIndependentImplementation) { check_against("ph", 64, "variants.vcf", "expected_ph_w64.tsv"); }
TEST(Score, CausalMambaScoresSnvsAndIndels) { check_against("mamba", 64, "variants.vcf", "expected_mamba_w64.tsv"); }
TEST(Score, ContigsDifferingByChrPrefixAreMatched) {
  check_against("ps", 64, "variants_chr.vcf", "expected_ps_w64_chr.tsv");
}

// RC-equivariant models: the masked log-probabilities of a window's reverse complement, at the
// mirrored row, are the forward ones complemented. run_score relies on this identity to read
// both strands from one pass; here both passes run and are compared on real windows (the
// expected values above come from an explicit reverse-strand pass).
TEST(Score, PsReverseStrandMaskedPassEqualsTheForwardOne) {
  const model::ModelWeights weights = model::load_model((test::source_dir() / "data/golden/ps").string());
  auto cpu = kernels::make_cpu_backend();
  model::Backbone backbone(weights, *cpu);
  genomics::IndexedFasta fasta((kData / "ref.fa").string());
  std::vector<WindowRequest> requests;
  constexpr int64_t kWindow = 64;
  for (const int64_t start0 : {int64_t{0}, int64_t{500}, int64_t{3000}, 12356 - kWindow}) {
    std::string seq;
    fasta.fetch(genomics::Region{"q", start0, start0 + kWindow}, seq);
    for (const int64_t c : {int64_t{0}, int64_t{17}, int64_t{32}, int64_t{63}}) {
      std::vector<int32_t> ids = genomics::tokenize(seq);
      ids[static_cast<size_t>(c)] = genomics::kTokenMask;
      requests.push_back({ids, c, false, false});
      requests.push_back({genomics::reverse_complement_tokens(ids), kWindow - 1 - c, false, false});
    }
  }
  const std::vector<WindowOutput> out = run_windows(backbone, requests, 5);
  for (size_t i = 0; i < out.size(); i += 2)
    for (size_t b = 0; b < 4; ++b)
      EXPECT_NEAR(out[i].nucleotide_logp[b], out[i + 1].nucleotide_logp[3 - b], 1e-5) << "window " << i / 2 << " base " << b;
}

// The summary counts every reason the fixture was built to exercise.
TEST(Score, SummaryCountsUnscoredAllelesByReason) {
  test::TempDir tmp;
  const ScoreSummary s = run_score(options("ps", "variants.vcf", (tmp / "s.bcf").string(), 64));
  const auto count = [&](SkipReason r) { return s.skipped[static_cast<size_t>(r)]; };
  EXPECT_EQ(s.records, 34u);
  EXPECT_EQ(s.no_alt_records, 1u);
  EXPECT_EQ(count(SkipReason::kContigAbsent), 1u);
  EXPECT_EQ(count(SkipReason::kRefMismatch), 1u);
  EXPECT_EQ(count(SkipReason::kWindowAllN), 1u);
  EXPECT_EQ(count(SkipReason::kSymbolic), 1u);
  EXPECT_EQ(count(SkipReason::kBreakend), 1u);
  EXPECT_EQ(count(SkipReason::kStar), 1u);
  EXPECT_EQ(count(SkipReason::kAltNotAcgt), 1u);
  EXPECT_EQ(count(SkipReason::kRefNotAcgt), 1u);
  EXPECT_EQ(count(SkipReason::kNotSnv), 4u);
  EXPECT_EQ(s.llr_values + count(SkipReason::kNotSnv) + count(SkipReason::kAltNotAcgt) + count(SkipReason::kRefNotAcgt),
            s.edist_values);
}

// --threads, --batch and the chunking of records change nothing (bit for bit on the CPU).
TEST(Score, OutputIsTheSameForAnyThreadsAndBatch) {
  test::TempDir tmp;
  std::vector<Scored> runs;
  int k = 0;
  for (const auto& [threads, batch] : {std::pair{1, 1}, std::pair{2, 3}, std::pair{2, 64}}) {
    ScoreOptions o = options("ph", "variants.vcf", (tmp / cat("r", k++, ".bcf")).string(), 64);
    o.compute.threads = threads;
    o.batch = batch;
    run_score(o);
    runs.push_back(read_scores(o.output.path));
  }
  for (size_t i = 1; i < runs.size(); ++i) {
    ASSERT_EQ(runs[i].llr.size(), runs[0].llr.size());
    for (size_t r = 0; r < runs[0].llr.size(); ++r)
      for (size_t a = 0; a < runs[0].llr[r].size(); ++a) {
        const auto same = [](float x, float y) { return (std::isnan(x) && std::isnan(y)) || x == y; };
        EXPECT_TRUE(same(runs[i].llr[r][a], runs[0].llr[r][a])) << "run " << i << " record " << r;
        EXPECT_TRUE(same(runs[i].edist[r][a], runs[0].edist[r][a])) << "run " << i << " record " << r;
      }
  }
}

// On a GPU (skipped without one): the same scores as the CPU within fp32 rounding of a
// different summation order (the scan is chunked, cuBLAS sums differently): LLRs within 1e-4,
// EDIST within 1e-3 relative; the same '.' everywhere. In both exact modes: tf32x3 runs the
// batches of windows with split activations (out_proj from the scan's split y).
TEST(Score, GpuScoresMatchTheCpu) {
  if (kernels::cuda_devices().empty()) GTEST_SKIP() << "no CUDA device";
  for (const char* model : {"ps", "ph", "mamba"})
    for (kernels::GemmPrecision precision : {kernels::GemmPrecision::kFp32, kernels::GemmPrecision::kTf32x3}) {
      test::TempDir tmp;
      ScoreOptions cpu = options(model, "variants.vcf", (tmp / "cpu.bcf").string(), 64);
      ScoreOptions gpu = options(model, "variants.vcf", (tmp / "gpu.bcf").string(), 64);
      gpu.compute.device = kernels::parse_device_spec("cuda:0");
      gpu.compute.precision = precision;
      gpu.batch = 7;
      run_score(cpu);
      run_score(gpu);
      const Scored a = read_scores(cpu.output.path), b = read_scores(gpu.output.path);
      ASSERT_EQ(a.llr.size(), b.llr.size());
      size_t values = 0;
      for (size_t r = 0; r < a.llr.size(); ++r)
        for (size_t i = 0; i < a.llr[r].size(); ++i) {
          const std::string what = cat(model, " ", kernels::to_string(precision), " record ", r, " alt ", i);
          expect_close(b.llr[r][i], a.llr[r][i], 1e-4, 0, what + " STRAND_LLR");
          expect_close(b.edist[r][i], a.edist[r][i], 1e-8, 1e-3, what + " STRAND_EDIST");
          values += !std::isnan(a.llr[r][i]);
        }
      EXPECT_GT(values, 10u) << model;
    }
}

// --device cuda:0,cuda:1: chunks spread over two GPUs give what one GPU gives, record for record
// (same kernels on the same kind of GPU: bit for bit). Skipped without two GPUs.
TEST(Score, TwoGpusGiveTheScoresOfOne) {
  if (kernels::cuda_devices().size() < 2) GTEST_SKIP() << "fewer than two CUDA devices";
  test::TempDir tmp;
  ScoreOptions one = options("ps", "variants.vcf", (tmp / "one.bcf").string(), 64);
  ScoreOptions two = options("ps", "variants.vcf", (tmp / "two.bcf").string(), 64);
  one.compute.device = kernels::parse_device_spec("cuda:0");
  two.compute.device = kernels::parse_device_spec("cuda:0,cuda:1");
  one.batch = two.batch = 3;  // many small chunks, so both GPUs get some
  two.compute.threads = 4;
  run_score(one);
  run_score(two);
  const Scored a = read_scores(one.output.path), b = read_scores(two.output.path);
  ASSERT_EQ(a.llr.size(), b.llr.size());
  for (size_t r = 0; r < a.llr.size(); ++r)
    for (size_t i = 0; i < a.llr[r].size(); ++i) {
      expect_close(b.llr[r][i], a.llr[r][i], 1e-6, 0, cat("record ", r, " STRAND_LLR"));
      expect_close(b.edist[r][i], a.edist[r][i], 1e-9, 1e-5, cat("record ", r, " STRAND_EDIST"));
    }
}

}  // namespace
}  // namespace strand::pipelines
