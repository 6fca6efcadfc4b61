// strand loglik against the independent PyTorch implementation (data/golden/causal/, written by
// tests/golden/make_causal_golden.py for the tiny causal model data/golden/mamba): per-record
// log-likelihoods on both strands, the per-base -log2 p track (bedGraph and bigWig), the
// streamed log-likelihood independent of its piece size (and equal to one whole forward), and
// the errors (bidirectional model, no records) that leave no output behind; -O z is bgzip.
#include "pipelines/loglik.h"

#include <bigWig.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <cstdint>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/text.h"
#include "genomics/fasta_index.h"
#include "genomics/tokenizer.h"
#include "kernels/backend.h"
#include "model/backbone.h"
#include "model/weights.h"
#include "pipelines/causal_lm.h"
#include "pipelines/window_scorer.h"
#include "tests/test_support.h"

namespace strand::pipelines {
namespace {

namespace fs = std::filesystem;

const fs::path kGolden = test::source_dir() / "data" / "golden";
const std::string kModel = (kGolden / "mamba").string();
const std::string kShort = (kGolden / "inputs" / "short.fa").string();
const std::string kChr20 = (kGolden / "inputs" / "chr20_100k.fa.gz").string();
constexpr double kLn2 = 0.69314718055994530942;

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> f;
  std::istringstream in(line);
  std::string x;
  while (std::getline(in, x, '\t')) f.push_back(x);
  return f;
}

// A TSV as rows of column → text, keyed by the first column; the header is the first line
// (a leading '#' dropped).
using Table = std::map<std::string, std::map<std::string, std::string>>;

Table parse_tsv(const std::string& text, std::vector<std::string>* order = nullptr) {
  std::istringstream in(text);
  std::string line;
  Table t;
  if (!std::getline(in, line)) return t;
  if (line.starts_with("#")) line.erase(0, 1);
  const std::vector<std::string> header = split_tabs(line);
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const std::vector<std::string> f = split_tabs(line);
    EXPECT_EQ(f.size(), header.size()) << line;
    auto& row = t[f.at(0)];
    for (size_t i = 0; i < f.size() && i < header.size(); ++i) row[header[i]] = f[i];
    if (order != nullptr) order->push_back(f.at(0));
  }
  return t;
}

double value(const std::string& text) { return text == "." ? NAN : std::stod(text); }

LoglikOptions options(std::vector<std::string> inputs, const std::string& out) {
  LoglikOptions o;
  o.model = kModel;
  o.inputs = std::move(inputs);
  o.output.path = out;
  o.compute.threads = 2;
  return o;
}

// |got - want| <= abs_tol + rel_tol |want|; records the largest relative difference seen.
struct Agreement {
  double max_rel = 0, max_abs = 0;
  void check(double got, double want, double abs_tol, double rel_tol, const std::string& what) {
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(got)) << what << ": expected '.', got " << got;
      return;
    }
    const double d = std::fabs(got - want);
    max_abs = std::max(max_abs, d);
    if (want != 0) max_rel = std::max(max_rel, d / std::fabs(want));
    EXPECT_LE(d, abs_tol + rel_tol * std::fabs(want)) << what << ": got " << got << ", want " << want;
    if (std::getenv("STRAND_TEST_VERBOSE") != nullptr)
      std::cout << what << ": got " << got << " want " << want << " abs " << d << " rel " << (want != 0 ? d / std::fabs(want) : 0.0) << "\n";
  }
};

const Table& golden_loglik() {
  static const Table t = parse_tsv(test::read_file(kGolden / "causal" / "loglik.tsv"));
  return t;
}

