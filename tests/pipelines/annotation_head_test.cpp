// The annotation head: strand symmetry by construction, its gradient, its file (round trip,
// backbone checksum, damaged files), per-base labels from features, and training on a small
// problem it must learn.
#include "pipelines/annotation_head.h"

#include <gtest/gtest.h>
#include <oneapi/tbb/global_control.h>

#include <cmath>
#include <random>

#include "genomics/tokenizer.h"
#include "kernels/backend.h"
#include "model/backbone.h"
#include "model/weights.h"
#include "pipelines/head_labels.h"
#include "pipelines/head_math.h"
#include "pipelines/head_training.h"
#include "pipelines/record_hidden.h"
#include "tests/test_support.h"

namespace strand::pipelines {
namespace {

using genomics::Feature;
using test::TempDir;
using test::fixture;
using test::write_file;
using genomics::Strand;

AnnotationHead random_head(int64_t d, int64_t hidden, uint64_t seed, std::vector<std::string> types = {"CDS", "tRNA"}) {
  AnnotationHead head(head_class_specs(types), d, hidden);
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> n(0.0f, 0.5f);
  for (float& v : head.params()) v = n(rng);
  for (float& v : head.norm_mean()) v = n(rng);
  for (float& v : head.norm_scale()) v = 1.0f + 0.1f * n(rng);
  return head;
}

std::vector<float> random_pairs(int64_t n, int64_t d, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n * 2 * d));
  for (float& v : x) v = dist(rng);
  return x;
}

// (a | b) → (b | a) per row: what reverse complement does to a base's feature pair.
std::vector<float> swap_halves(const std::vector<float>& pairs, int64_t d) {
  std::vector<float> out(pairs.size());
  for (size_t r = 0; r < pairs.size() / static_cast<size_t>(2 * d); ++r)
    for (int64_t i = 0; i < d; ++i) {
      out[r * 2 * d + i] = pairs[r * 2 * d + d + i];
      out[r * 2 * d + d + i] = pairs[r * 2 * d + i];
    }
  return out;
}

TEST(HeadClassSpecs, CdsGivesThreeCodonPositionsAndIntergenicComesFirst) {
  const auto specs = head_class_specs({"CDS", "rRNA"});
  ASSERT_EQ(specs.size(), 5u);
  EXPECT_EQ(specs[0].name, "intergenic");
  EXPECT_FALSE(specs[0].stranded);
  EXPECT_EQ(specs[2].name, "CDS_codon2");
  EXPECT_EQ(specs[2].codon_position, 1);
  EXPECT_EQ(specs[4].feature_type, "rRNA");
  EXPECT_THROW(head_class_specs({"CDS", "CDS"}), Error);
  const AnnotationHead head(specs, 4, 0);
  EXPECT_EQ(head.columns(), 9);
  EXPECT_EQ(head.column_names()[1], "CDS_codon1_plus");
  EXPECT_EQ(head.column_names()[2], "CDS_codon1_minus");
}

// The head's defining property: P(class on + | pair) = P(class on − | swapped pair), bit for bit.
TEST(AnnotationHead, StrandSymmetricByConstruction) {
  for (int64_t hidden : {0, 8}) {
    const int64_t d = 6, n = 50;
    const AnnotationHead head = random_head(d, hidden, 3 + static_cast<uint64_t>(hidden));
    const std::vector<float> x = random_pairs(n, d, 5);
    const std::vector<float> p = head.predict(x, n), q = head.predict(swap_halves(x, d), n);
    const int64_t c = head.columns();
    for (int64_t r = 0; r < n; ++r) {
      double sum = 0.0;
      for (size_t s = 0; s < head.specs().size(); ++s) {
        const int plus = head.column(s, false), minus = head.column(s, true);
        EXPECT_EQ(p[static_cast<size_t>(r * c + plus)], q[static_cast<size_t>(r * c + minus)]) << "hidden " << hidden;
        EXPECT_EQ(p[static_cast<size_t>(r * c + minus)], q[static_cast<size_t>(r * c + plus)]);
      }
      for (int64_t k = 0; k < c; ++k) sum += p[static_cast<size_t>(r * c + k)];
      EXPECT_NEAR(sum, 1.0, 1e-5);
    }
  }
}

