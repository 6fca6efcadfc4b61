// strand generate: greedy continuations equal the independent PyTorch implementation's
// (data/golden/causal/greedy.tsv, a full parallel forward at every step, so strand's recurrent
// decoder is checked against it); the headers' log-probabilities equal `strand loglik` of
// prompt + generated minus the prompt's; the output depends on --seed only (not --batch or
// --threads); the FASTA layout and headers; --prompt-fasta ordering; option errors through the
// command line.
#include "pipelines/generate.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <map>
#include <memory>
#include <set>
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
#include "tests/test_support.h"

namespace strand::pipelines {
namespace {

namespace fs = std::filesystem;

const fs::path kGolden = test::source_dir() / "data" / "golden";
const std::string kModel = (kGolden / "mamba").string();
const std::string kShort = (kGolden / "inputs" / "short.fa").string();

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> f;
  std::istringstream in(text);
  std::string x;
  while (std::getline(in, x, sep)) f.push_back(x);
  return f;
}

struct Record {
  std::string id;
  std::map<std::string, std::string> fields;  // key=value of the header
  std::string seq;
  std::vector<size_t> line_lengths;
};

std::vector<Record> parse_fasta(const std::string& text) {
  std::vector<Record> recs;
  for (const std::string& line : split(text, '\n')) {
    if (line.starts_with(">")) {
      Record r;
      const std::vector<std::string> words = split(line.substr(1), ' ');
      r.id = words.at(0);
      for (size_t i = 1; i < words.size(); ++i) {
        const size_t eq = words[i].find('=');
        EXPECT_NE(eq, std::string::npos) << "header word without '=': " << words[i];
        if (eq != std::string::npos) r.fields[words[i].substr(0, eq)] = words[i].substr(eq + 1);
      }
      recs.push_back(r);
      continue;
    }
    if (recs.empty()) {
      ADD_FAILURE() << "sequence before the first header: " << line;
      continue;
    }
    recs.back().seq += line;
    recs.back().line_lengths.push_back(line.size());
  }
  return recs;
}

std::string record_of(const std::string& name) {
  genomics::IndexedFasta fa(kShort);
  std::string seq;
  fa.fetch(genomics::Region{name, 0, genomics::kRegionToEnd}, seq);
  return seq;
}

GenerateOptions options(const std::string& out) {
  GenerateOptions o;
  o.model = kModel;
  o.output.path = out;
  o.compute.threads = 2;
  o.seed = 1;
  o.length = 100;
  return o;
}

std::vector<Record> generate(const GenerateOptions& o) {
  run_generate(o);
  return parse_fasta(test::read_file(o.output.path));
}

// stream_loglik on the CPU: what `strand loglik` reports for a sequence.
class Scorer {
 public:
  Scorer() : weights_(model::load_model(kModel)), cpu_(kernels::make_cpu_backend()), backbone_(weights_, *cpu_) {}
  double operator()(const std::string& seq) { return stream_loglik(backbone_, genomics::tokenize(seq), 0); }

