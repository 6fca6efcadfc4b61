// The forward pass against the independent PyTorch implementation's golden outputs
// (tests/golden/make_golden.py → data/golden/): fp32 hidden states within 1e-5 relative
// (‖Δ‖/‖ref‖ per record) for every model variant and input length, on the reference and the CPU
// backends; results independent of the tile size; PS reverse-complement equivariance.
#include "model/backbone.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/text.h"
#include "genomics/fastx_reader.h"
#include "genomics/nucleotide.h"
#include "genomics/tokenizer.h"
#include "kernels/backend.h"
#include "model/safetensors.h"
#include "model/weights.h"
#include "tests/test_support.h"

namespace strand::model {
namespace {

namespace fs = std::filesystem;
constexpr double kTolerance = 1e-5;

std::map<std::string, std::string> read_inputs() {
  std::map<std::string, std::string> inputs;
  const fs::path dir = test::source_dir() / "data" / "golden" / "inputs";
  if (!fs::is_directory(dir)) return inputs;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.find(".fa") == std::string::npos || name.ends_with(".fai") || name.ends_with(".gzi")) continue;
    genomics::FastxReader reader(entry.path().string());
    genomics::SeqRecord rec;
    while (reader.next(rec)) inputs[rec.name] = rec.seq;
  }
  return inputs;
}

std::vector<float> read_tensor(const SafetensorsFile& file, const std::string& name) {
  const StTensorInfo* t = file.find(name);
  if (t == nullptr) return {};
  std::vector<float> values(static_cast<size_t>(t->numel()));
  file.read_f32(*t, values);
  return values;
}

// ‖got - want‖ / ‖want‖ of [*, width] matrices; `rows` (when given) picks the rows of `got`
// that `want` holds, in order (the sampled rows of long records).
double relative_error(const std::vector<float>& got, const std::vector<float>& want, int64_t width,
                      const std::vector<int64_t>& rows) {
  if (rows.empty()) return test::relative_error(got, want);
  std::vector<float> picked;
  for (int64_t r : rows) picked.insert(picked.end(), got.begin() + r * width, got.begin() + (r + 1) * width);
  return test::relative_error(picked, want);
}

// Results that must not depend on how the work was cut (tiles, batches): equal bit for bit.
void expect_bitwise_equal(const std::vector<float>& got, const std::vector<float>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  size_t differ = 0;
  for (size_t i = 0; i < want.size(); ++i) differ += got[i] != want[i];
  EXPECT_EQ(differ, 0u) << what << ": " << differ << " of " << want.size() << " values differ, relative error "
                        << test::relative_error(got, want);
}

class GoldenForward : public testing::TestWithParam<std::string> {};

TEST_P(GoldenForward, HiddenStatesAndLogitsMatchPyTorch) {
  if (GetParam() == "(none)") FAIL() << "no golden models in data/golden (tests/golden/make_golden.py makes them)";
  const fs::path dir = test::source_dir() / "data" / "golden" / GetParam();
  const ModelWeights weights = load_model(dir.string());
  const SafetensorsFile outputs((dir / "outputs.safetensors").string());
  const auto inputs = read_inputs();
  ASSERT_FALSE(inputs.empty());
  auto reference = kernels::make_reference_backend();
  auto cpu = kernels::make_cpu_backend();
  int checked = 0;
  for (const auto& [name, seq] : inputs) {
    const std::vector<float> want = read_tensor(outputs, "hidden." + name);
    if (want.empty()) continue;
    const std::vector<int32_t> ids = genomics::tokenize(seq);
    const int64_t len = static_cast<int64_t>(ids.size());
    std::vector<int64_t> rows;  // sampled rows of long records (I64 indices)
    if (const StTensorInfo* t = outputs.find("hidden_rows." + name)) {
      ASSERT_EQ(t->dtype, StDType::kI64);
      rows.resize(static_cast<size_t>(t->numel()));
      std::memcpy(rows.data(), outputs.bytes(*t).data(), rows.size() * sizeof(int64_t));
    }
    for (kernels::Backend* backend : {reference.get(), cpu.get()}) {
      if (backend == reference.get() && len > 5000) continue;  // the scalar backend is slow
      Backbone model(weights, *backend);
      const int64_t width = model.hidden_width();
      std::vector<float> hidden(static_cast<size_t>(len * width));
      model.run(ids, kernels::MatF(hidden.data(), len, width));
      const double err = relative_error(hidden, want, width, rows);
      EXPECT_LE(err, kTolerance) << GetParam() << " " << name << " on " << backend->name();
      const std::vector<float> want_logits = read_tensor(outputs, "logits." + name);
      if (!want_logits.empty()) {
        std::vector<float> logits(static_cast<size_t>(len * model.vocab_size()));
        model.logits(kernels::ConstMatF(hidden.data(), len, width),
                     kernels::MatF(logits.data(), len, model.vocab_size()));
        EXPECT_LE(relative_error(logits, want_logits, model.vocab_size(), rows), kTolerance)
            << GetParam() << " logits " << name << " on " << backend->name();
      }
      ++checked;
    }
  }
  EXPECT_GT(checked, 0) << "no golden hidden states found for " << GetParam();
}

