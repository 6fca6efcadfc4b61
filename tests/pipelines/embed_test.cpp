// strand embed end to end: the output equals the reference backbone's last_hidden_state
// (golden outputs of the independent PyTorch implementation), pooling, RC averaging,
// windowed mode, .npy output, read inputs, and failure without a half-written output.
#include "pipelines/embed.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include <nlohmann/json.hpp>

#include "genomics/fastx_reader.h"
#include "model/safetensors.h"
#include "tests/test_support.h"

namespace strand::pipelines {
namespace {

namespace fs = std::filesystem;

std::vector<float> tensor(const model::SafetensorsFile& f, const std::string& name) {
  const model::StTensorInfo* t = f.find(name);
  if (t == nullptr) ADD_FAILURE() << "no tensor " << name << " in " << f.path();
  if (t == nullptr) return {};
  std::vector<float> v(static_cast<size_t>(t->numel()));
  f.read_f32(*t, v);
  return v;
}

using test::relative_error;

EmbedOptions options(const std::string& model, const std::string& input, const std::string& out) {
  EmbedOptions o;
  o.model = (test::source_dir() / "data" / model).string();
  o.inputs = {input};
  o.output.path = out;
  o.format = out.ends_with(".npy") ? EmbeddingFormat::kNpy : EmbeddingFormat::kSafetensors;
  o.pool = Pooling::kNone;
  o.compute.threads = 2;
  return o;
}

const std::string kShort = (test::source_dir() / "data/golden/inputs/short.fa").string();

TEST(Embed, PoolNoneRcNoneIsTheReferenceLastHiddenState) {
  for (const char* model : {"ph", "ps", "mamba"}) {
    test::TempDir tmp;
    const std::string out = (tmp / "e.safetensors").string();
    run_embed(options(std::string("golden/") + model, kShort, out));
    const model::SafetensorsFile mine(out);
    const model::SafetensorsFile gold((test::source_dir() / "data/golden" / model / "outputs.safetensors").string());
    for (const char* rec : {"len_1", "len_7", "len_129", "len_4097"}) {
      if (gold.find(std::string("hidden.") + rec) == nullptr) continue;
      EXPECT_LE(relative_error(tensor(mine, rec), tensor(gold, std::string("hidden.") + rec)), 1e-5) << model << " " << rec;
    }
    EXPECT_EQ(mine.metadata().at("pool"), "none");
    EXPECT_EQ(mine.metadata().at("model_sha256").size(), 64u);
    EXPECT_EQ(tmp.list(), std::vector<std::string>{"e.safetensors"});
  }
}

TEST(Embed, PoolMeanGivesOneRowPerRecordNamedInTheMetadata) {
  test::TempDir tmp;
  const std::string out = (tmp / "m.safetensors").string(), full = (tmp / "f.safetensors").string();
  EmbedOptions o = options("golden/ph", kShort, out);
  o.pool = Pooling::kMean;
  run_embed(o);
  run_embed(options("golden/ph", kShort, full));
  const model::SafetensorsFile mean(out), whole(full);
  const auto names = nlohmann::json::parse(mean.metadata().at("names")).get<std::vector<std::string>>();
  ASSERT_EQ(names.size(), 6u);
  EXPECT_EQ(names[0], "len_1");
  const std::vector<float> rows = tensor(mean, "embeddings");
  const int64_t width = 16;
  ASSERT_EQ(rows.size(), names.size() * width);
  for (size_t r = 0; r < names.size(); ++r) {
    const std::vector<float> h = tensor(whole, names[r]);
    const size_t len = h.size() / width;
    for (int64_t c = 0; c < width; ++c) {
      double sum = 0;
      for (size_t i = 0; i < len; ++i) sum += h[i * width + static_cast<size_t>(c)];
      EXPECT_NEAR(rows[r * width + static_cast<size_t>(c)], sum / static_cast<double>(len), 1e-6) << names[r];
    }
  }
}

// A FASTA with a sequence and its reverse complement.
std::string write_pair(const test::TempDir& tmp) {
  genomics::FastxReader reader(kShort);
  genomics::SeqRecord rec;
  while (reader.next(rec) && rec.name != "len_129") {}
  const std::string path = (tmp / "pair.fa").string();
  std::string rc(rec.seq.rbegin(), rec.seq.rend());
  for (char& c : rc) c = c == 'A' ? 'T' : c == 'T' ? 'A' : c == 'C' ? 'G' : c == 'G' ? 'C' : c == 'a' ? 't' : c == 't' ? 'a' : c == 'c' ? 'g' : c == 'g' ? 'c' : c;
  test::write_file(path, ">fwd\n" + rec.seq + "\n>rev\n" + rc + "\n");
  return path;
}

TEST(Embed, RcAverageIsStrandSymmetric) {
  for (const char* model : {"golden/ph", "golden/ps"}) {
    test::TempDir tmp;
    const std::string out = (tmp / "rc.safetensors").string();
    EmbedOptions o = options(model, write_pair(tmp), out);
    o.rc = RcMode::kAverage;
    run_embed(o);
    const model::SafetensorsFile f(out);
    const std::vector<float> fwd = tensor(f, "fwd"), rev = tensor(f, "rev");
    const int64_t width = static_cast<int64_t>(f.find("fwd")->shape[1]);
    EXPECT_EQ(width, model == std::string("golden/ps") ? 8 : 16);
    const size_t len = fwd.size() / static_cast<size_t>(width);
    // Position i of the forward strand is position len-1-i of the reverse complement.
    std::vector<float> mirrored(rev.size());
    for (size_t i = 0; i < len; ++i)
      for (int64_t c = 0; c < width; ++c)
        mirrored[i * width + static_cast<size_t>(c)] = rev[(len - 1 - i) * width + static_cast<size_t>(c)];
    // (For PS, h(rc x) = flip_lc(h(x)) makes (h1 + reverse(h2)) / 2 mirror exactly as well.)
    EXPECT_LE(relative_error(fwd, mirrored), 1e-5) << model;
  }
}

TEST(Embed, WindowCoveringTheRecordEqualsExactAndTilesKeepShape) {
  test::TempDir tmp;
  const std::string exact = (tmp / "x.safetensors").string(), win = (tmp / "w.safetensors").string(),
                    big = (tmp / "b.safetensors").string();
  run_embed(options("golden/ph", kShort, exact));
  EmbedOptions o = options("golden/ph", kShort, big);
  o.tiling.window = 5000;
  run_embed(o);
  o.output.path = win;
  o.tiling.window = 1000;
  o.tiling.overlap = 200;
  run_embed(o);
  const model::SafetensorsFile fe(exact), fb(big), fw(win);
  EXPECT_EQ(tensor(fe, "len_4097"), tensor(fb, "len_4097"));  // window >= record: exact
  EXPECT_EQ(fw.find("len_4097")->shape, (std::vector<int64_t>{4097, 16}));
  const double err = relative_error(tensor(fw, "len_4097"), tensor(fe, "len_4097"));
  EXPECT_GT(err, 0.0);   // tiles do not see the whole record...
  EXPECT_LT(err, 0.5);   // ...but their centres stay close to it
  EXPECT_EQ(fw.metadata().at("mode"), "windowed (window 1000, overlap 200)");
}

TEST(Embed, NpyOutputAndReadInputs) {
  test::TempDir tmp;
  const std::string out = (tmp / "reads.npy").string();
  EmbedOptions o = options("golden/ps", test::fixture("reads/klebs_pKPHS2.bam").string(), out);
  o.pool = Pooling::kMean;
  o.format = EmbeddingFormat::kNpy;
  run_embed(o);
  const std::string npy = test::read_file(out);
  ASSERT_GT(npy.size(), 64u);
  EXPECT_EQ(npy.substr(1, 5), "NUMPY");
  EXPECT_NE(npy.find("'shape': (11, 16)"), std::string::npos) << npy.substr(0, 128);  // 11 primary reads
  const size_t header = 10 + static_cast<unsigned char>(npy[8]) + 256 * static_cast<unsigned char>(npy[9]);
  EXPECT_EQ(header % 64, 0u);
  EXPECT_EQ(npy.size(), header + 11 * 16 * sizeof(float));
}

TEST(Embed, OutputIsBitwiseIndependentOfThreads) {
  test::TempDir tmp;
  const std::string one = (tmp / "t1.safetensors").string(), many = (tmp / "t4.safetensors").string();
  EmbedOptions o = options("golden/ps", kShort, one);
  o.compute.threads = 1;
  run_embed(o);
  o.output.path = many;
  o.compute.threads = 4;
  run_embed(o);
  const model::SafetensorsFile a(one), b(many);
  ASSERT_EQ(a.tensors().size(), b.tensors().size());
  for (const auto& t : a.tensors()) EXPECT_EQ(tensor(a, t.name), tensor(b, t.name)) << t.name;
}

TEST(Embed, FailureLeavesNoOutput) {
  test::TempDir tmp;
  const std::string out = (tmp / "e.safetensors").string();
  test::expect_error([&] { run_embed(options("golden/ph", (tmp / "missing.fa").string(), out)); }, {"missing.fa"});
  test::expect_error([&] { run_embed(options("golden/nope", kShort, out)); }, {"nope"});
  EmbedOptions o = options("golden/ph", kShort, out);
  o.layer = 99;
  test::expect_error([&] { run_embed(o); }, {"--layer 99", "3 blocks"});
  EXPECT_TRUE(tmp.list().empty());
}

}  // namespace
}  // namespace strand::pipelines