TEST(AnnotationHead, GradientMatchesFiniteDifferences) {
  for (int64_t hidden : {0, 5}) {
    const int64_t d = 3, n = 7;
    AnnotationHead head = random_head(d, hidden, 11);
    const std::vector<float> x = random_pairs(n, d, 12);
    std::vector<int8_t> y(static_cast<size_t>(n));
    for (int64_t r = 0; r < n; ++r) y[static_cast<size_t>(r)] = static_cast<int8_t>(r % head.columns());
    y[3] = kIgnoreLabel;
    const auto loss = [&] {
      HeadActivations act;
      head_forward(head, x.data(), n, act);
      double l = 0.0;
      for (int64_t r = 0; r < n; ++r)
        if (y[static_cast<size_t>(r)] >= 0) l -= std::log(static_cast<double>(act.probs[static_cast<size_t>(r * head.columns() + y[static_cast<size_t>(r)])]));
      return l;
    };
    HeadActivations act;
    head_forward(head, x.data(), n, act);
    std::vector<float> grad(head.params().size(), 0.0f);
    EXPECT_NEAR(head_backward(head, act, y.data(), grad), loss(), 1e-4);
    for (size_t i = 0; i < head.params().size(); i += 3) {
      const float keep = head.params()[i], h = 1e-2f;
      head.params()[i] = keep + h;
      const double up = loss();
      head.params()[i] = keep - h;
      const double down = loss();
      head.params()[i] = keep;
      EXPECT_NEAR(grad[i], (up - down) / (2.0 * h), 2e-2 * std::max(1.0, std::abs(static_cast<double>(grad[i]))))
          << "parameter " << i << ", hidden " << hidden;
    }
  }
}

TEST(AnnotationHead, FileRoundTripAndBackboneCheck) {
  TempDir dir;
  AnnotationHead head = random_head(4, 3, 21);
  head.metadata()["backbone_sha256"] = "abc123";
  head.save((dir / "h.safetensors").string());
  const AnnotationHead back = AnnotationHead::load((dir / "h.safetensors").string(), "abc123");
  EXPECT_EQ(back.specs(), head.specs());
  EXPECT_EQ(back.params(), head.params());
  EXPECT_EQ(back.norm_scale(), head.norm_scale());
  EXPECT_EQ(back.hidden_units(), 3);
  try {
    AnnotationHead::load((dir / "h.safetensors").string(), "fff");
    FAIL() << "a head must refuse another backbone";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("another backbone"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("abc123"), std::string::npos);
  }
  // Class lists annotate cannot use are refused when the file is read, naming it.
  AnnotationHead twice({{"intergenic", "", false, -1}, {"x", "x", true, -1}, {"x", "y", true, -1}}, 4, 0);
  twice.save((dir / "twice.safetensors").string());
  test::expect_error([&] { AnnotationHead::load((dir / "twice.safetensors").string(), ""); }, {"twice.safetensors", "'x'"});
  AnnotationHead no_codon({{"intergenic", "", false, -1}, {"CDS", "CDS", true, -1}}, 4, 0);
  no_codon.save((dir / "nc.safetensors").string());
  test::expect_error([&] { AnnotationHead::load((dir / "nc.safetensors").string(), ""); }, {"nc.safetensors", "CDS"});
  write_file(dir / "bad.safetensors", "not a safetensors file");
  EXPECT_THROW(AnnotationHead::load((dir / "bad.safetensors").string(), ""), Error);
}