TEST_P(GoldenForward, TileSizeDoesNotChangeTheResult) {
  if (GetParam() == "(none)") FAIL() << "no golden models in data/golden (tests/golden/make_golden.py makes them)";
  const ModelWeights weights = load_model((test::source_dir() / "data" / "golden" / GetParam()).string());
  const std::string seq = read_inputs()["len_4097"];
  if (seq.empty()) GTEST_SKIP() << "no len_4097 input";
  const std::vector<int32_t> ids = genomics::tokenize(seq);
  const int64_t len = static_cast<int64_t>(ids.size());
  auto cpu = kernels::make_cpu_backend();
  Backbone model(weights, *cpu);
  const int64_t width = model.hidden_width();
  std::vector<float> whole(static_cast<size_t>(len * width)), tiled(whole.size());
  model.run(ids, kernels::MatF(whole.data(), len, width), {.tile_rows = len});
  for (int64_t tile : {1, 7, 128, 1000}) {
    model.run(ids, kernels::MatF(tiled.data(), len, width), {.tile_rows = tile});
    expect_bitwise_equal(tiled, whole, cat(GetParam(), " tile ", tile));
  }
}

// run_batch: windows cut from a real record, batched in groups of any size, give each window's
// run() result bit for bit (scoring's output must not depend on --batch).
TEST_P(GoldenForward, BatchedWindowsEqualSeparateRuns) {
  if (GetParam() == "(none)") FAIL() << "no golden models in data/golden (tests/golden/make_golden.py makes them)";
  const ModelWeights weights = load_model((test::source_dir() / "data" / "golden" / GetParam()).string());
  const std::string seq = read_inputs()["len_4097"];
  if (seq.empty()) GTEST_SKIP() << "no len_4097 input";
  constexpr int64_t kWindow = 97, kWindows = 5;
  const std::vector<int32_t> ids = genomics::tokenize(std::string_view(seq).substr(1000, kWindow * kWindows));
  auto cpu = kernels::make_cpu_backend();
  Backbone model(weights, *cpu);
  const int64_t width = model.hidden_width(), rows = kWindow * kWindows;
  std::vector<float> separate(static_cast<size_t>(rows * width)), batched(separate.size());
  for (int64_t w = 0; w < kWindows; ++w)
    model.run(std::span<const int32_t>(ids).subspan(static_cast<size_t>(w * kWindow), kWindow),
              kernels::MatF(separate.data() + w * kWindow * width, kWindow, width));
  for (int64_t tile : {int64_t{0}, int64_t{1}, 2 * kWindow, 3 * kWindow + 5, rows}) {
    std::fill(batched.begin(), batched.end(), 0.0f);
    model.run_batch(ids, kWindow, kernels::MatF(batched.data(), rows, width), {.tile_rows = tile});
    expect_bitwise_equal(batched, separate, cat(GetParam(), " batched, tile ", tile));
    // Only some rows kept (any order, across groups, a row twice): exactly those rows.
    const std::vector<int32_t> keep = {3 * kWindow + 48, 0, static_cast<int32_t>(rows - 1), kWindow + 96, 0};
    std::vector<float> kept(keep.size() * static_cast<size_t>(width), 0.0f), expected;
    model.run_batch(ids, kWindow, kernels::MatF(kept.data(), static_cast<int64_t>(keep.size()), width),
                    {.tile_rows = tile}, keep);
    for (const int32_t k : keep)
      expected.insert(expected.end(), separate.begin() + k * width, separate.begin() + (k + 1) * width);
    expect_bitwise_equal(kept, expected, cat(GetParam(), " kept rows, tile ", tile));
  }
}

