// The strand command line, through the built binary: --version, --help, exit statuses,
// error messages on stderr with nothing on stdout, and option validation.
#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/version.h"
#include "core/error.h"
#include "tests/test_support.h"

namespace strand::test {
namespace {

const std::vector<std::string> kCommands = {"annotate", "score",      "generate", "loglik",
                                            "embed",    "train-head", "info",     "bench"};

CommandResult strand(const std::string& args, std::string_view stdin_data = {}) {
  return run_command(cat("'", strand_binary().string(), "' ", args), stdin_data);
}

bool contains(const std::string& text, std::string_view what) {
  return text.find(what) != std::string::npos;
}

// A usage or validation error: status 1, one [E::strand] message naming `what`, no stdout.
void expect_error(const std::string& args, const std::vector<std::string>& what) {
  const CommandResult r = strand(args);
  EXPECT_EQ(r.exit_code, 1) << args << "\nstderr: " << r.err;
  EXPECT_EQ(r.err.rfind("[E::strand] ", 0), 0u) << args << "\nstderr: " << r.err;
  EXPECT_TRUE(r.out.empty()) << args << "\nstdout: " << r.out;
  for (const auto& w : what) EXPECT_TRUE(contains(r.err, w)) << args << ": no '" << w << "' in: " << r.err;
}

TEST(Cli, VersionListsLibrariesAndDevices) {
  const CommandResult r = strand("--version");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  EXPECT_EQ(r.out.rfind(std::string("strand ") + STRAND_VERSION + " (git ", 0), 0u) << r.out;
  for (const char* what : {"HTSlib 1.", "TBB 20", "Eigen 3.", "Compiler ", "CUDA "})
    EXPECT_TRUE(contains(r.out, what)) << "no '" << what << "' in:\n" << r.out;
  // CUDA: either not compiled in, or the devices or why there are none.
  EXPECT_TRUE(contains(r.out, "CUDA not compiled in") || contains(r.out, "CUDA devices: none (") ||
              contains(r.out, "  cuda:0 "))
      << r.out;
}

TEST(Cli, HelpListsEveryCommand) {
  for (const char* flag : {"--help", "-h"}) {
    const CommandResult r = strand(flag);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(r.err.empty()) << r.err;
    for (const auto& command : kCommands)
      EXPECT_TRUE(contains(r.out, "\n  " + command + " ")) << command << " missing from:\n" << r.out;
  }
}

TEST(Cli, NoCommandIsAUsageError) {
  const CommandResult r = strand("");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_TRUE(contains(r.err, "Usage: strand")) << r.err;
  EXPECT_TRUE(contains(r.err, "score")) << r.err;
}

TEST(Cli, EveryCommandHasHelpNamingItsOptions) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> expected = {
      {"annotate",
       {"GENOME", "-o,--output", "-O,--output-type", "--head", "--tracks", "--track-format", "-a,--proteins",
        "-d,--genes", "-g,--genetic-code", "--window", "--overlap", "-r,--regions", "-R,--regions-file", "--threads",
        "--device", "-m,--model", "default: bacteria-ps"}},
      {"score",
       {"INPUT", "-f,--fasta-ref", "-o,--output", "-O,--output-type", "v|z|b|u", "-W,--write-index", "--window",
        "--no-rc", "--check-ref", "-r,--regions", "-R,--regions-file", "--threads", "--device", "--batch",
        "default: human-ps"}},
      {"generate",
       {"--prompt", "--prompt-fasta", "-n,--num-samples", "--length", "--temperature", "--top-k", "--top-p", "--seed",
        "--batch", "-o,--output", "--device", "default: bacteria-causal"}},
      {"loglik",
       {"INPUT", "-o,--output", "--both-strands", "--track", "-r,--regions", "-R,--regions-file", "--threads",
        "--device", "default: bacteria-causal"}},
      {"embed",
       {"INPUT", "--pool", "none|mean", "--rc", "none|average", "--layer", "--window", "--overlap", "-o,--output",
        "--batch", "-r,--regions", "--threads", "--device"}},
      {"train-head",
       {"-m,--model", "--fasta", "--gff", "--genbank", "--classes", "--holdout", "auto|contig|region", "-o,--output",
        "--threads", "--device"}},
      {"info", {"MODEL", "-m,--model"}},
      {"bench", {"-m,--model", "--lengths", "--tile-rows", "--device", "--precision", "--threads", "-o,--output"}},
  };
  ASSERT_EQ(expected.size(), kCommands.size());
  for (const auto& [command, options] : expected) {
    const CommandResult r = strand(command + " --help");
    EXPECT_EQ(r.exit_code, 0) << command << ": " << r.err;
    EXPECT_TRUE(r.err.empty()) << command << ": " << r.err;
    EXPECT_TRUE(contains(r.out, "Usage: strand " + command)) << r.out;
    for (const auto& option : options) EXPECT_TRUE(contains(r.out, option)) << command << ": no " << option;
  }
  // info takes the model and logging options only.
  const std::string info = strand("info --help").out;
  for (const char* absent : {"--output", "--threads", "--device", "--regions"})
    EXPECT_FALSE(contains(info, absent)) << "info --help lists " << absent;
}

TEST(Cli, ParseErrorsAreReportedOnStderr) {
  expect_error("--no-such-option", {"--no-such-option", "strand --help"});
  expect_error("no-such-command", {"unknown command 'no-such-command'", "strand --help"});
  expect_error("score -f ref.fa --no-such-option in.vcf", {"--no-such-option", "strand score --help"});
  expect_error("score -f ref.fa", {"INPUT", "required", "strand score --help"});
  expect_error("score in.vcf", {"--fasta-ref", "required"});
  expect_error("embed in.fa", {"--output", "required"});
  expect_error("train-head -f g.fa --gff g.gff3 -o h.safetensors", {"--model", "required"});
  expect_error("score -f ref.fa --threads x in.vcf", {"--threads", "x"});
  expect_error("score -f ref.fa in.vcf --window", {"--window"});
}

// The scoring fixture and the tiny golden PS model: `strand score` runs in well under a second.
std::string score_args(const std::string& options) {
  return cat("score -f '", (source_dir() / "data/score/ref.fa").string(), "' -m '",
             (source_dir() / "data/golden/ps").string(), "' --window 64 ", options);
}
const std::string kScoreVcfGz = cat("'", (source_dir() / "data/score/variants.vcf.gz").string(), "'");

// score has landed: the option spellings its help advertises parse and run (its own tests are
// in tests/pipelines/score_io_test.cpp).
TEST(Cli, ScoreParsesItsOptionSpellings) {
  struct Case {
    std::string options;
    std::vector<std::string> files;
  };
  const std::vector<Case> cases = {
      {"-Oz -o out.vcf.gz -W --threads 4 -r q:1-1000 --batch 3", {"out.vcf.gz", "out.vcf.gz.csi"}},
      {"-Ob -o out.bcf --write-index=csi --check-ref x --no-rc", {"out.bcf", "out.bcf.csi"}},
      {"-o out.vcf.gz -Wtbi --", {"out.vcf.gz", "out.vcf.gz.tbi"}},
      // -W takes an optional value but never the input file.
      {"-o out.vcf.gz -W", {"out.vcf.gz", "out.vcf.gz.csi"}},
  };
  for (const Case& c : cases) {
    TempDir tmp;
    const std::string args = score_args("-q " + c.options + " " + kScoreVcfGz);
    const CommandResult r = run_command(cat("cd '", tmp.path().string(), "' && '", strand_binary().string(), "' ", args));
    EXPECT_EQ(r.exit_code, 0) << args << "\nstderr: " << r.err;
    EXPECT_TRUE(r.err.empty()) << args << "\nstderr: " << r.err;
    EXPECT_EQ(tmp.list(), c.files) << args;
  }
}

TEST(Cli, BenchTimesAModelAndWritesTsv) {
  TempDir dir;
  const std::string out = (dir / "bench.tsv").string();
  const CommandResult r =
      strand("bench -m " + (source_dir() / "data/models-test/caduceus-ps").string() + " --lengths 100,1k --repeats 1 -o " + out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string tsv = read_file(out);
  EXPECT_NE(tsv.find("# measured fp32 GEMM rate"), std::string::npos) << tsv;
  EXPECT_NE(tsv.find("# model FLOPs per base"), std::string::npos) << tsv;
  EXPECT_NE(tsv.find("\n100\t"), std::string::npos) << tsv;
  EXPECT_NE(tsv.find("\n1000\t"), std::string::npos) << tsv;
  EXPECT_EQ(dir.list(), std::vector<std::string>{"bench.tsv"});  // no temporary left behind
  expect_error("bench --batch 2 -m " + (source_dir() / "data/models-test/caduceus-ps").string(), {"--batch"});
  // Tiles of 256 rows: the 1k record runs in 4 tiles, so the checkpoint sweep adds executed
  // FLOPs over the default's single tile, and the header says so.
  const auto executed_line = [](const std::string& text) {
    const size_t at = text.find("# executed FLOPs per base: ");
    return at == std::string::npos ? std::string() : text.substr(at, text.find('\n', at) - at);
  };
  const CommandResult tiled = strand("bench -m " + (source_dir() / "data/models-test/caduceus-ps").string() +
                                     " --lengths 1k --repeats 1 --tile-rows 256 -o " + out);
  ASSERT_EQ(tiled.exit_code, 0) << tiled.err;
  const std::string tiled_tsv = read_file(out);
  EXPECT_NE(tiled_tsv.find("tiles of 256 rows"), std::string::npos) << tiled_tsv;
  ASSERT_FALSE(executed_line(tsv).empty()) << tsv;
  EXPECT_NE(executed_line(tiled_tsv), executed_line(tsv));
  // Hidden states left in the backend's memory (the reference benchmark's way): on the CPU, where
  // the model's output is in host memory anyway, the same as host, and the header says so.
  const CommandResult on_device = strand("bench -m " + (source_dir() / "data/models-test/caduceus-ps").string() +
                                         " --lengths 1k --repeats 1 --hidden device -o " + out);
  ASSERT_EQ(on_device.exit_code, 0) << on_device.err;
  const std::string device_tsv = read_file(out);
  EXPECT_NE(device_tsv.find("final hidden states copied into host memory"), std::string::npos) << device_tsv;
  EXPECT_NE(device_tsv.find("\n1000\t"), std::string::npos) << device_tsv;
  EXPECT_NE(tsv.find("final hidden states copied into host memory"), std::string::npos) << tsv;
  expect_error("bench --hidden gpu", {"--hidden", "'gpu'", "host or device"});
  expect_error("bench --tile-rows -5", {"--tile-rows", "-5"});
  expect_error("bench --tile-rows 16", {"--tile-rows", "16", "256"});
}

TEST(Cli, ValidatesCommonOptions) {
  expect_error("score -f ref.fa --device gpu in.vcf", {"--device", "gpu"});
  expect_error("score -f ref.fa --device cuda:1000 in.vcf", {"--device", "cuda:1000"});
  expect_error("score -f ref.fa -O x in.vcf", {"-O", "'x'"});
  expect_error("generate -O b", {"-O", "'b'"});
  expect_error("score -f ref.fa -r chr1:200-100 in.vcf.gz", {"-r", "chr1:200-100"});
  expect_error("score -f ref.fa -r chr1:x in.vcf.gz", {"-r", "chr1:x"});
  expect_error("score -f ref.fa -r chr1 -R regions.bed in.vcf.gz", {"-r/--regions", "-R/--regions-file"});
  expect_error("score -f ref.fa -R /nonexistent/regions.bed in.vcf.gz", {"-R", "/nonexistent/regions.bed"});
  expect_error("score -f ref.fa -r chr1 -", {"-r/-R", "standard input"});
  expect_error("score -f ref.fa --threads -1 in.vcf", {"--threads", "-1"});
  expect_error("score -f ref.fa -W in.vcf", {"-W/--write-index", "standard output"});
  expect_error("score -f ref.fa -W -o out.vcf in.vcf", {"-W/--write-index", "compressed"});
  expect_error("score -f ref.fa --write-index=tbi -o out.bcf in.vcf", {"tbi", "BCF"});
  expect_error("score -f ref.fa --write-index=bai -o out.vcf.gz in.vcf", {"-W/--write-index", "bai"});
  expect_error("score -f ref.fa --check-ref s in.vcf", {"--check-ref", "'s'"});
  expect_error("score -f ref.fa --batch 0 in.vcf", {"--batch", "0"});
  expect_error("score -f ref.fa --window 1 in.vcf", {"--window", "1", ">= 2"});
  expect_error("score -f ref.fa --window 2x in.vcf", {"--window", "2x"});
  expect_error("score -f ref.fa --scores foo in.vcf", {"--scores", "foo", "llr, edist"});
  expect_error("score -f ref.fa --scores llr,,edist in.vcf", {"--scores", "llr,,edist"});
  expect_error("bench -v -q", {"-q/--quiet", "-v/--verbose"});
  expect_error("generate --seed -1", {"--seed", "-1"});
  expect_error("bench --precision fp16", {"--precision", "fp16", "bf16"});
  expect_error("bench --precision bf16", {"--precision bf16", "--device cuda"});  // the CPU is fp32 only
  expect_error("bench --precision tf32x3", {"--precision tf32x3", "--device cuda"});
}

TEST(Cli, ValidatesJobOptions) {
  expect_error("generate --temperature 0", {"--temperature", "0"});
  expect_error("generate --temperature nan", {"--temperature", "nan"});
  expect_error("generate --top-p 1.5", {"--top-p", "1.5"});
  expect_error("generate --top-p 0", {"--top-p", "0"});
  expect_error("generate --top-k -1", {"--top-k", "-1"});
  expect_error("generate --length 0", {"--length", "0"});
  expect_error("generate --length 1.5k1", {"--length", "1.5k1"});
  expect_error("generate -n 0", {"--num-samples", "0"});
  expect_error("generate --prompt ACGU", {"--prompt", "'U'", "position 4"});
  expect_error("generate --prompt A --prompt-fasta p.fa", {"--prompt", "--prompt-fasta"});
  expect_error("embed a.fa -o x.pt", {"-o/--output", "x.pt"});
  expect_error("embed a.fa -o x.npy --pool none", {"--pool mean", ".npy"});
  expect_error("embed a.fa -o x.safetensors --pool max", {"--pool", "'max'", "none|mean"});
  expect_error("embed a.fa -o x.safetensors --window 100 --overlap 100", {"--overlap", "100", "--window"});
  expect_error("embed a.fa -o x.safetensors --overlap 10", {"--overlap", "--window"});
  expect_error("embed a.fa -o x.safetensors --layer -1", {"--layer", "-1"});
  expect_error("embed a.fa -o -", {"-o/--output"});
  expect_error("loglik a.fa --track out.wig", {"--track", "out.wig"});
  expect_error("loglik a.fa --track out.bedGraph -o out.bedGraph", {"--track", "out.bedGraph"});
  expect_error("annotate g.fa -g 7", {"--genetic-code", "7"});
  expect_error("annotate g.fa -a - ", {"-a/--proteins", "standard output"});
  expect_error("annotate g.fa --track-format bigwig", {"--track-format", "--tracks"});
  expect_error("annotate g.fa --tracks t --track-format wig", {"--track-format", "'wig'"});
  expect_error("train-head -m m -o h.safetensors", {"--gff", "--genbank"});
  expect_error("train-head -m m --gff g.gff3 -o h.safetensors", {"--fasta", "--gff", "pair"});
  expect_error("train-head -m m -f a.fa -f b.fa --gff a.gff3 -o h.safetensors", {"2 FASTA", "1 GFF3"});
  expect_error("train-head -m m --genbank g.gbk --hidden -1 -o h.safetensors", {"--hidden", "-1"});
  expect_error("annotate g.fa --min-gene-len 60", {"minimum gene length", "maximum overlap"});
  expect_error("annotate g.fa --hexamer-weight -1", {"--hexamer-weight", "-1"});
  expect_error("train-head -m m --genbank g.gbk -o h.pt", {"-o/--output", "h.pt"});
  expect_error("train-head -m m --genbank g.gbk --classes CDS,,tRNA -o h.safetensors", {"--classes"});
  expect_error("train-head -m m --genbank g.gbk --holdout-fraction 1 -o h.safetensors", {"--holdout-fraction", "1"});
  expect_error("bench --lengths 10k,0", {"--lengths", "0"});
  expect_error("bench --lengths 10x", {"--lengths", "10x"});
  expect_error("info a -m b", {"-m/--model", "MODEL"});
}

TEST(Cli, NameMismatchWithOutputTypeWarns) {
  TempDir tmp;
  const std::string out = cat("'", (tmp / "out.bcf").string(), "'");
  const CommandResult r = strand(score_args("-Oz -o " + out + " " + kScoreVcfGz));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "[W::score] -O z")) << r.err;
  EXPECT_TRUE(read_maybe_gzip(tmp / "out.bcf").starts_with("##fileformat=VCF")) << "-O wins over the name";
  // -q silences the warning but not an error.
  const CommandResult quiet = strand(score_args("-q -Oz -o " + out + " " + kScoreVcfGz));
  EXPECT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_TRUE(quiet.err.empty()) << quiet.err;
  const CommandResult error = strand(score_args("-q -Oz -o " + out + " /nonexistent/in.vcf"));
  EXPECT_EQ(error.exit_code, 1) << error.err;
  EXPECT_FALSE(contains(error.err, "[W::")) << error.err;
  EXPECT_TRUE(contains(error.err, "[E::strand] ")) << error.err;
}