TEST(HeadLabels, CodonPositionsStrandsConflictsAndPseudogenes) {
  const AnnotationHead head(head_class_specs({"CDS"}), 2, 0);
  Feature plus;
  plus.type = "CDS", plus.strand = Strand::kForward, plus.phase = 0, plus.parts = {{2, 11}};
  Feature minus;
  minus.type = "CDS", minus.strand = Strand::kReverse, minus.phase = 1, minus.parts = {{20, 27}};
  Feature overlap;  // overlaps `plus` at 9-10 on the other strand: those bases are unclear
  overlap.type = "CDS", overlap.strand = Strand::kReverse, overlap.phase = 0, overlap.parts = {{9, 15}};
  Feature pseudo;
  pseudo.type = "CDS", pseudo.strand = Strand::kForward, pseudo.parts = {{30, 33}}, pseudo.attributes = {{"pseudo", ""}};
  Feature gene;  // a type the head does not predict: ignored
  gene.type = "gene", gene.strand = Strand::kForward, gene.parts = {{0, 40}};
  LabelStats stats;
  const auto labels = base_labels({&plus, &minus, &overlap, &pseudo, &gene}, 40, head, stats);
  const int c1p = head.column(1, false), c2p = head.column(2, false), c3p = head.column(3, false);
  EXPECT_EQ(labels[0], head.column(0, false));
  EXPECT_EQ(labels[2], c1p);
  EXPECT_EQ(labels[3], c2p);
  EXPECT_EQ(labels[4], c3p);
  EXPECT_EQ(labels[5], c1p);
  EXPECT_EQ(labels[9], kIgnoreLabel);
  // `overlap` alone from 11: − strand read from its right end (14: codon position 1).
  EXPECT_EQ(labels[14], head.column(1, true));
  EXPECT_EQ(labels[12], head.column(3, true));
  // − strand, phase 1: the first base in transcription order (26) finishes a codon (position 3).
  EXPECT_EQ(labels[26], head.column(3, true));
  EXPECT_EQ(labels[25], head.column(1, true));
  EXPECT_EQ(labels[24], head.column(2, true));
  EXPECT_EQ(labels[31], kIgnoreLabel);
  EXPECT_EQ(stats.pseudo_features, 1);
  EXPECT_EQ(stats.features_used, 3);
  EXPECT_EQ(stats.ignored_bases, 2 + 3);
}

// A problem with a linear answer in one half of the pair: the head must learn it, and training
// must not depend on the thread count (fixed gradient blocks).
TEST(HeadTraining, LearnsASeparableProblemReproducibly) {
  const int64_t d = 4, n = 3000;
  AnnotationHead head(head_class_specs({"CDS"}), d, 0);
  HeadSample train{2 * d, {}, {}};
  std::mt19937_64 rng(7);
  std::normal_distribution<float> noise(0.0f, 0.3f);
  std::uniform_int_distribution<int> pick(0, static_cast<int>(head.columns()) - 1);
  for (int64_t r = 0; r < n; ++r) {
    const int y = pick(rng);
    std::vector<float> row(static_cast<size_t>(2 * d));
    for (float& v : row) v = noise(rng);
    // Class k on +: a[k mod d] high; on −: b[k mod d] high (what the swap implies).
    const size_t spec = y == 0 ? 0 : static_cast<size_t>((y - 1) / 2 + 1);
    const bool minus = y != 0 && (y - 1) % 2 == 1;
    if (y != 0) row[static_cast<size_t>((minus ? d : 0) + static_cast<int64_t>(spec) - 1)] += 3.0f;
    train.append(row.data(), static_cast<int8_t>(y));
  }
  fit_normalisation(head, train);
  HeadTrainOptions o;
  o.epochs = 20;
  o.learning_rate = 0.05;
  train_head(head, train, {}, o);
  const HeadMetrics m = evaluate_head(head, train);
  EXPECT_GT(static_cast<double>(m.correct) / static_cast<double>(m.rows), 0.95);
  AnnotationHead again(head_class_specs({"CDS"}), d, 0);
  fit_normalisation(again, train);
  {
    tbb::global_control one(tbb::global_control::max_allowed_parallelism, 1);
    train_head(again, train, {}, o);
  }
  EXPECT_EQ(again.params(), head.params());
}

// Feature pairs of a real RC-equivariant model swap under reverse complement, so the head's
// strand symmetry carries over to DNA.
TEST(HeadFeaturePairs, SwapUnderReverseComplementOnAGoldenPsModel) {
  const auto folder = fixture("golden/ps");
  const model::ModelWeights w = model::load_model(folder.string());
  auto backend = kernels::make_cpu_backend();
  model::Backbone backbone(w, *backend);
  ASSERT_EQ(head_feature_mode(backbone), HeadFeatureMode::kPsHalves);
  const std::string seq = "ACGTTGCAAGGCTTACCGATNACGGTACCATGAAACCCGGGTTTAGCTAGCAT";
  const auto ids = genomics::tokenize(seq);
  const auto rc = genomics::reverse_complement_tokens(ids);
  const int64_t d = head_feature_width(backbone), len = static_cast<int64_t>(ids.size());
  const std::vector<float> p = head_feature_pairs(backbone, ids, {}), q = head_feature_pairs(backbone, rc, {});
  double worst = 0.0;
  for (int64_t i = 0; i < len; ++i)
    for (int64_t k = 0; k < d; ++k) {
      const float a = p[static_cast<size_t>(i * 2 * d + k)], b = p[static_cast<size_t>(i * 2 * d + d + k)];
      const float a_rc = q[static_cast<size_t>((len - 1 - i) * 2 * d + k)], b_rc = q[static_cast<size_t>((len - 1 - i) * 2 * d + d + k)];
      worst = std::max({worst, static_cast<double>(std::abs(a - b_rc)), static_cast<double>(std::abs(b - a_rc))});
    }
  EXPECT_LT(worst, 1e-4);
}

