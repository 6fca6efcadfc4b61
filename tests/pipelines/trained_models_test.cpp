// The training code (model/training/, PyTorch) and strand agree on exported weights: tiny models
// trained by model/training/make_export_golden.py, exported by model/training/export.py, with
// outputs computed by the training modules (data/golden/training/). And the shipped default
// models (data/models/) load and run, and score real DNA better than chance.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "model/safetensors.h"
#include "pipelines/embed.h"
#include "pipelines/loglik.h"
#include "tests/test_support.h"

namespace strand::pipelines {
namespace {

namespace fs = std::filesystem;

const fs::path kGolden = test::source_dir() / "data" / "golden" / "training";
const std::string kInputs = (kGolden / "inputs.fa").string();

std::vector<std::vector<std::string>> read_tsv(const fs::path& path) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(test::read_file(path));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::vector<std::string> f;
    std::istringstream fields(line);
    std::string x;
    while (std::getline(fields, x, '\t')) f.push_back(x);
    rows.push_back(f);
  }
  return rows;
}

// Record name -> (scored bases, log-likelihood) from a loglik table (header line first).
std::map<std::string, std::pair<int64_t, double>> loglik_table(const fs::path& path) {
  std::map<std::string, std::pair<int64_t, double>> t;
  const auto rows = read_tsv(path);
  for (size_t i = 1; i < rows.size(); ++i) t[rows[i].at(0)] = {std::stoll(rows[i].at(2)), std::stod(rows[i].at(3))};
  return t;
}

EmbedOptions embed_options(const fs::path& model, Pooling pool, const test::TempDir& tmp) {
  EmbedOptions o;
  o.model = model.string();
  o.inputs = {kInputs};
  o.output.path = (tmp / "e.safetensors").string();
  o.format = EmbeddingFormat::kSafetensors;
  o.pool = pool;
  o.compute.threads = 2;
  return o;
}

fs::path run_loglik_on(const std::string& model, const std::string& input, const test::TempDir& tmp) {
  LoglikOptions o;
  o.model = model;
  o.inputs = {input};
  o.output.path = (tmp / "ll.tsv").string();
  o.compute.threads = 2;
  run_loglik(o);
  return tmp / "ll.tsv";
}

TEST(TrainedExport, CausalLoglikEqualsTheTrainingCode) {
  test::TempDir tmp;
  const auto want = loglik_table(kGolden / "causal" / "loglik.tsv");
  const auto got = loglik_table(run_loglik_on((kGolden / "causal").string(), kInputs, tmp));
  ASSERT_EQ(want.size(), 3u);
  ASSERT_EQ(got.size(), want.size());
  for (const auto& [name, w] : want) {
    ASSERT_TRUE(got.count(name)) << name;
    EXPECT_EQ(got.at(name).first, w.first) << name;
    EXPECT_NEAR(got.at(name).second, w.second, 1e-5 * std::fabs(w.second)) << name;
  }
}

TEST(TrainedExport, PsHiddenStatesEqualTheTrainingCode) {
  test::TempDir tmp;
  const EmbedOptions o = embed_options(kGolden / "ps", Pooling::kNone, tmp);
  run_embed(o);
  const model::SafetensorsFile f(o.output.path);
  const model::StTensorInfo* t = f.find("lambda_1_2000");
  ASSERT_NE(t, nullptr);
  std::vector<float> hidden(static_cast<size_t>(t->numel()));
  f.read_f32(*t, hidden);
  const auto rows = read_tsv(kGolden / "ps" / "hidden.tsv");
  const size_t width = rows.at(0).size() - 1;
  ASSERT_EQ(hidden.size(), 2000 * width);
  double num = 0, den = 0;
  for (size_t i = 1; i < rows.size(); ++i) {
    const size_t pos0 = std::stoul(rows[i].at(0));
    for (size_t c = 0; c < width; ++c) {
      const double want = std::stod(rows[i].at(c + 1)), got = hidden.at(pos0 * width + c);
      num += (got - want) * (got - want);
      den += want * want;
    }
  }
  EXPECT_GT(rows.size(), 5u);
  EXPECT_LE(std::sqrt(num / den), 1e-5);
}

// The shipped causal model on real bacterial DNA (the prodigal test genome and lambda slices of
// inputs.fa; training held out only the genomes' tails): clearly below the 2 bits per base of a
// model that knows nothing.
TEST(ShippedModels, BacterialCausalModelBeatsChanceOnBacterialDna) {
  const fs::path dir = test::source_dir() / "data" / "models" / "bacteria-causal";
  if (!fs::exists(dir / "model.safetensors")) GTEST_SKIP() << "no shipped bacteria-causal model";
  test::TempDir tmp;
  const auto got = loglik_table(run_loglik_on(dir.string(), kInputs, tmp));
  for (const char* name : {"lambda_1_2000", "prodigal_1_2000"}) {  // the third record is edited
    ASSERT_TRUE(got.count(name)) << name;
    const double bits = -got.at(name).second / got.at(name).first / std::log(2.0);
    EXPECT_LT(bits, 1.95) << name;
  }
}

TEST(ShippedModels, MaskedModelsEmbedRealDna) {
  for (const char* name : {"bacteria-ps", "human-ps"}) {
    const fs::path dir = test::source_dir() / "data" / "models" / name;
    if (!fs::exists(dir / "model.safetensors")) continue;
    test::TempDir tmp;
    const EmbedOptions o = embed_options(dir, Pooling::kMean, tmp);
    run_embed(o);
    EXPECT_TRUE(fs::exists(o.output.path)) << name;
  }
}

}  // namespace
}  // namespace strand::pipelines