// Stream (left-to-right models): a record fed in pieces of any size, from one token at a time
// (the recurrent decoder) to whole tiles, gives run()'s hidden states bit for bit; several
// sequences fed side by side give each one's own.
TEST_P(GoldenForward, StreamedPiecesEqualTheWholeRecord) {
  if (GetParam() == "(none)") FAIL() << "no golden models in data/golden (tests/golden/make_golden.py makes them)";
  const ModelWeights weights = load_model((test::source_dir() / "data" / "golden" / GetParam()).string());
  const std::string seq = read_inputs()["len_4097"];
  if (seq.empty()) GTEST_SKIP() << "no len_4097 input";
  auto cpu = kernels::make_cpu_backend();
  Backbone model(weights, *cpu);
  if (!model.streamable()) {
    EXPECT_THROW(Backbone::Stream(model, 1), Error);
    GTEST_SKIP() << GetParam() << " is bidirectional";
  }
  const std::vector<int32_t> ids = genomics::tokenize(std::string_view(seq).substr(0, 700));
  const int64_t len = static_cast<int64_t>(ids.size()), width = model.hidden_width();
  std::vector<float> whole(static_cast<size_t>(len * width)), streamed(whole.size());
  model.run(ids, kernels::MatF(whole.data(), len, width));
  Backbone::Stream stream(model, 1);
  int64_t pos = 0;
  for (const int64_t piece : {1, 1, 1, 2, 7, 1, 128, 300, 1}) {
    stream.feed(std::span<const int32_t>(ids).subspan(static_cast<size_t>(pos), static_cast<size_t>(piece)), piece,
                kernels::MatF(streamed.data() + pos * width, piece, width));
    pos += piece;
  }
  while (pos < len) {  // the rest one token at a time
    stream.feed(std::span<const int32_t>(ids).subspan(static_cast<size_t>(pos), 1), 1,
                kernels::MatF(streamed.data() + pos * width, 1, width));
    ++pos;
  }
  expect_bitwise_equal(streamed, whole, cat(GetParam(), " streamed"));

  // Three sequences side by side, 5 tokens then 1 at a time, against each alone.
  constexpr int64_t kSeqs = 3, kLen = 40;
  std::vector<int32_t> rows_ids;
  std::vector<float> alone(static_cast<size_t>(kSeqs * kLen * width)), together(alone.size());
  for (int64_t s = 0; s < kSeqs; ++s)
    model.run(std::span<const int32_t>(ids).subspan(static_cast<size_t>(s * 200), kLen),
              kernels::MatF(alone.data() + s * kLen * width, kLen, width));
  Backbone::Stream batch(model, kSeqs);
  std::vector<float> step(static_cast<size_t>(kSeqs * 5 * width));
  for (int64_t t = 0; t < kLen;) {
    const int64_t n = t == 0 ? 5 : 1;
    rows_ids.clear();
    for (int64_t s = 0; s < kSeqs; ++s)
      for (int64_t i = 0; i < n; ++i) rows_ids.push_back(ids[static_cast<size_t>(s * 200 + t + i)]);
    batch.feed(rows_ids, n, kernels::MatF(step.data(), kSeqs * n, width));
    for (int64_t s = 0; s < kSeqs; ++s)
      std::copy_n(step.data() + s * n * width, n * width, together.data() + (s * kLen + t) * width);
    t += n;
  }
  expect_bitwise_equal(together, alone, cat(GetParam(), " three streams"));
}

