// strand annotate and strand train-head end to end on the first 12 kb of phage lambda (its
// GenBank annotation in data/): the shipped model and head find lambda's genes, the
// GFF3 reads back and passes GenomeTools' validator, -a/-d/--tracks are written; a head trained
// on part of lambda recovers the held-out CDS bases; bad inputs fail with clear errors and leave
// no output behind.
#include "pipelines/annotate.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <tuple>

#include "genomics/genbank_reader.h"
#include "genomics/gff3_reader.h"
#include "genomics/gff3_writer.h"
#include "pipelines/annotated_genome.h"
#include "pipelines/train_head.h"
#include "tests/test_support.h"

namespace strand::pipelines {
namespace {

using test::fixture;
using test::TempDir;

// (strand, stop coordinate): how gene calls are compared with an annotation.
using Stop = std::tuple<char, int64_t>;
constexpr int kMinFound = 14;             // measured: 17 of the 17 CDS in the slice (one pass)
constexpr int kMinFoundSelfTrained = 14;  // self-trained (min 3 genes): measured 17 of the 17, in 17 calls

std::set<Stop> cds_stops(const std::vector<genomics::Feature>& features) {
  std::set<Stop> stops;
  for (const auto& f : features) {
    if (f.type != "CDS" || f.parts.size() != 1) continue;
    const bool minus = f.strand == genomics::Strand::kReverse;
    stops.insert({minus ? '-' : '+', minus ? f.parts[0].beg0 : f.parts[0].end0});
  }
  return stops;
}

// The first `len_bp` bases of phage lambda (examples/lambda.fa), without line breaks.
std::string lambda_bases(size_t len_bp) {
  const std::string lambda = test::read_file(fixture("examples/lambda.fa"));
  std::string bases;
  for (char c : lambda.substr(lambda.find('\n') + 1))
    if (c != '\n' && bases.size() < len_bp) bases += c;
  return bases;
}

// The first kSliceBp bases of phage lambda as FASTA, and its CDS lying wholly inside them as GFF3
// (from the GenBank file): small enough for the sanitizer builds, real genes all the same.
constexpr int64_t kSliceBp = 12000;
struct LambdaSlice {
  std::string fasta, gff3;
  int64_t len = 0;  // kSliceBp or a little more
  std::vector<genomics::Feature> cds;
  explicit LambdaSlice(const TempDir& dir) {
    genomics::GenbankRecord rec = genomics::read_genbank(fixture("annotation/lambda.gbk").string()).at(0);
    fasta = (dir / "lambda_slice.fa").string();
    gff3 = (dir / "lambda_slice.gff3").string();
    // End the slice at the first base from kSliceBp on that no CDS covers, so that no gene is cut
    // (a cut gene's bases would be labelled intergenic).
    len = kSliceBp;
    for (bool covered = true; covered; len += covered ? 1 : 0) {
      covered = false;
      for (const auto& f : rec.features)
        if (f.type == "CDS" && f.beg0() <= len && len < f.end0()) covered = true;
    }
    test::write_file(fasta, ">" + rec.name + "\n" + rec.seq.substr(0, static_cast<size_t>(len)) + "\n");
    std::string text = "##gff-version 3\n";
    for (auto& f : rec.features) {
      if (f.type != "CDS" || f.end0() > len) continue;
      f.parents.clear();
      text += genomics::format_gff3(f) + "\n";
      cds.push_back(f);
    }
    test::write_file(gff3, text);
  }
};

TEST(Annotate, ShippedModelFindsLambdaGenesAndWritesEveryOutput) {
  TempDir dir;
  const LambdaSlice slice(dir);
  AnnotateOptions o;
  o.input = slice.fasta;
  o.output.path = (dir / "genes.gff3").string();
  o.proteins = (dir / "proteins.faa").string();
  o.genes = (dir / "genes.fna").string();
  o.tracks_prefix = (dir / "lambda").string();
  o.track_format = TrackFormat::kBedGraph;
  o.command_line = "annotate_test";
  const AnnotateSummary summary = run_annotate(o);
  EXPECT_EQ(summary.contigs, 1);
  EXPECT_EQ(summary.bases, slice.len);

  const genomics::Gff3Document doc = genomics::read_gff3(o.output.path);
  int64_t genes = 0, cds = 0;
  for (const auto& f : doc.features) {
    genes += f.type == "gene";
    if (f.type != "CDS") continue;
    ++cds;
    ASSERT_EQ(f.parents.size(), 1u);
    EXPECT_EQ(f.phase, 0);
    ASSERT_TRUE(f.score.has_value());
    EXPECT_EQ((f.parts[0].end0 - f.parts[0].beg0) % 3, 0) << f.id;
    // The score's parts add up to it (each rounded to 0.01).
    double parts = 0.0;
    int found = 0;
    for (const auto& [key, value] : f.attributes)
      if (key == "coding_score" || key == "length_score" || key == "start_score") parts += std::stod(value), ++found;
    EXPECT_EQ(found, 3) << f.id;
    EXPECT_NEAR(parts, *f.score, 0.021) << f.id;
  }
  EXPECT_EQ(genes, summary.genes);
  EXPECT_EQ(cds, summary.genes);
  ASSERT_EQ(doc.sequence_regions.size(), 1u);
  EXPECT_EQ(doc.sequence_regions[0].length, slice.len);

  // Lambda's annotated genes, matched by stop codon: the shipped head finds most of them and
  // calls few others.
  const std::set<Stop> truth = cds_stops(slice.cds);
  const std::set<Stop> called = cds_stops(doc.features);
  int matched = 0;
  for (const auto& st : called) matched += truth.count(st) ? 1 : 0;
  EXPECT_GE(matched, kMinFound) << "of " << truth.size() << " lambda CDS";
  EXPECT_GE(static_cast<double>(matched) / static_cast<double>(called.size()), 0.85);

  // One FASTA record per gene in -a and -d; proteins start with M and end before the stop.
  const std::string faa = test::read_file(o.proteins), fna = test::read_file(o.genes);
  EXPECT_EQ(static_cast<int64_t>(std::count(faa.begin(), faa.end(), '>')), summary.genes);
  EXPECT_EQ(static_cast<int64_t>(std::count(fna.begin(), fna.end(), '>')), summary.genes);
  EXPECT_EQ(faa.find('*'), std::string::npos);
  // One bedGraph per head class.
  int tracks = 0;
  for (const auto& name : dir.list()) tracks += name.ends_with(".bedGraph");
  EXPECT_EQ(tracks, 11);

  if (std::system("command -v gt > /dev/null 2>&1") == 0) {
    const auto r = test::run_command("gt gff3validator '" + o.output.path + "' 2>&1");
    EXPECT_EQ(r.exit_code, 0) << r.out;
  }
}

TEST(TrainHead, RecoversHeldOutLambdaCds) {
  TempDir dir;
  const LambdaSlice slice(dir);
  TrainHeadOptions o;
  o.model = "bacteria-ps";
  o.fasta = {slice.fasta};
  o.gff = {slice.gff3};
  o.holdout_fraction = 0.25;  // one contig: the default holdout takes its last quarter
  o.train_bases = 15000;
  o.epochs = 8;
  o.seed = 3;
  o.output.path = (dir / "head.safetensors").string();
  const HeadMetrics m = run_train_head(o);
  ASSERT_GT(m.rows, 2000);
  // The last quarter of the slice, never trained on: coding bases are found.
  const double recall = static_cast<double>(m.coding_tp) / static_cast<double>(m.coding_tp + m.coding_fn);
  const double precision = static_cast<double>(m.coding_tp) / static_cast<double>(m.coding_tp + m.coding_fp);
  EXPECT_GT(recall, 0.8);
  EXPECT_GT(precision, 0.8);
  // ... and in the right frame on the right strand (measured 0.95; 1/3 would be chance).
  EXPECT_GT(static_cast<double>(m.correct) / static_cast<double>(m.rows), 0.8);
  // The head belongs to this backbone, and to no other.
  const AnnotationHead head = AnnotationHead::load(o.output.path, "");
  EXPECT_EQ(head.metadata().at("backbone_sha256").size(), 64u);
  const std::string& training = head.metadata().at("training");
  EXPECT_NE(training.find("\"region split (no contig fits 25 % of the bases)"), std::string::npos) << training;
  // Asked for whole contigs, a one-contig genome has none to hold out (before any embedding).
  TrainHeadOptions whole = o;
  whole.holdout = Holdout::kContig;
  whole.output.path = (dir / "whole.safetensors").string();
  test::expect_error([&] { run_train_head(whole); }, {"--holdout contig", "--holdout region"});
  AnnotateOptions a;
  a.input = fixture("examples/lambda.fa").string();
  a.model = fixture("golden/ps").string();
  a.head = o.output.path;
  a.output.path = (dir / "genes.gff3").string();
  test::expect_error([&] { run_annotate(a); }, {"head.safetensors", "another backbone"});
  EXPECT_EQ(dir.list(), (std::vector<std::string>{"head.safetensors", "lambda_slice.fa", "lambda_slice.gff3"}));
}

TEST(TrainHead, GffNamingAContigAbsentFromTheFastaIsAnError) {
  TempDir dir;
  test::write_file(dir / "g.fa", ">chr1\nACGTACGTACGT\n");
  test::write_file(dir / "g.gff3", "##gff-version 3\nchr2\tx\tCDS\t1\t6\t.\t+\t0\tID=a\n");
  test::expect_error([&] { read_annotated_genomes({}, {(dir / "g.fa").string()}, {(dir / "g.gff3").string()}); },
                     {"g.gff3", "'chr2'", "g.fa"});
  test::write_file(dir / "h.gff3", "##gff-version 3\nchr1\tx\tCDS\t4\t30\t.\t+\t0\tID=b\n");
  test::expect_error([&] { read_annotated_genomes({}, {(dir / "g.fa").string()}, {(dir / "h.gff3").string()}); },
                     {"h.gff3", "outside contig 'chr1'"});
  TrainHeadOptions o;
  o.model = "bacteria-ps";
  o.fasta = {(dir / "g.fa").string()};
  o.gff = {(dir / "g.gff3").string()};
  o.output.path = (dir / "head.safetensors").string();
  test::expect_error([&] { run_train_head(o); }, {"'chr2'"});
  for (const auto& name : dir.list()) EXPECT_EQ(name.find("head"), std::string::npos) << name;
}

// Empty records are skipped (they have no ##sequence-region or track values), tracks still come
// out; a record name given twice is an error (gene IDs would repeat) and leaves no output.
TEST(Annotate, EmptyRecordsAndRepeatedNames) {
  TempDir dir;
  const std::string bases = lambda_bases(3000) + '\n';
  test::write_file(dir / "in.fa", ">empty\n>piece\n" + bases);
  AnnotateOptions o;
  o.input = (dir / "in.fa").string();
  o.output.path = (dir / "genes.gff3").string();
  o.tracks_prefix = (dir / "t").string();
  const AnnotateSummary summary = run_annotate(o);
  EXPECT_EQ(summary.contigs, 2);
  EXPECT_EQ(summary.bases, 3000);
  const genomics::Gff3Document doc = genomics::read_gff3(o.output.path);
  ASSERT_EQ(doc.sequence_regions.size(), 1u);
  EXPECT_EQ(doc.sequence_regions[0].name, "piece");
  int tracks = 0;
  for (const auto& name : dir.list()) tracks += name.ends_with(".bw");
  EXPECT_EQ(tracks, 11);

  TempDir dup;
  test::write_file(dup / "in.fa", ">a\n" + bases + ">a\n" + bases);
  o.input = (dup / "in.fa").string();
  o.output.path = (dup / "genes.gff3").string();
  o.tracks_prefix.clear();
  test::expect_error([&] { run_annotate(o); }, {"in.fa", "'a'", "more than once"});
  EXPECT_EQ(dup.list(), std::vector<std::string>{"in.fa"});
}

// --from-tracks: the class tracks of one run give the next one its probabilities without the
// model. Values are rounded to 0.001 in the tracks, which leaves these calls unchanged; tracks
// missing, of another genome or without a value for a base are errors that name the file.
TEST(Annotate, FromTracksCallsGenesAgainWithoutTheModel) {
  TempDir dir;
  const std::string bases = lambda_bases(6000);
  test::write_file(dir / "in.fa", ">piece\n" + bases + "\n");
  AnnotateOptions o;
  o.input = (dir / "in.fa").string();
  o.output.path = (dir / "model.gff3").string();
  o.tracks_prefix = (dir / "t").string();
  o.write_provenance = false;
  const AnnotateSummary from_model = run_annotate(o);
  ASSERT_GT(from_model.genes, 0);

  AnnotateOptions again = o;
  again.tracks_prefix.clear();
  again.from_tracks = (dir / "t").string();
  again.output.path = (dir / "tracks.gff3").string();
  const AnnotateSummary from_tracks = run_annotate(again);
  EXPECT_EQ(from_tracks.genes, from_model.genes);
  const genomics::Gff3Document a = genomics::read_gff3(o.output.path), b = genomics::read_gff3(again.output.path);
  EXPECT_EQ(cds_stops(a.features), cds_stops(b.features));

  // A genome the tracks do not cover: named contig, nothing written.
  test::write_file(dir / "other.fa", ">other\n" + bases + "\n");
  again.input = (dir / "other.fa").string();
  again.output.path = (dir / "other.gff3").string();
  test::expect_error([&] { run_annotate(again); }, {"--from-tracks", "t.intergenic.bw", "no contig 'other'"});
  EXPECT_FALSE(std::filesystem::exists(dir / "other.gff3"));
  // A longer record than the tracks hold.
  test::write_file(dir / "longer.fa", ">piece\n" + bases + bases + "\n");
  again.input = (dir / "longer.fa").string();
  test::expect_error([&] { run_annotate(again); }, {"--from-tracks", "'piece'", "6000 bases"});
  // A shorter record of the same name: the tracks are of another assembly.
  test::write_file(dir / "shorter.fa", ">piece\n" + bases.substr(0, 3000) + "\n");
  again.input = (dir / "shorter.fa").string();
  test::expect_error([&] { run_annotate(again); }, {"--from-tracks", "'piece' 6000 bases, the genome 3000"});
  // Tiling asks for a model run that does not happen.
  again.tiling.window = 2000;
  test::expect_error([&] { run_annotate(again); }, {"--window/--overlap", "--from-tracks"});
  again.tiling = TilingOptions();
  // A missing track file fails before any work.
  std::filesystem::remove(dir / "t.CDS_codon2_minus.bw");
  again.input = (dir / "in.fa").string();
  test::expect_error([&] { run_annotate(again); }, {"t.CDS_codon2_minus.bw"});
  EXPECT_FALSE(std::filesystem::exists(dir / "other.gff3"));
}

// The self-training passes end to end on the CPU (the shipped genomes that reach 200 training
// genes take minutes there): with the minimum lowered, lambda's slice is called again with its
// own codon-pair and start-site statistics. The calls stay valid genes of the slice (whole
// codons, overlaps within the bound), the pragma records the rounds, and lambda's genes are
// still found; with the default minimum, or without self-training, the first pass is the
// result, with the first pass's settings.
TEST(Annotate, SelfTrainingPassesRunEndToEnd) {
  TempDir dir;
  const LambdaSlice slice(dir);
  AnnotateOptions o;
  o.input = slice.fasta;
  o.output.path = (dir / "first.gff3").string();
  o.tracks_prefix = (dir / "t").string();
  run_annotate(o);
  // The gene caller's provenance line of a GFF3 file.
  const auto pragma_of = [](const std::string& path) {
    const std::string text = test::read_file(path);
    const size_t at = text.find("#!strand-gene-caller");
    return at == std::string::npos ? std::string() : text.substr(at, text.find('\n', at) - at);
  };
  EXPECT_NE(pragma_of(o.output.path).find("self_train=skipped ("), std::string::npos) << pragma_of(o.output.path);

  AnnotateOptions self = o;
  self.tracks_prefix.clear();
  self.from_tracks = (dir / "t").string();
  self.output.path = (dir / "self.gff3").string();
  self.min_self_train_genes = 3;
  const AnnotateSummary summary = run_annotate(self);
  const genomics::Gff3Document doc = genomics::read_gff3(self.output.path);
  const std::string pragma = pragma_of(self.output.path);
  EXPECT_NE(pragma.find("self_train=rounds=2"), std::string::npos) << pragma;
  EXPECT_NE(pragma.find("operon_weight=12 "), std::string::npos) << pragma;

  std::vector<genomics::Feature> cds;
  for (const auto& f : doc.features)
    if (f.type == "CDS") cds.push_back(f);
  ASSERT_EQ(static_cast<int64_t>(cds.size()), summary.genes);
  std::sort(cds.begin(), cds.end(), [](const auto& a, const auto& b) { return a.beg0() < b.beg0(); });
  for (size_t i = 0; i < cds.size(); ++i) {
    EXPECT_EQ((cds[i].end0() - cds[i].beg0()) % 3, 0) << cds[i].id;
    EXPECT_GE(cds[i].end0() - cds[i].beg0(), self.genes_options.min_gene_len_bp) << cds[i].id;
    EXPECT_LE(cds[i].end0(), slice.len) << cds[i].id;
    for (size_t j = i + 1; j < cds.size() && cds[j].beg0() < cds[i].end0(); ++j)
      EXPECT_LE(std::min(cds[i].end0(), cds[j].end0()) - cds[j].beg0(), self.genes_options.max_overlap_bp)
          << cds[i].id << " and " << cds[j].id;
  }
  const std::set<Stop> truth = cds_stops(slice.cds);
  int matched = 0;
  for (const auto& st : cds_stops(doc.features)) matched += truth.count(st) ? 1 : 0;
  EXPECT_GE(matched, kMinFoundSelfTrained) << "of " << truth.size() << " lambda CDS, " << cds.size() << " calls";
  EXPECT_GE(static_cast<double>(matched) / static_cast<double>(cds.size()), 0.85);

  // The same run again gives the same genes (the passes are deterministic).
  self.output.path = (dir / "again.gff3").string();
  run_annotate(self);
  EXPECT_EQ(cds_stops(genomics::read_gff3(self.output.path).features), cds_stops(doc.features));

  // Without self-training the one pass is the first pass, with its settings.
  AnnotateOptions one = self;
  one.self_train = false;
  one.output.path = (dir / "one.gff3").string();
  run_annotate(one);
  const std::string one_pragma = pragma_of(one.output.path);
  EXPECT_NE(one_pragma.find(cat("min_score=", one.first_pass.min_score, " ")), std::string::npos) << one_pragma;
  EXPECT_NE(one_pragma.find("self_train=off"), std::string::npos) << one_pragma;
  EXPECT_EQ(cds_stops(genomics::read_gff3(one.output.path).features),
            cds_stops(genomics::read_gff3(o.output.path).features));  // = the skipped self-training run
}

TEST(Annotate, ModelWithoutAHeadIsAnError) {
  TempDir dir;
  AnnotateOptions a;
  a.input = fixture("examples/lambda.fa").string();
  a.model = fixture("golden/ps").string();
  a.output.path = (dir / "genes.gff3").string();
  test::expect_error([&] { run_annotate(a); }, {"no annotation head", "train-head"});
  EXPECT_TRUE(dir.list().empty());
}

}  // namespace
}  // namespace strand::pipelines