// Every record of short.fa and chr20_100k.fa.gz, forward only and both strands.
TEST(Loglik, MatchesTheIndependentImplementationOnEveryRecord) {
  const Table& gold = golden_loglik();
  ASSERT_EQ(gold.size(), 7u);
  Agreement a;
  for (const bool both : {false, true}) {
    test::TempDir tmp;
    const std::string out = (tmp / "ll.tsv").string();
    LoglikOptions o = options({kShort, kChr20}, out);
    o.both_strands = both;
    const LoglikSummary summary = run_loglik(o);
    EXPECT_EQ(summary.records, 7u);
    EXPECT_EQ(summary.bases, 1u + 7 + 127 + 128 + 129 + 4097 + 100000);
    std::vector<std::string> order;
    const Table got = parse_tsv(test::read_file(out), &order);
    EXPECT_EQ(order, (std::vector<std::string>{"len_1", "len_7", "len_127", "len_128", "len_129", "len_4097",
                                               "len_100000"}));
    for (const auto& [name, g] : gold) {
      ASSERT_TRUE(got.count(name)) << name;
      const auto& r = got.at(name);
      const std::string what = cat(name, both ? " both strands" : " forward");
      const int64_t len = std::stoll(g.at("length"));
      EXPECT_EQ(r.at("length"), g.at("length")) << what;
      EXPECT_EQ(std::stoll(r.at("scored")), std::max<int64_t>(0, len - 1)) << what;
      // The golden values are %.10g of the reference's sums (resolution 1e-4 at len_100000).
      // Measured (CPU): relative <= 8.5e-8 on every column (len_7, a 6-term sum, is the worst;
      // len_4097 4.6e-9, len_100000 4.4e-10 forward / 7.1e-10 rc); len_1 exactly 0 and '.'.
      const double rel = 1e-6, abs = 1e-9;
      a.check(value(r.at("loglik")), value(g.at("loglik")), abs, rel, what + " loglik");
      a.check(value(r.at("bits_per_base")), value(g.at("bits_per_base")), abs, rel, what + " bits_per_base");
      EXPECT_EQ(r.count("loglik_rc"), both ? 1u : 0u) << what;
      if (!both) continue;
      a.check(value(r.at("loglik_rc")), value(g.at("loglik_rc")), abs, rel, what + " loglik_rc");
      a.check(value(r.at("bits_per_base_rc")), value(g.at("bits_per_base_rc")), abs, rel, what + " bits_per_base_rc");
      a.check(value(r.at("loglik_mean")), value(g.at("loglik_mean")), abs, rel, what + " loglik_mean");
      const double mean_bits = len > 1 ? -value(g.at("loglik_mean")) / static_cast<double>(len - 1) / kLn2 : NAN;
      a.check(value(r.at("bits_per_base_mean")), mean_bits, abs, rel, what + " bits_per_base_mean");
    }
  }
  RecordProperty("max_relative_difference", std::to_string(a.max_rel));
  std::cout << "[ loglik vs golden ] max relative difference " << a.max_rel << ", max absolute " << a.max_abs << "\n";
}

// -log2 p per base of len_129 from a FASTA holding that record only.
struct TrackCase {
  test::TempDir tmp;
  std::string fasta;
  std::vector<double> forward, mean;  // golden neg_log2_p, neg_log2_p_mean (NaN for '.')
  TrackCase() {
    genomics::IndexedFasta fa(kShort);
    std::string seq;
    fa.fetch(genomics::Region{"len_129", 0, 129}, seq);
    EXPECT_EQ(seq.size(), 129u);
    fasta = (tmp / "len_129.fa").string();
    test::write_file(fasta, ">len_129 the one record\n" + seq + "\n");
    std::istringstream in(test::read_file(kGolden / "causal" / "track_len_129.tsv"));
    std::string line;
    std::getline(in, line);
    EXPECT_EQ(line, "pos0\tneg_log2_p\tneg_log2_p_rc_mirrored\tneg_log2_p_mean");
    while (std::getline(in, line)) {
      const std::vector<std::string> f = split_tabs(line);
      EXPECT_EQ(std::stoul(f.at(0)), forward.size());
      forward.push_back(value(f.at(1)));
      mean.push_back(value(f.at(3)));
    }
    EXPECT_EQ(forward.size(), 129u);
  }
};

// A bedGraph track expanded to one value per base (NaN where no line covers it).
std::vector<double> read_bedgraph(const std::string& path, const std::string& contig, size_t len) {
  std::vector<double> v(len, NAN);
  std::istringstream in(test::read_maybe_gzip(path));
  std::string line;
  int64_t last_end = 0;
  while (std::getline(in, line)) {
    if (line.starts_with("track ")) continue;
    const std::vector<std::string> f = split_tabs(line);
    if (f.size() != 4) {
      ADD_FAILURE() << "bad bedGraph line: " << line;
      continue;
    }
    EXPECT_EQ(f[0], contig);
    const int64_t beg = std::stoll(f[1]), end = std::stoll(f[2]);
    EXPECT_LT(beg, end) << line;
    EXPECT_GE(beg, last_end) << "unsorted or overlapping: " << line;
    EXPECT_LE(end, static_cast<int64_t>(len)) << line;
    last_end = end;
    for (int64_t p = beg; p < end && p < static_cast<int64_t>(len); ++p) v[static_cast<size_t>(p)] = std::stod(f[3]);
  }
  return v;
}