// --layer: 0 is the embedding output; 1 is block 1's mixer output, which the golden stores
// plus the residual stream it joins (the embeddings, halves swapped where PS swaps them).
TEST_P(GoldenForward, HiddenStatesOfEarlierLayersMatchPyTorch) {
  if (GetParam() == "(none)") FAIL() << "no golden models in data/golden (tests/golden/make_golden.py makes them)";
  const fs::path dir = test::source_dir() / "data" / "golden" / GetParam();
  const ModelWeights weights = load_model(dir.string());
  const SafetensorsFile outputs((dir / "outputs.safetensors").string());
  const auto inputs = read_inputs();
  const auto it = inputs.find("len_129");
  if (it == inputs.end()) GTEST_SKIP() << "no len_129 input";
  const std::vector<float> want_embed = read_tensor(outputs, "embed.len_129");
  const std::vector<float> want_layer1 = read_tensor(outputs, "layer1.len_129");
  if (want_embed.empty() || want_layer1.empty()) GTEST_SKIP() << "no per-layer goldens";
  const std::vector<int32_t> ids = genomics::tokenize(it->second);
  const int64_t len = static_cast<int64_t>(ids.size());
  auto cpu = kernels::make_cpu_backend();
  Backbone model(weights, *cpu);
  const int64_t width = model.hidden_width(), d = weights.config.d_model;
  std::vector<float> embed(static_cast<size_t>(len * width)), block1(embed.size()), last(embed.size()),
      final(embed.size());
  model.run(ids, kernels::MatF(embed.data(), len, width), {.tile_rows = 50, .layer = 0});
  model.run(ids, kernels::MatF(block1.data(), len, width), {.tile_rows = 50, .layer = 1});
  EXPECT_LE(relative_error(embed, want_embed, width, {}), kTolerance);
  const bool swapped = weights.config.rcps && weights.config.fused_add_norm;
  std::vector<float> layer1(embed.size());
  for (int64_t i = 0; i < len; ++i)
    for (int64_t c = 0; c < width; ++c) {
      const int64_t src = swapped ? (c + d) % width : c;
      layer1[static_cast<size_t>(i * width + c)] =
          block1[static_cast<size_t>(i * width + c)] + embed[static_cast<size_t>(i * width + src)];
    }
  EXPECT_LE(relative_error(layer1, want_layer1, width, {}), kTolerance);
  // n_layer names the final normalised state, as in the reference's output_hidden_states.
  model.run(ids, kernels::MatF(last.data(), len, width), {.layer = weights.config.n_layer});
  model.run(ids, kernels::MatF(final.data(), len, width));
  EXPECT_EQ(last, final);
}

TEST_P(GoldenForward, PsIsReverseComplementEquivariant) {
  if (GetParam() == "(none)") FAIL() << "no golden models in data/golden (tests/golden/make_golden.py makes them)";
  const fs::path dir = test::source_dir() / "data" / "golden" / GetParam();
  const ModelWeights weights = load_model(dir.string());
  if (!weights.config.rcps) GTEST_SKIP() << "not an RC-equivariant model";
  const auto inputs = read_inputs();
  const auto it = inputs.find("len_129");
  if (it == inputs.end()) GTEST_SKIP() << "no len_129 input";
  auto cpu = kernels::make_cpu_backend();
  Backbone model(weights, *cpu);
  const std::vector<int32_t> ids = genomics::tokenize(it->second);
  const std::vector<int32_t> rc_ids = genomics::reverse_complement_tokens(ids);
  const int64_t len = static_cast<int64_t>(ids.size()), width = model.hidden_width();
  std::vector<float> fwd(static_cast<size_t>(len * width)), rc(fwd.size());
  model.run(ids, kernels::MatF(fwd.data(), len, width));
  model.run(rc_ids, kernels::MatF(rc.data(), len, width));
  // embed(revcomp(x)) = revcomp(embed(x)): rows reversed and the whole channel axis reversed
  // (which swaps the two strand halves and reverses each).
  std::vector<float> flipped(fwd.size());
  for (int64_t i = 0; i < len; ++i)
    for (int64_t c = 0; c < width; ++c)
      flipped[static_cast<size_t>(i * width + c)] = fwd[static_cast<size_t>((len - 1 - i) * width + (width - 1 - c))];
  EXPECT_LE(relative_error(rc, flipped, width, {}), 1e-5);
}

std::vector<std::string> models_or_placeholder() {
  auto models = test::golden_models();
  if (models.empty()) models.push_back("(none)");
  return models;
}

INSTANTIATE_TEST_SUITE_P(Models, GoldenForward, testing::ValuesIn(models_or_placeholder()),
                         [](const testing::TestParamInfo<std::string>& param) {
                           std::string name = param.param;
                           for (char& c : name)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return name;
                         });

}  // namespace
}  // namespace strand::model