TEST(Cli, RegionsFileIsRead) {
  TempDir tmp;
  // BED: 0-based, so q 999-2000 is POS 1000-2000: records 1000, 1008, 1817, 1820, 1917.
  write_file(tmp / "regions.bed", "q\t999\t2000\n");
  const CommandResult r = strand(score_args("-q -R '" + (tmp / "regions.bed").string() + "' " + kScoreVcfGz));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> positions;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);)
    if (!line.starts_with("#")) {
      std::istringstream fields(line);
      std::string chrom, pos;
      fields >> chrom >> pos;
      positions.push_back(chrom + ":" + pos);
    }
  EXPECT_EQ(positions, (std::vector<std::string>{"q:1000", "q:1008", "q:1817", "q:1820", "q:1917"}));
  write_file(tmp / "empty.bed", "# nothing\n");
  expect_error("score -f ref.fa -R '" + (tmp / "empty.bed").string() + "' in.vcf.gz", {"-R", "empty.bed"});
}

// --no-self-train makes the first pass the only one: its settings, unless given on the command
// line (the final-pass options then set that pass); self-training options are refused.
TEST(Cli, AnnotateOnePassTakesTheFirstPassSettings) {
  TempDir tmp;
  const std::string lambda = read_file(fixture("examples/lambda.fa"));
  const size_t body = lambda.find('\n') + 1;
  write_file(tmp / "g.fa", ">piece\n" + lambda.substr(body, 3000) + "\n");  // 2,950+ bases
  const auto caller_pragma = [&](const std::string& options) {
    const std::string out = (tmp / "genes.gff3").string();
    const CommandResult r = strand(cat("annotate -q ", options, " -o '", out, "' '", (tmp / "g.fa").string(), "'"));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const std::string text = read_file(out);
    const size_t at = text.find("#!strand-gene-caller");
    return at == std::string::npos ? std::string() : text.substr(at, text.find('\n', at) - at);
  };
  const std::string one = caller_pragma("--no-self-train");
  for (const char* setting : {"head_weight=0.1 ", "length_weight=0 ", "length_offset=0 ", "min_score=20 ",
                              "operon_weight=0 ", "self_train=off"})
    EXPECT_TRUE(contains(one, setting)) << setting << " not in " << one;
  const std::string given = caller_pragma("--no-self-train --min-score 55 --length-offset 7 --operon-weight 3");
  for (const char* setting : {"head_weight=0.1 ", "length_offset=7 ", "min_score=55 ", "operon_weight=3 "})
    EXPECT_TRUE(contains(given, setting)) << setting << " not in " << given;
  expect_error("annotate --no-self-train --hexamer-weight 4 g.fa", {"--hexamer-weight", "--no-self-train"});
}