std::vector<double> read_bigwig(const std::string& path, const std::string& contig, uint32_t len) {
  std::vector<double> v;
  EXPECT_EQ(bwIsBigWig(path.c_str(), nullptr), 1) << path;
  bigWigFile_t* bw = bwOpen(path.c_str(), nullptr, "r");
  if (bw == nullptr) {
    ADD_FAILURE() << "libBigWig cannot open " << path;
    return v;
  }
  EXPECT_EQ(bw->cl->nKeys, 1u);
  bwOverlappingIntervals_t* o = bwGetValues(bw, contig.c_str(), 0, len, 1);
  if (o != nullptr) {
    for (uint32_t i = 0; i < o->l; ++i) v.push_back(o->value[i]);
    bwDestroyOverlappingIntervals(o);
  } else {
    ADD_FAILURE() << "no values for " << contig << " in " << path;
  }
  bwClose(bw);
  return v;
}

double compare_track(const std::vector<double>& got, const std::vector<double>& want, double tol, const std::string& what) {
  EXPECT_EQ(got.size(), want.size()) << what;
  double max_abs = 0;
  for (size_t i = 0; i < std::min(got.size(), want.size()); ++i) {
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(got[i])) << what << " pos0 " << i << ": expected no value, got " << got[i];
      continue;
    }
    EXPECT_NEAR(got[i], want[i], tol) << what << " pos0 " << i;
    if (!std::isnan(got[i])) max_abs = std::max(max_abs, std::fabs(got[i] - want[i]));
  }
  return max_abs;
}

TEST(Loglik, BedGraphTrackMatchesThePerBaseGoldenValues) {
  TrackCase c;
  double worst = 0;
  for (const bool both : {false, true}) {
    for (const char* name : {"t.bedGraph", "t.bg.gz"}) {
      test::TempDir out;
      LoglikOptions o = options({c.fasta}, (out / "ll.tsv").string());
      o.both_strands = both;
      o.track = (out / name).string();
      o.track_format = TrackFormat::kBedGraph;
      run_loglik(o);
      const std::vector<double> got = read_bedgraph(o.track, "len_129", 129);
      const std::string what = cat(name, both ? " both strands" : " forward");
      const double diff = compare_track(got, both ? c.mean : c.forward, 1e-5, what);
      if (std::getenv("STRAND_TEST_VERBOSE") != nullptr) std::cout << what << ": max abs difference " << diff << "\n";
      worst = std::max(worst, diff);
      // The track sums back to the TSV's log-likelihood (forward strand).
      if (!both) {
        double sum = 0;
        for (const double v : got)
          if (!std::isnan(v)) sum += v;
        const Table t = parse_tsv(test::read_file(o.output.path));
        EXPECT_NEAR(sum, -value(t.at("len_129").at("loglik")) / kLn2, 1e-3) << what;
      }
      if (std::string_view(name).ends_with(".gz")) {
        const std::string raw = test::read_file(o.track);
        ASSERT_GE(raw.size(), 2u);
        EXPECT_EQ(static_cast<unsigned char>(raw[0]), 0x1f);
        EXPECT_EQ(static_cast<unsigned char>(raw[1]), 0x8b);
      }
      std::vector<std::string> files = out.list();
      std::sort(files.begin(), files.end());
      std::vector<std::string> want = {"ll.tsv", name};
      std::sort(want.begin(), want.end());
      EXPECT_EQ(files, want) << what;
    }
  }
  std::cout << "[ track vs golden ] max absolute difference (bits) " << worst << "\n";
}