 private:
  model::ModelWeights weights_;
  std::unique_ptr<kernels::Backend> cpu_;
  model::Backbone backbone_;
};

struct GreedyRow {
  std::string name, prompt, generated;
  double logp_total = 0, logp_mean = 0;
};

std::vector<GreedyRow> greedy_golden() {
  std::vector<GreedyRow> rows;
  const std::vector<std::string> lines = split(test::read_file(kGolden / "causal" / "greedy.tsv"), '\n');
  EXPECT_EQ(lines.at(0), "prompt_name\tprompt\tgenerated\tlogp_total\tlogp_mean");
  for (size_t i = 1; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    const std::vector<std::string> f = split(lines[i], '\t');
    rows.push_back({f.at(0), f.at(1), f.at(2), std::stod(f.at(3)), std::stod(f.at(4))});
  }
  EXPECT_EQ(rows.size(), 4u);
  return rows;
}

// Greedy decoding (top_k 1) through the recurrent decoder equals the reference's argmax over a
// full parallel forward at every step; every prompt through --prompt-fasta (one run), the
// A/C/G/T/N ones through --prompt too.
TEST(Generate, GreedyContinuationsMatchTheIndependentImplementation) {
  const std::vector<GreedyRow> gold = greedy_golden();
  test::TempDir tmp;
  std::string fasta;
  for (const GreedyRow& g : gold) {
    // The len_129 prompt is the whole record (N run, lower case, an R).
    if (g.name == "len_129") {
      EXPECT_EQ(g.prompt, record_of("len_129"));
    }
    fasta += ">" + g.name + "\n" + g.prompt + "\n";
  }
  test::write_file(tmp / "prompts.fa", fasta);
  double worst = 0, worst_mean = 0;
  for (const int batch : {1, 16}) {
    GenerateOptions o = options((tmp / cat("greedy", batch, ".fa")).string());
    o.prompt_fasta = (tmp / "prompts.fa").string();
    o.length = 200;
    o.sampling.top_k = 1;
    o.batch = batch;
    o.num_samples = 2;  // two identical greedy samples per prompt
    const std::vector<Record> recs = generate(o);
    ASSERT_EQ(recs.size(), 2 * gold.size());
    for (size_t i = 0; i < recs.size(); ++i) {
      const GreedyRow& g = gold[i / 2];
      const Record& r = recs[i];
      EXPECT_EQ(r.fields.at("prompt"), g.name);
      EXPECT_EQ(r.fields.at("prompt_length"), std::to_string(g.prompt.size()));
      EXPECT_EQ(r.seq, g.generated) << g.name;
      const double total = std::stod(r.fields.at("logp_total")), mean = std::stod(r.fields.at("logp_mean"));
      EXPECT_NEAR(total, g.logp_total, 1e-4) << g.name;
      EXPECT_NEAR(mean, g.logp_mean, 1e-6) << g.name;
      worst = std::max(worst, std::fabs(total - g.logp_total));
      worst_mean = std::max(worst_mean, std::fabs(mean - g.logp_mean));
    }
  }
  for (const GreedyRow& g : gold) {
    if (g.prompt.find_first_not_of("ACGTN") != std::string::npos) continue;
    GenerateOptions o = options((tmp / "one.fa").string());
    o.prompt = g.prompt;
    o.length = 200;
    o.sampling.top_k = 1;
    const std::vector<Record> recs = generate(o);
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(recs[0].seq, g.generated) << g.name;
    EXPECT_NEAR(std::stod(recs[0].fields.at("logp_total")), g.logp_total, 1e-4) << g.name;
  }
  std::cout << "[ greedy vs golden ] max |logp_total diff| " << worst << ", max |logp_mean diff| " << worst_mean << "\n";
}

// logp_total = loglik(prompt + generated) - loglik(prompt); logp_mean = logp_total / length.
TEST(Generate, HeaderLogProbabilitiesEqualLoglikOfTheGeneratedPart) {
  Scorer score;
  test::TempDir tmp;
  GenerateOptions o = options((tmp / "g.fa").string());
  const std::string prompt = record_of("len_4097").substr(0, 300);
  o.prompt = prompt;
  for (char& c : o.prompt) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  o.length = 250;
  o.num_samples = 3;
  o.seed = 77;
  o.sampling.temperature = 4;  // the tiny random model is peaked (homopolymers at T 1): mix the bases
  const std::vector<Record> recs = generate(o);
  ASSERT_EQ(recs.size(), 3u);
  const double prompt_ll = score(prompt);
  double worst = 0;
  for (const Record& r : recs) {
    ASSERT_EQ(r.seq.size(), 250u);
    EXPECT_GE(std::set<char>(r.seq.begin(), r.seq.end()).size(), 3u) << "not a homopolymer: " << r.seq;
    const double want = score(prompt + r.seq) - prompt_ll;
    const double total = std::stod(r.fields.at("logp_total")), mean = std::stod(r.fields.at("logp_mean"));
    EXPECT_NEAR(total, want, 1e-6 * std::fabs(want)) << r.id;
    EXPECT_NEAR(mean, want / 250, 1e-6 * std::fabs(want / 250)) << r.id;
    worst = std::max(worst, std::fabs(total - want) / std::fabs(want));
  }
  // No prompt: the first base is drawn uniformly and not scored, so the total is the generated
  // sequence's own log-likelihood over length - 1 bases.
  GenerateOptions n = options((tmp / "n.fa").string());
  n.length = 333;
  n.num_samples = 4;
  n.seed = 5;
  n.sampling.temperature = 4;
  const std::vector<Record> free = generate(n);
  ASSERT_EQ(free.size(), 4u);
  for (const Record& r : free) {
    ASSERT_EQ(r.seq.size(), 333u);
    EXPECT_EQ(r.fields.at("prompt"), "noprompt");
    EXPECT_EQ(r.fields.at("prompt_length"), "0");
    const double want = score(r.seq);
    const double total = std::stod(r.fields.at("logp_total")), mean = std::stod(r.fields.at("logp_mean"));
    EXPECT_NEAR(total, want, 1e-6 * std::fabs(want)) << r.id;
    EXPECT_NEAR(mean, want / 332, 1e-6 * std::fabs(want / 332)) << r.id;
    worst = std::max(worst, std::fabs(total - want) / std::fabs(want));
  }
  // One generated base and no prompt: nothing scored.
  GenerateOptions one = options((tmp / "one.fa").string());
  one.length = 1;
  const std::vector<Record> single = generate(one);
  ASSERT_EQ(single.size(), 1u);
  EXPECT_EQ(single[0].seq.size(), 1u);
  EXPECT_EQ(std::stod(single[0].fields.at("logp_total")), 0.0);
  EXPECT_EQ(single[0].fields.at("logp_mean"), ".");
  std::cout << "[ generate logp vs loglik ] max relative difference " << worst << "\n";
}

// The output depends on the seed only: not on --batch or --threads.
TEST(Generate, SameSeedGivesTheSameFastaWhateverBatchAndThreads) {
  test::TempDir tmp;
  for (const bool with_prompt : {true, false}) {
    std::string first;
    std::set<std::string> distinct;
    for (const int batch : {1, 3, 16}) {
      for (const int threads : {1, 2}) {
        GenerateOptions o = options((tmp / cat("b", batch, "t", threads, ".fa")).string());
        if (with_prompt) o.prompt = "ACGTTGCANNACGGT";
        o.num_samples = 7;
        o.length = 150;
        o.seed = 1234;
        o.sampling.temperature = 5;  // random enough for every sample to differ
        o.sampling.top_k = with_prompt ? 3 : 0;
        o.batch = batch;
        o.compute.threads = threads;
        run_generate(o);
        const std::string text = test::read_file(o.output.path);
        if (first.empty()) {
          first = text;
          for (const Record& r : parse_fasta(text)) distinct.insert(r.seq);
          EXPECT_EQ(distinct.size(), 7u);
        } else {
          EXPECT_EQ(text, first) << "batch " << batch << " threads " << threads << (with_prompt ? " prompt" : " no prompt");
        }
      }
    }
  }
}

TEST(Generate, SeedsAndSamplesDifferAndTheFastaIsWellFormed) {
  test::TempDir tmp;
  std::map<uint64_t, std::vector<Record>> runs;
  for (const uint64_t seed : {uint64_t{1}, uint64_t{2}}) {
    GenerateOptions o = options((tmp / cat("s", seed, ".fa")).string());
    o.prompt = "ACGT";
    o.num_samples = 5;
    o.length = 150;
    o.seed = seed;
    // The tiny random model is peaked (p > 0.999 for its homopolymers at T 1): sample away from
    // them. (No top-p: it applies before the temperature and would keep the top base only.)
    o.sampling.temperature = 5;
    o.sampling.top_k = 4;
    const GenerateSummary summary = run_generate(o);
    EXPECT_EQ(summary.sequences, 5u);
    EXPECT_EQ(summary.bases, 5u * 150);
    EXPECT_EQ(summary.seed, seed);
    runs[seed] = parse_fasta(test::read_file(o.output.path));
    const std::vector<Record>& recs = runs[seed];
    ASSERT_EQ(recs.size(), 5u);
    std::set<std::string> distinct;
    for (size_t i = 0; i < recs.size(); ++i) {
      const Record& r = recs[i];
      EXPECT_EQ(r.id, cat("prompt_", i + 1));
      distinct.insert(r.seq);
      EXPECT_EQ(r.seq.size(), 150u);
      EXPECT_EQ(r.seq.find_first_not_of("ACGT"), std::string::npos) << r.seq;
      EXPECT_EQ(r.line_lengths, (std::vector<size_t>{60, 60, 30})) << r.id;
      for (const char* key : {"prompt", "prompt_length", "sample", "length", "seed", "temperature", "top_k", "top_p",
                              "logp_total", "logp_mean"})
        EXPECT_TRUE(r.fields.count(key)) << "header of " << r.id << " lacks " << key << "=";
      EXPECT_EQ(r.fields.at("prompt"), "prompt");
      EXPECT_EQ(r.fields.at("prompt_length"), "4");
      EXPECT_EQ(r.fields.at("sample"), std::to_string(i + 1));
      EXPECT_EQ(r.fields.at("length"), "150");
      EXPECT_EQ(r.fields.at("seed"), std::to_string(seed));
      EXPECT_EQ(std::stod(r.fields.at("temperature")), 5.0);
      EXPECT_EQ(r.fields.at("top_k"), "4");
      EXPECT_EQ(r.fields.at("top_p"), "1");
      EXPECT_LT(std::stod(r.fields.at("logp_total")), 0.0);
    }
    EXPECT_EQ(distinct.size(), recs.size()) << "samples of one run must differ";
  }
  for (size_t i = 0; i < 5; ++i) EXPECT_NE(runs[1][i].seq, runs[2][i].seq) << "sample " << i + 1;
  // Without --seed one is drawn and reported.
  GenerateOptions o = options((tmp / "random.fa").string());
  o.seed.reset();
  o.length = 10;
  const GenerateSummary s = run_generate(o);
  EXPECT_EQ(parse_fasta(test::read_file(o.output.path)).at(0).fields.at("seed"), std::to_string(s.seed));
}

TEST(Generate, PromptFastaGivesEveryPromptsSamplesInOrder) {
  test::TempDir tmp;
  test::write_file(tmp / "p.fa", ">first some description\nACGTACGT\n>second\nacgtnnacg\nTTG\n");
  GenerateOptions o = options((tmp / "g.fa").string());
  o.prompt_fasta = (tmp / "p.fa").string();
  o.num_samples = 3;
  o.length = 61;
  o.batch = 2;  // batches do not align with the prompts
  const std::vector<Record> recs = generate(o);
  ASSERT_EQ(recs.size(), 6u);
  const std::vector<std::string> prompts = {"first", "first", "first", "second", "second", "second"};
  for (size_t i = 0; i < recs.size(); ++i) {
    EXPECT_EQ(recs[i].id, cat(prompts[i], "_", i % 3 + 1));
    EXPECT_EQ(recs[i].fields.at("prompt"), prompts[i]);
    EXPECT_EQ(recs[i].fields.at("sample"), std::to_string(i % 3 + 1));
    EXPECT_EQ(recs[i].fields.at("prompt_length"), i < 3 ? "8" : "12");
    EXPECT_EQ(recs[i].line_lengths, (std::vector<size_t>{60, 1}));
  }
  // Random streams are numbered by (prompt index, sample): the first prompt's samples are those
  // of --prompt with the same seed.
  GenerateOptions p = options((tmp / "p1.fa").string());
  p.prompt = "ACGTACGT";
  p.num_samples = 3;
  p.length = 61;
  const std::vector<Record> alone = generate(p);
  ASSERT_EQ(alone.size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(alone[i].seq, recs[i].seq) << i;
}

TEST(Generate, BgzfOutput) {
  test::TempDir tmp;
  GenerateOptions o = options((tmp / "g.fa").string());
  o.num_samples = 2;
  run_generate(o);
  GenerateOptions z = o;
  z.output.path = (tmp / "g.fa.gz").string();
  z.output.type = OutputType::kBgzf;
  run_generate(z);
  const std::string raw = test::read_file(z.output.path);
  ASSERT_GE(raw.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(raw[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(raw[1]), 0x8b);
  EXPECT_EQ(test::read_maybe_gzip(z.output.path), test::read_file(o.output.path));
}

TEST(Generate, BidirectionalModelIsAnErrorNamingItAndLeavesNoOutput) {
  test::TempDir tmp;
  GenerateOptions o = options((tmp / "g.fa").string());
  o.model = (kGolden / "ps").string();
  test::expect_error([&] { run_generate(o); }, {"bidirectional", o.model, "causal"});
  EXPECT_TRUE(tmp.list().empty());
}

// Option errors through the command line: exit status 1, an [E::strand] message naming the
// option, nothing on stdout and no output file.
class GenerateCli : public ::testing::Test {
 protected:
  // `strand generate` on the causal golden model with --seed 1 and --length 20 unless args set it.
  test::CommandResult strand(const std::string& args) {
    const std::string length = args.find("--length") == std::string::npos ? "--length 20 " : "";
    return test::run_command(
        cat("'", test::strand_binary().string(), "' generate -m '", kModel, "' --seed 1 ", length, args));
  }
  void expect_error(const std::string& args, const std::vector<std::string>& what) {
    test::TempDir tmp;
    const test::CommandResult r = strand(cat(args, " -o '", (tmp / "g.fa").string(), "'"));
    EXPECT_EQ(r.exit_code, 1) << args << "\nstderr: " << r.err;
    EXPECT_NE(r.err.find("[E::"), std::string::npos) << args << "\nstderr: " << r.err;
    EXPECT_TRUE(r.out.empty()) << args << "\nstdout: " << r.out;
    for (const std::string& w : what) EXPECT_NE(r.err.find(w), std::string::npos) << args << ": no '" << w << "' in: " << r.err;
    // The option's own validation, not CLI11 rejecting a repeated option.
    EXPECT_EQ(r.err.find("At Most"), std::string::npos) << args << ": " << r.err;
    EXPECT_TRUE(tmp.list().empty()) << args;
  }
  void SetUp() override {
    if (!fs::exists(test::strand_binary())) GTEST_FAIL() << "no strand binary at " << test::strand_binary();
  }
};

TEST_F(GenerateCli, ValidRunWritesFastaToStdout) {
  const test::CommandResult r = strand("--prompt acgtn -n 2 --top-k 2 --top-p 0.9 --temperature 0.7");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const std::vector<Record> recs = parse_fasta(r.out);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].fields.at("prompt_length"), "5");
  EXPECT_EQ(recs[0].fields.at("top_k"), "2");
  EXPECT_EQ(recs[0].seq.size(), 20u);
}

TEST_F(GenerateCli, BadSamplingParametersAreErrorsNamingTheOption) {
  expect_error("--temperature 0", {"invalid --temperature 0"});
  expect_error("--temperature -1", {"invalid --temperature -1"});
  expect_error("--temperature=-1", {"invalid --temperature -1"});
  expect_error("--temperature nan", {"invalid --temperature"});
  expect_error("--temperature inf", {"invalid --temperature"});
  expect_error("--top-p 0", {"invalid --top-p 0"});
  expect_error("--top-p 1.5", {"invalid --top-p 1.5"});
  expect_error("--top-p -0.5", {"invalid --top-p"});
  expect_error("--top-k -1", {"invalid --top-k -1"});
  expect_error("--top-k=-1", {"invalid --top-k -1"});
}

TEST_F(GenerateCli, BadLengthsSamplesAndPromptsAreErrors) {
  expect_error("--length 0", {"invalid --length 0"});
  expect_error("--length -5", {"invalid --length -5"});
  expect_error("--length 5x", {"invalid --length"});
  expect_error("-n 0", {"invalid -n/--num-samples 0"});
  expect_error("--prompt ACGXT", {"invalid --prompt", "'X'", "position 4"});
  expect_error("--prompt ACG-T", {"invalid --prompt", "position 4"});
  expect_error("--prompt acgtr", {"invalid --prompt", "'R'", "position 5"});  // lower case is upper-cased first
  test::TempDir tmp;
  test::write_file(tmp / "p.fa", ">p\nACGT\n");
  expect_error(cat("--prompt ACGT --prompt-fasta '", (tmp / "p.fa").string(), "'"), {"--prompt and --prompt-fasta cannot be used together"});
}

TEST_F(GenerateCli, BidirectionalModelIsAnErrorNamingIt) {
  test::TempDir tmp;
  const std::string ps = (kGolden / "ps").string();
  const test::CommandResult r = test::run_command(
      cat("'", test::strand_binary().string(), "' generate -m '", ps, "' --seed 1 --length 20 -o '", (tmp / "g.fa").string(), "'"));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("bidirectional"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(ps), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
  EXPECT_TRUE(tmp.list().empty());
}

}  // namespace
}  // namespace strand::pipelines