// `strand info` on the hand-made test models (data/models-test): key<TAB>value lines on stdout.
std::map<std::string, std::string> info_lines(const std::string& out) {
  std::map<std::string, std::string> kv;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    const size_t tab = line.find('\t');
    EXPECT_NE(tab, std::string::npos) << "not key<TAB>value: " << line;
    if (tab != std::string::npos) kv[line.substr(0, tab)] = line.substr(tab + 1);
  }
  return kv;
}

TEST(Cli, InfoDescribesAModel) {
  const std::string ph = fixture("models-test/caduceus-ph").string();
  for (const std::string& args : {"info '" + ph + "'", "info -m '" + ph + "'"}) {
    const CommandResult r = strand(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(r.err.empty()) << r.err;
    const auto kv = info_lines(r.out);
    EXPECT_EQ(kv.at("architecture"), "CaduceusForMaskedLM (PH)");
    EXPECT_EQ(kv.at("parameters"), "2264");
    EXPECT_EQ(kv.at("n_layer"), "2");
    EXPECT_EQ(kv.at("d_model"), "8");
    EXPECT_EQ(kv.at("hidden_width"), "8");
    EXPECT_EQ(kv.at("d_inner"), "16");
    EXPECT_EQ(kv.at("d_state"), "4");
    EXPECT_EQ(kv.at("dt_rank"), "1");
    EXPECT_EQ(kv.at("vocab_size"), "16");
    EXPECT_EQ(kv.at("bidirectional_strategy"), "add");
    EXPECT_EQ(kv.at("context"), "unbounded (recurrent)");
    EXPECT_EQ(kv.at("dtype"), "F32 (36 tensors)");
    EXPECT_EQ(kv.at("sha256").size(), 64u);
  }
  const auto ps = info_lines(strand("info '" + fixture("models-test/caduceus-ps").string() + "'").out);
  EXPECT_EQ(ps.at("architecture"), "CaduceusForMaskedLM (PS, RC-equivariant)");
  EXPECT_EQ(ps.at("hidden_width"), "16");
  EXPECT_EQ(ps.at("dtype"), "F16 (48 tensors), I64 (2 tensors)");
  const auto mamba = info_lines(strand("info '" + fixture("models-test/mamba").string() + "'").out);
  EXPECT_EQ(mamba.at("architecture"), "MambaForCausalLM (causal)");
  EXPECT_EQ(mamba.count("bidirectional"), 0u);
}

TEST(Cli, InfoListsShippedModels) {
  TempDir tmp;
  const CommandResult r = run_command(cat("STRAND_MODELS_DIR='", tmp.path().string(), "' '",
                                          strand_binary().string(), "' info"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "model\thuman-ps\tnot installed")) << r.out;
  EXPECT_TRUE(contains(r.out, "no shipped model is installed in " + tmp.path().string())) << r.out;
  const CommandResult named = run_command(cat("STRAND_MODELS_DIR='", tmp.path().string(), "' '",
                                              strand_binary().string(), "' info human-ps"));
  EXPECT_EQ(named.exit_code, 1);
  EXPECT_TRUE(contains(named.err, "[E::strand] model 'human-ps' is a shipped model that is not installed")) << named.err;
  EXPECT_TRUE(named.out.empty()) << named.out;
}

TEST(Cli, InfoErrorsNameTheFile) {
  TempDir tmp;
  expect_error("info '" + (tmp / "absent").string() + "'", {(tmp / "absent").string(), "no such model folder"});
  expect_error("info no-such-model", {"'no-such-model'", "not a shipped model"});
  fs::create_directories(tmp / "m");
  write_file(tmp / "m" / "config.json", read_file(fixture("models-test/caduceus-ph/config.json")));
  const std::string st = read_file(fixture("models-test/caduceus-ph/model.safetensors"));
  write_file(tmp / "m" / "model.safetensors", st.substr(0, st.size() / 2));
  expect_error("info '" + (tmp / "m").string() + "'", {(tmp / "m" / "model.safetensors").string(), "truncated"});
  write_file(tmp / "m" / "config.json", "{\"model_type\": \"gpt2\"}");
  expect_error("info '" + (tmp / "m").string() + "'", {(tmp / "m" / "config.json").string(), "'gpt2'"});
}

}  // namespace
}  // namespace strand::test