TEST(Loglik, BigWigTrackMatchesThePerBaseGoldenValues) {
  TrackCase c;
  double worst = 0;
  for (const bool both : {false, true}) {
    test::TempDir out;
    LoglikOptions o = options({c.fasta}, (out / "ll.tsv").string());
    o.both_strands = both;
    o.track = (out / "t.bw").string();
    o.track_format = TrackFormat::kBigWig;
    run_loglik(o);
    ASSERT_TRUE(fs::exists(o.track));
    EXPECT_GT(fs::file_size(o.track), 0u);
    const std::vector<double> bw = read_bigwig(o.track, "len_129", 129);
    worst = std::max(worst, compare_track(bw, both ? c.mean : c.forward, 1e-5, both ? "bigWig both" : "bigWig forward"));
    // The bedGraph of the same run holds the same floats.
    o.track = (out / "t.bedGraph").string();
    o.track_format = TrackFormat::kBedGraph;
    o.output.path = (out / "ll2.tsv").string();
    run_loglik(o);
    const std::vector<double> bg = read_bedgraph(o.track, "len_129", 129);
    ASSERT_EQ(bg.size(), bw.size());
    for (size_t i = 0; i < bg.size(); ++i) {
      if (std::isnan(bg[i]) || std::isnan(bw[i])) {
        EXPECT_EQ(std::isnan(bg[i]), std::isnan(bw[i])) << "pos0 " << i;
        continue;
      }
      EXPECT_EQ(static_cast<float>(bg[i]), static_cast<float>(bw[i])) << "pos0 " << i;
    }
  }
  std::cout << "[ bigWig vs golden ] max absolute difference (bits) " << worst << "\n";
}

// The scan state streams across pieces: the total does not depend on the piece size, bit for bit
// on the CPU, and equals one whole forward pass (Backbone::run + logits).
TEST(Loglik, PieceSizeDoesNotChangeTheResult) {
  const model::ModelWeights weights = model::load_model(kModel);
  auto cpu = kernels::make_cpu_backend();
  model::Backbone backbone(weights, *cpu);
  ASSERT_TRUE(backbone.streamable());
  genomics::IndexedFasta fa(kShort);
  std::string seq;
  fa.fetch(genomics::Region{"len_4097", 0, 4097}, seq);
  const std::vector<int32_t> ids = genomics::tokenize(seq);
  ASSERT_EQ(ids.size(), 4097u);

  std::vector<double> first_per_base;
  double first_total = NAN;
  for (const int64_t piece : {int64_t{0}, int64_t{1}, int64_t{7}, int64_t{1000}, int64_t{4096}, int64_t{4097},
                              int64_t{100000}}) {
    std::vector<double> per_base;
    std::vector<int64_t> positions;
    const double total = stream_loglik(backbone, ids, piece, [&](int64_t t, double lp) {
      positions.push_back(t);
      per_base.push_back(lp);
    });
    ASSERT_EQ(positions.size(), 4096u) << "piece " << piece;
    EXPECT_EQ(positions.front(), 1);
    EXPECT_EQ(positions.back(), 4096);
    if (std::isnan(first_total)) {
      first_total = total;
      first_per_base = per_base;
      continue;
    }
    EXPECT_EQ(total, first_total) << "piece " << piece;
    EXPECT_EQ(per_base, first_per_base) << "piece " << piece;
  }
  const double want = value(golden_loglik().at("len_4097").at("loglik"));
  EXPECT_NEAR(first_total, want, 1e-6 * std::fabs(want));

  // One whole forward pass over the record.
  const int64_t len = static_cast<int64_t>(ids.size()), width = backbone.hidden_width(), vocab = backbone.vocab_size();
  std::vector<float> hidden(static_cast<size_t>(len * width)), logits(static_cast<size_t>(len * vocab));
  backbone.run(ids, kernels::MatF(hidden.data(), len, width));
  backbone.logits(kernels::ConstMatF(hidden.data(), len, width), kernels::MatF(logits.data(), len, vocab));
  double whole = 0;
  for (int64_t t = 1; t < len; ++t)
    whole += log_softmax_at(std::span<const float>(logits.data() + (t - 1) * vocab, static_cast<size_t>(vocab)),
                            static_cast<size_t>(ids[static_cast<size_t>(t)]));
  EXPECT_EQ(whole, first_total);

  // Records of 0 and 1 bases score nothing.
  EXPECT_EQ(stream_loglik(backbone, std::span<const int32_t>(), 0), 0.0);
  EXPECT_EQ(stream_loglik(backbone, std::span<const int32_t>(ids.data(), 1), 0), 0.0);
  // Two bases: one term.
  int calls = 0;
  const double two = stream_loglik(backbone, std::span<const int32_t>(ids.data(), 2), 1, [&](int64_t t, double) {
    EXPECT_EQ(t, 1);
    ++calls;
  });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(two, first_per_base[0]);
}

TEST(Loglik, BidirectionalModelIsAnErrorNamingItAndLeavesNoOutput) {
  test::TempDir tmp;
  LoglikOptions o = options({kShort}, (tmp / "ll.tsv").string());
  o.model = (kGolden / "ps").string();
  o.track = (tmp / "t.bedGraph").string();
  o.track_format = TrackFormat::kBedGraph;
  test::expect_error([&] { run_loglik(o); }, {"bidirectional", o.model, "causal"});
  EXPECT_TRUE(tmp.list().empty());
}