// Hidden states in pieces are the record's rows (whole record and --window tiles), and the
// head's probabilities computed a piece at a time are bit for bit those of the whole record.
TEST(HeadProbabilities, PiecesGiveTheWholeRecordsValues) {
  const model::ModelWeights w = model::load_model(fixture("golden/ps").string());
  auto backend = kernels::make_cpu_backend();
  model::Backbone backbone(w, *backend);
  std::mt19937 rng(5);
  std::string seq(70000, 'A');  // over one piece of head_probabilities (65,536 rows)
  for (char& c : seq) c = "ACGT"[rng() % 4];
  const auto ids = genomics::tokenize(seq);
  const int64_t len = static_cast<int64_t>(ids.size()), width = backbone.hidden_width();
  TilingOptions tiles;
  tiles.window = 20000;
  tiles.overlap = 4000;
  for (const TilingOptions& tiling : {TilingOptions(), tiles}) {
    const std::vector<float> whole = record_hidden_states(backbone, ids, tiling, {});
    std::vector<float> joined;
    int64_t next_row = 0;
    record_hidden_pieces(backbone, ids, tiling, {}, 7000, [&](int64_t row0, kernels::ConstMatF rows) {
      EXPECT_EQ(row0, next_row);
      EXPECT_LE(rows.rows, tiling.enabled() ? tiling.window : 7000);
      for (int64_t i = 0; i < rows.rows; ++i) joined.insert(joined.end(), rows.row(i), rows.row(i) + width);
      next_row = row0 + rows.rows;
    });
    EXPECT_EQ(next_row, len) << "window " << tiling.window;
    EXPECT_EQ(joined, whole) << "window " << tiling.window;
  }
  // Tiles of 20,000 every 16,000 bases keep their centres (2,000 dropped at inner edges); the
  // last one, pulled back to [50,000, 70,000), owns rows from 64,000. Every row against the
  // tile that owns it, run on its own.
  const std::vector<float> tiled = record_hidden_states(backbone, ids, tiles, {});
  const struct {
    int64_t start, from, to;
  } owners[] = {
      {0, 0, 18000}, {16000, 18000, 34000}, {32000, 34000, 50000}, {48000, 50000, 64000}, {50000, 64000, 70000}};
  for (const auto& t : owners) {
    std::vector<float> h(static_cast<size_t>(20000 * width));
    backbone.run(std::span<const int32_t>(ids.data() + t.start, 20000), kernels::MatF(h.data(), 20000, width), {});
    EXPECT_EQ(std::vector<float>(tiled.begin() + t.from * width, tiled.begin() + t.to * width),
              std::vector<float>(h.begin() + (t.from - t.start) * width, h.begin() + (t.to - t.start) * width))
        << "rows " << t.from << "-" << t.to;
  }
  // Feature pairs come in pieces of kHeadPieceRows from row 0 whatever the hidden states' pieces
  // (tiles), and the head's probabilities a piece at a time are those of the whole record.
  const AnnotationHead head = random_head(head_feature_width(backbone), 8, 3);
  for (const TilingOptions& tiling : {TilingOptions(), tiles}) {
    std::vector<int64_t> starts;
    head_feature_pieces(backbone, ids, tiling, [&](int64_t row0, int64_t rows, const float*) {
      starts.push_back(row0);
      EXPECT_EQ(rows, std::min(kHeadPieceRows, len - row0));
    });
    EXPECT_EQ(starts, (std::vector<int64_t>{0, kHeadPieceRows})) << "window " << tiling.window;
    const std::vector<float> want = head.predict(head_feature_pairs(backbone, ids, tiling), len);
    EXPECT_EQ(head_probabilities(head, backbone, ids, tiling), want) << "window " << tiling.window;
  }
}

}  // namespace
}  // namespace strand::pipelines