TEST(Loglik, InputWithoutRecordsIsAnErrorAndLeavesNoOutput) {
  test::TempDir in, out;
  const std::string empty = (in / "empty.fa").string();
  test::write_file(empty, "");
  for (const bool track : {false, true}) {
    LoglikOptions o = options({empty}, (out / "ll.tsv").string());
    if (track) {
      o.track = (out / "t.bw").string();
      o.track_format = TrackFormat::kBigWig;
    }
    const std::string msg = test::error_message([&] { run_loglik(o); });
    EXPECT_FALSE(msg.empty()) << "an input without records must be an error";
    EXPECT_NE(msg.find("empty.fa"), std::string::npos) << msg;
    EXPECT_TRUE(out.list().empty());
  }
}

TEST(Loglik, BgzfOutputIsBgzipWithTheSameTable) {
  test::TempDir tmp;
  LoglikOptions plain = options({kShort}, (tmp / "ll.tsv").string());
  run_loglik(plain);
  LoglikOptions z = options({kShort}, (tmp / "ll.tsv.gz").string());
  z.output.type = OutputType::kBgzf;
  run_loglik(z);
  const std::string raw = test::read_file(z.output.path);
  ASSERT_GE(raw.size(), 28u + 18u);
  // gzip magic, FEXTRA set, and the BGZF "BC" subfield; the BGZF end-of-file block at the end.
  EXPECT_EQ(static_cast<unsigned char>(raw[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(raw[1]), 0x8b);
  EXPECT_EQ(static_cast<unsigned char>(raw[2]), 8);
  EXPECT_TRUE(static_cast<unsigned char>(raw[3]) & 4);
  EXPECT_EQ(raw.substr(12, 2), "BC");
  static const unsigned char kEof[28] = {0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff, 6, 0, 0x42, 0x43,
                                         2,    0,    0x1b, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(raw.substr(raw.size() - 28), std::string(reinterpret_cast<const char*>(kEof), 28));
  EXPECT_EQ(test::read_maybe_gzip(z.output.path), test::read_file(plain.output.path));
}

// Threads and several inputs do not change the table (input order kept).
TEST(Loglik, ThreadsDoNotChangeTheTable) {
  test::TempDir tmp;
  LoglikOptions one = options({kShort, kShort}, (tmp / "a.tsv").string());
  one.compute.threads = 1;
  one.both_strands = true;
  run_loglik(one);
  LoglikOptions two = one;
  two.compute.threads = 2;
  two.output.path = (tmp / "b.tsv").string();
  run_loglik(two);
  EXPECT_EQ(test::read_file(one.output.path), test::read_file(two.output.path));
}

// With -r/-R the records are regions ("contig:beg-end"): their track values sit on the contig at
// the region's coordinates (bedGraph and bigWig alike), so the track lines up with the reference.
TEST(Loglik, TrackOfARegionIsAtTheContigCoordinates) {
  for (const bool bigwig : {false, true}) {
    test::TempDir tmp;
    LoglikOptions o = options({kShort}, (tmp / "ll.tsv").string());
    o.regions = {genomics::Region{"len_4097", 100, 110}};
    o.track = (tmp / (bigwig ? "t.bw" : "t.bedGraph")).string();
    o.track_format = bigwig ? TrackFormat::kBigWig : TrackFormat::kBedGraph;
    run_loglik(o);
    // The TSV names the region; the first base of the region has no context, so 9 are scored.
    const Table t = parse_tsv(test::read_file(o.output.path));
    ASSERT_TRUE(t.count("len_4097:101-110"));
    EXPECT_EQ(t.at("len_4097:101-110").at("scored"), "9");
    std::vector<double> v;
    if (bigwig) {
      v = read_bigwig(o.track, "len_4097", 4097);
    } else {
      const std::string text = test::read_file(o.track);
      EXPECT_EQ(text.find("len_4097:"), std::string::npos) << text;
      v = read_bedgraph(o.track, "len_4097", 4097);
    }
    ASSERT_EQ(v.size(), 4097u);
    for (size_t i = 0; i < v.size(); ++i) EXPECT_EQ(!std::isnan(v[i]), i >= 101 && i < 110) << "pos0 " << i;
  }
}

}  // namespace
}  // namespace strand::pipelines
