// Tests of genomics/orf_finder: designed contigs (nested starts, minus-strand coordinates,
// genes across contig ends, opposite-strand overlaps, N runs, tiny contigs, lower case), a
// brute-force cross-check on random contigs, and every CDS of phage lambda (shared GenBank
// file) found as an ORF with its stop and annotated start.
#include "genomics/orf_finder.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <random>
#include <string>
#include <tuple>

#include "core/error.h"
#include "genomics/genbank_reader.h"
#include "genomics/nucleotide.h"
#include "tests/test_support.h"

namespace strand::genomics {
namespace {

std::vector<Orf> orfs_of(std::string_view seq, int64_t min_len_bp, bool allow_partial = true, int table = 11,
                         int min_gap_run = 3) {
  OrfOptions options;
  options.code = &GeneticCode::ncbi(table);
  options.min_len_bp = min_len_bp;
  options.allow_partial = allow_partial;
  options.min_gap_run = min_gap_run;
  return find_orfs(seq, options);
}

// The ORF on `strand` whose stop end is `stop_end` (end0 on +, beg0 on −), or nullptr.
const Orf* with_stop(const std::vector<Orf>& orfs, Strand strand, int64_t stop_end) {
  for (const Orf& o : orfs)
    if (o.strand == strand && (strand == Strand::kForward ? o.end0 : o.beg0) == stop_end) return &o;
  return nullptr;
}

std::string repeat(std::string_view unit, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += unit;
  return out;
}

// "TAACCC" ATG GCCx3 GTG GCCx3 TTG GCCx2 TAA "CCC": a + ORF [6, 42) with starts 6, 18, 30.
const std::string kNested =
    "TAACCC"
    "ATG"
    "GCCGCCGCC"
    "GTG"
    "GCCGCCGCC"
    "TTG"
    "GCCGCC"
    "TAA"
    "CCC";

TEST(OrfFinder, ForwardOrfWithNestedStarts) {
  ASSERT_EQ(kNested.size(), 45u);
  const auto orfs = orfs_of(kNested, 6);
  const Orf* orf = with_stop(orfs, Strand::kForward, 42);
  ASSERT_NE(orf, nullptr);
  EXPECT_EQ(orf->beg0, 6);
  EXPECT_EQ(orf->end0, 42);
  EXPECT_FALSE(orf->partial5);
  EXPECT_FALSE(orf->partial3);
  EXPECT_EQ(orf->starts, (std::vector<int64_t>{6, 18, 30}));
  EXPECT_EQ(orf->gene_len_bp(0), 36);
  EXPECT_EQ(orf->gene_len_bp(2), 12);
  // The minimum length drops the short starts, then the ORF.
  const auto min20 = orfs_of(kNested, 20), min36 = orfs_of(kNested, 36), min37 = orfs_of(kNested, 37);
  ASSERT_NE(with_stop(min20, Strand::kForward, 42), nullptr);
  EXPECT_EQ(with_stop(min20, Strand::kForward, 42)->starts, (std::vector<int64_t>{6, 18}));
  ASSERT_NE(with_stop(min36, Strand::kForward, 42), nullptr);
  EXPECT_EQ(with_stop(min36, Strand::kForward, 42)->starts, (std::vector<int64_t>{6}));
  EXPECT_EQ(with_stop(min37, Strand::kForward, 42), nullptr);
}

TEST(OrfFinder, MinusStrandCoordinates) {
  // The reverse complement puts the same ORF on −: forward [45-42, 45-6) = [3, 39), starts at
  // 45-1-6 = 38, 26, 14 (each the start codon's last forward base).
  const std::string rc = reverse_complement(kNested);
  const auto orfs = orfs_of(rc, 6);
  const Orf* orf = with_stop(orfs, Strand::kReverse, 3);
  ASSERT_NE(orf, nullptr);
  EXPECT_EQ(orf->beg0, 3);
  EXPECT_EQ(orf->end0, 39);
  EXPECT_FALSE(orf->partial5);
  EXPECT_FALSE(orf->partial3);
  EXPECT_EQ(orf->starts, (std::vector<int64_t>{38, 26, 14}));
  EXPECT_EQ(rc.substr(36, 3), "CAT");  // ATG read on −
  EXPECT_EQ(rc.substr(3, 3), "TTA");   // TAA read on −
  EXPECT_EQ(orf->gene_len_bp(1), 24);
  // Both strands give the same ORF list, mirrored.
  const auto fwd = orfs_of(kNested, 6);
  ASSERT_EQ(fwd.size(), orfs.size());
  for (const Orf& f : fwd) {
    const Strand other = f.strand == Strand::kForward ? Strand::kReverse : Strand::kForward;
    const auto it = std::find_if(orfs.begin(), orfs.end(), [&](const Orf& o) {
      return o.strand == other && o.beg0 == 45 - f.end0 && o.end0 == 45 - f.beg0;
    });
    ASSERT_NE(it, orfs.end());
    EXPECT_EQ(it->partial5, f.partial5);
    EXPECT_EQ(it->partial3, f.partial3);
    ASSERT_EQ(it->starts.size(), f.starts.size());
    for (size_t i = 0; i < f.starts.size(); ++i) EXPECT_EQ(it->starts[i], 44 - f.starts[i]);
  }
}

TEST(OrfFinder, GenesAcrossContigEnds) {
  // Frame 0 of +: a gene tail (no start, no upstream stop) ending at TAA [15, 18), then a gene
  // head from ATG at 21 running off the right end (last complete codon ends at 36; 37 bases).
  const std::string seq = repeat("GCC", 5) + "TAA" + "CCC" + "ATG" + repeat("GCC", 4) + "G";
  ASSERT_EQ(seq.size(), 37u);
  const auto orfs = orfs_of(seq, 9);
  const Orf* tail = with_stop(orfs, Strand::kForward, 18);
  ASSERT_NE(tail, nullptr);
  EXPECT_EQ(tail->beg0, 0);
  EXPECT_TRUE(tail->partial5);
  EXPECT_FALSE(tail->partial3);
  EXPECT_EQ(tail->starts, (std::vector<int64_t>{0}));  // the edge start only
  const Orf* head = with_stop(orfs, Strand::kForward, 36);
  ASSERT_NE(head, nullptr);
  EXPECT_EQ(head->beg0, 21);
  EXPECT_FALSE(head->partial5);
  EXPECT_TRUE(head->partial3);
  EXPECT_EQ(head->starts, (std::vector<int64_t>{21}));

  // The same contig reverse-complemented: the tail is at the right end on −, the head on the left.
  const std::string rc = reverse_complement(seq);
  const auto rorfs = orfs_of(rc, 9);
  const Orf* rtail = with_stop(rorfs, Strand::kReverse, 37 - 18);
  ASSERT_NE(rtail, nullptr);
  EXPECT_EQ(rtail->end0, 37);
  EXPECT_TRUE(rtail->partial5);
  EXPECT_FALSE(rtail->partial3);
  EXPECT_EQ(rtail->starts, (std::vector<int64_t>{36}));
  const Orf* rhead = with_stop(rorfs, Strand::kReverse, 1);
  ASSERT_NE(rhead, nullptr);
  EXPECT_EQ(rhead->end0, 37 - 21);
  EXPECT_TRUE(rhead->partial3);
  EXPECT_FALSE(rhead->partial5);
  EXPECT_EQ(rhead->starts, (std::vector<int64_t>{15}));

  // Without partial ORFs: the tail has no start codon (gone), the head has no stop (gone).
  const auto closed = orfs_of(seq, 9, /*allow_partial=*/false);
  EXPECT_EQ(with_stop(closed, Strand::kForward, 18), nullptr);
  EXPECT_EQ(with_stop(closed, Strand::kForward, 36), nullptr);
  for (const Orf& o : closed) {
    EXPECT_FALSE(o.partial5);
    EXPECT_FALSE(o.partial3);
  }
}

TEST(OrfFinder, OpenStretchWithStartCodons) {
  // No stop in frame 0 before TAG at 24: the edge start, then the ATG at 9 and the GTG at 15.
  const std::string seq =
      "GCCGCCGCC"
      "ATG"
      "GCC"
      "GTG"
      "GCCGCC"
      "TAG"
      "C";
  const auto orfs = orfs_of(seq, 6);
  const Orf* orf = with_stop(orfs, Strand::kForward, 27);
  ASSERT_NE(orf, nullptr);
  EXPECT_TRUE(orf->partial5);
  EXPECT_EQ(orf->beg0, 0);
  EXPECT_EQ(orf->starts, (std::vector<int64_t>{0, 9, 15}));
  // Without partial ORFs the same stretch is a complete ORF from its first start codon.
  const auto closed_orfs = orfs_of(seq, 6, false);
  const Orf* closed = with_stop(closed_orfs, Strand::kForward, 27);
  ASSERT_NE(closed, nullptr);
  EXPECT_FALSE(closed->partial5);
  EXPECT_EQ(closed->beg0, 9);
  EXPECT_EQ(closed->starts, (std::vector<int64_t>{9, 15}));
  // An edge codon that is itself a start codon is listed once, as the edge start.
  const auto edge_orfs = orfs_of("ATGGCCGCCTAA", 6);
  const Orf* atg_edge = with_stop(edge_orfs, Strand::kForward, 12);
  ASSERT_NE(atg_edge, nullptr);
  EXPECT_TRUE(atg_edge->partial5);
  EXPECT_EQ(atg_edge->starts, (std::vector<int64_t>{0}));
}

TEST(OrfFinder, OverlappingGenesOnOppositeStrands) {
  // + gene: ATG at 3, reading GCC x8, then through the − gene's bases (TCA TGC x6 CAT, no
  // stop in this frame) to TAA at [54, 57). − gene: reverse complement of ATG GCA x6 TGA at
  // [30, 54): start codon's first base at 53, stop at [30, 33).
  const std::string minus_gene = reverse_complement("ATG" + repeat("GCA", 6) + "TGA");
  ASSERT_EQ(minus_gene, "TCATGCTGCTGCTGCTGCTGCCAT");
  const std::string seq =
      "TAA"
      "ATG" +
      repeat("GCC", 8) + minus_gene + "TAATTT";
  ASSERT_EQ(seq.size(), 60u);
  const auto orfs = orfs_of(seq, 18, /*allow_partial=*/false);
  const Orf* minus = with_stop(orfs, Strand::kReverse, 30);
  ASSERT_NE(minus, nullptr);
  EXPECT_EQ(minus->end0, 54);
  EXPECT_EQ(minus->starts, (std::vector<int64_t>{53}));
  EXPECT_FALSE(minus->partial5);
  EXPECT_FALSE(minus->partial3);
  const Orf* plus = with_stop(orfs, Strand::kForward, 57);
  ASSERT_NE(plus, nullptr);
  EXPECT_EQ(plus->beg0, 3);
  EXPECT_EQ(plus->starts, (std::vector<int64_t>{3}));
  // 24 bases of overlap, both reported.
  EXPECT_EQ(std::min(plus->end0, minus->end0) - std::max(plus->beg0, minus->beg0), 24);
}

TEST(OrfFinder, GapRunsBreakOrfsSingleNsAreReadThrough) {
  const std::string left =
      "TAA"
      "ATG" +
      repeat("GCC", 6);                                // 24 bases, no stop after ATG
  const std::string right = repeat("GCC", 6) + "TAA";  // 21 bases
  // A single N inside a codon: read through, one ORF from ATG at 3 to TAA.
  const std::string one_n = left + "GNC" + right;
  const auto one_n_orfs = orfs_of(one_n, 9);
  const Orf* through = with_stop(one_n_orfs, Strand::kForward, 48);
  ASSERT_NE(through, nullptr);
  EXPECT_EQ(through->beg0, 3);
  EXPECT_FALSE(through->partial5);
  EXPECT_FALSE(through->partial3);
  // A run of 5 Ns: the left part runs into the gap (3'-partial, ends at its last complete
  // codon before the gap), the right part starts at the gap (5'-partial, edge at 29).
  const std::string gap = left + "NNNNN" + right;
  const auto orfs = orfs_of(gap, 9);
  const Orf* before = with_stop(orfs, Strand::kForward, 24);
  ASSERT_NE(before, nullptr);
  EXPECT_EQ(before->beg0, 3);
  EXPECT_TRUE(before->partial3);
  EXPECT_FALSE(before->partial5);
  const Orf* after = with_stop(orfs, Strand::kForward, 50);
  ASSERT_NE(after, nullptr);
  EXPECT_EQ(after->beg0, 29);
  EXPECT_TRUE(after->partial5);
  EXPECT_FALSE(after->partial3);
  EXPECT_EQ(after->starts, (std::vector<int64_t>{29}));
  for (const Orf& o : orfs) EXPECT_TRUE(o.end0 <= 24 || o.beg0 >= 29) << o.beg0 << "-" << o.end0;
  // Exactly NNN: a gap with min_gap_run 3, read through with min_gap_run 4.
  const std::string three = left + "NNN" + right;
  const auto gap3 = orfs_of(three, 9, true, 11, 3), gap4 = orfs_of(three, 9, true, 11, 4);
  EXPECT_NE(with_stop(gap3, Strand::kForward, 24), nullptr);
  ASSERT_NE(with_stop(gap3, Strand::kForward, 48), nullptr);
  EXPECT_TRUE(with_stop(gap3, Strand::kForward, 48)->partial5);
  const Orf* read = with_stop(gap4, Strand::kForward, 48);
  ASSERT_NE(read, nullptr);
  EXPECT_EQ(read->beg0, 3);
  EXPECT_FALSE(read->partial5);
  // IUPAC codes count as non-ACGT too.
  EXPECT_NE(with_stop(orfs_of(left + "RYKMS" + right, 9), Strand::kForward, 24), nullptr);
}

TEST(OrfFinder, TinyContigs) {
  for (const std::string seq : {"", "A", "AT", "NNN"}) EXPECT_TRUE(orfs_of(seq, 3).empty()) << seq;
  EXPECT_TRUE(orfs_of("ATG", 90).empty());
  // "ATG" with a 3-bp minimum: a codon open at both ends, on each strand (− reads CAT).
  const auto atg = orfs_of("ATG", 3);
  ASSERT_EQ(atg.size(), 2u);
  EXPECT_EQ(atg[0].strand, Strand::kForward);
  EXPECT_EQ(atg[0].beg0, 0);
  EXPECT_EQ(atg[0].end0, 3);
  EXPECT_TRUE(atg[0].partial5 && atg[0].partial3);
  EXPECT_EQ(atg[0].starts, (std::vector<int64_t>{0}));
  EXPECT_EQ(atg[1].strand, Strand::kReverse);
  EXPECT_EQ(atg[1].starts, (std::vector<int64_t>{2}));
  // "TAA": a lone stop is no ORF on +; − reads TTA (Leu), open at both ends.
  const auto taa = orfs_of("TAA", 3);
  ASSERT_EQ(taa.size(), 1u);
  EXPECT_EQ(taa[0].strand, Strand::kReverse);
  EXPECT_TRUE(taa[0].partial5 && taa[0].partial3);
  EXPECT_TRUE(orfs_of("TAA", 3, /*allow_partial=*/false).empty());
}

TEST(OrfFinder, LowerCaseGivesTheSameOrfs) {
  std::string lower = kNested;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](char c) { return static_cast<char>(std::tolower(c)); });
  const auto a = orfs_of(kNested, 6), b = orfs_of(lower, 6);
  ASSERT_EQ(a.size(), b.size());
  ASSERT_FALSE(a.empty());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].beg0, b[i].beg0);
    EXPECT_EQ(a[i].end0, b[i].end0);
    EXPECT_EQ(a[i].strand, b[i].strand);
    EXPECT_EQ(a[i].starts, b[i].starts);
  }
  // U reads as T.
  std::string rna = kNested;
  std::replace(rna.begin(), rna.end(), 'T', 'U');
  const auto rna_orfs = orfs_of(rna, 6);
  ASSERT_NE(with_stop(rna_orfs, Strand::kForward, 42), nullptr);
  EXPECT_EQ(with_stop(rna_orfs, Strand::kForward, 42)->starts, (std::vector<int64_t>{6, 18, 30}));
}

TEST(OrfFinder, TableChangesStops) {
  // TGA is a stop in table 11 and tryptophan in table 4 (Mycoplasma).
  const std::string seq =
      "TAA"
      "ATG"
      "GCC"
      "TGA"
      "GCC"
      "GCC"
      "TAA";
  const auto t11_orfs = orfs_of(seq, 6, false, 11), t4_orfs = orfs_of(seq, 6, false, 4);
  EXPECT_NE(with_stop(t11_orfs, Strand::kForward, 12), nullptr);
  EXPECT_EQ(with_stop(t11_orfs, Strand::kForward, 21), nullptr);
  const Orf* t4 = with_stop(t4_orfs, Strand::kForward, 21);
  ASSERT_NE(t4, nullptr);
  EXPECT_EQ(t4->beg0, 3);
}

TEST(OrfFinder, BadOptions) {
  OrfOptions options;
  test::expect_error([&] { find_orfs("ACGT", options); }, {"genetic code"});
  options.code = &GeneticCode::ncbi(11);
  options.min_len_bp = 2;
  test::expect_error([&] { find_orfs("ACGT", options); }, {"minimum ORF length", "2"});
  options.min_len_bp = 90;
  options.min_gap_run = 0;
  test::expect_error([&] { find_orfs("ACGT", options); }, {"gap run", "0"});
}

// Brute force: from every start candidate walk codon by codon to the stop; group by stop.
std::vector<Orf> brute_force(const std::string& seq, int64_t min_len, bool allow_partial, const GeneticCode& code,
                             int min_gap_run) {
  const auto n = static_cast<int64_t>(seq.size());
  std::vector<Orf> out;
  for (const Strand strand : {Strand::kForward, Strand::kReverse}) {
    const std::string s = strand == Strand::kForward ? seq : reverse_complement(seq);
    std::vector<bool> gap(n, false);
    for (int64_t i = 0; i < n;) {
      int64_t j = i;
      while (j < n && GeneticCode::base_code(s[j]) > 3) ++j;
      if (j - i >= min_gap_run)
        for (int64_t k = i; k < j; ++k) gap[k] = true;
      i = j == i ? i + 1 : j;
    }
    auto is_edge_codon = [&](int64_t p) {
      for (int64_t b = p; b > p - 3; --b)
        if (b == 0 || (b > 0 && gap[b - 1] && !gap[b])) return true;
      return false;
    };
    // key (end, partial3) -> starts (strand coordinates) and whether the first is the edge.
    std::map<std::pair<int64_t, bool>, std::pair<std::vector<int64_t>, bool>> groups;
    for (int64_t p = 0; p + 3 <= n; ++p) {
      bool inside = true;
      for (int64_t k = p; k < p + 3; ++k) inside = inside && !gap[k];
      if (!inside) continue;
      bool edge = is_edge_codon(p);
      // An edge codon must have no gap base between the edge and itself.
      const bool real = code.is_start(s.c_str() + p);
      if (!edge && !real) continue;
      if (edge && !allow_partial && !real) continue;
      int64_t q = p;
      bool stopped = false;
      for (; q + 3 <= n && !gap[q] && !gap[q + 1] && !gap[q + 2]; q += 3) {
        if (code.is_stop(s.c_str() + q)) {
          stopped = true;
          break;
        }
      }
      if (stopped && q == p) continue;  // a stop itself
      if (!stopped && !allow_partial) continue;
      const int64_t end = stopped ? q + 3 : q;
      auto& g = groups[{end, !stopped}];
      g.first.push_back(p);
      if (edge && allow_partial) g.second = true;
    }
    for (auto& [key, value] : groups) {
      auto& [starts, has_edge] = value;
      std::sort(starts.begin(), starts.end());
      Orf orf;
      orf.strand = strand;
      orf.partial3 = key.second;
      orf.partial5 = has_edge && key.first - starts.front() >= min_len;
      std::vector<int64_t> kept;
      for (int64_t p : starts)
        if (key.first - p >= min_len) kept.push_back(p);
      if (kept.empty()) continue;
      const int64_t b = kept.front(), e = key.first;
      if (strand == Strand::kForward) {
        orf.beg0 = b;
        orf.end0 = e;
        orf.starts = kept;
      } else {
        orf.beg0 = n - e;
        orf.end0 = n - b;
        for (int64_t p : kept) orf.starts.push_back(n - 1 - p);
      }
      out.push_back(orf);
    }
  }
  std::sort(out.begin(), out.end(), [](const Orf& a, const Orf& b) {
    return std::make_tuple(a.beg0, a.end0, a.strand == Strand::kReverse) <
           std::make_tuple(b.beg0, b.end0, b.strand == Strand::kReverse);
  });
  return out;
}

TEST(OrfFinder, MatchesBruteForceOnRandomContigs) {
  std::mt19937 rng(20240611);
  const std::string alphabet = "ACGTACGTACGTACGTACGTACGTACGTacgtN";
  for (int trial = 0; trial < 40; ++trial) {
    const int len = 200 + static_cast<int>(rng() % 1500);
    std::string seq(len, 'A');
    for (char& c : seq) c = alphabet[rng() % alphabet.size()];
    // A few N runs of 1-6 bases.
    for (int r = 0; r < 3; ++r) {
      const int at = static_cast<int>(rng() % len), run = 1 + static_cast<int>(rng() % 6);
      for (int k = at; k < std::min(len, at + run); ++k) seq[k] = 'N';
    }
    const bool allow_partial = trial % 2 == 0;
    const int table = trial % 3 == 0 ? 4 : 11;
    const int64_t min_len = 9 + 3 * (trial % 10);
    const int gap_run = 2 + trial % 3;
    const auto got = orfs_of(seq, min_len, allow_partial, table, gap_run);
    const auto want = brute_force(seq, min_len, allow_partial, GeneticCode::ncbi(table), gap_run);
    ASSERT_EQ(got.size(), want.size()) << "trial " << trial;
    for (size_t i = 0; i < got.size(); ++i) {
      SCOPED_TRACE(testing::Message() << "trial " << trial << " orf " << i);
      EXPECT_EQ(got[i].beg0, want[i].beg0);
      EXPECT_EQ(got[i].end0, want[i].end0);
      EXPECT_EQ(got[i].strand, want[i].strand);
      EXPECT_EQ(got[i].partial5, want[i].partial5);
      EXPECT_EQ(got[i].partial3, want[i].partial3);
      EXPECT_EQ(got[i].starts, want[i].starts);
    }
  }
}

// Every single-part, non-partial CDS of lambda is an ORF ending at its stop whose candidate
// starts include the annotated start.
TEST(OrfFinder, FindsEveryLambdaCds) {
  STRAND_SHARED_DATA_OR_SKIP(path, "bacteria/lambda/NC_001416.1_lambda.gbk");
  const std::vector<GenbankRecord> records = read_genbank(path.string());
  ASSERT_EQ(records.size(), 1u);
  const GenbankRecord& rec = records[0];
  const GeneticCode& code = GeneticCode::ncbi(11);
  const auto orfs = orfs_of(rec.seq, 60);
  EXPECT_TRUE(std::is_sorted(orfs.begin(), orfs.end(), [](const Orf& a, const Orf& b) {
    return std::make_tuple(a.beg0, a.end0, a.strand == Strand::kReverse) <
           std::make_tuple(b.beg0, b.end0, b.strand == Strand::kReverse);
  }));
  int checked = 0, unknown_codons = 0;
  for (const Feature& f : rec.features) {
    if (f.type != "CDS" || f.parts.size() != 1 || f.parts[0].partial_start || f.parts[0].partial_end) continue;
    SCOPED_TRACE(f.id);
    const FeaturePart& part = f.parts[0];
    const Orf* orf = with_stop(orfs, f.strand, f.strand == Strand::kForward ? part.end0 : part.beg0);
    ASSERT_NE(orf, nullptr);
    EXPECT_FALSE(orf->partial3);
    const int64_t start = f.strand == Strand::kForward ? part.beg0 : part.end0 - 1;
    EXPECT_NE(std::find(orf->starts.begin(), orf->starts.end(), start), orf->starts.end());
    // Its translation from the annotated start is the GenBank /translation.
    std::string nt = rec.seq.substr(part.beg0, part.end0 - part.beg0);
    if (f.strand == Strand::kReverse) nt = reverse_complement(nt);
    std::string protein = code.translate(nt, true);
    ASSERT_EQ(protein.back(), '*');
    protein.pop_back();
    const std::string* want = f.attribute("translation");
    ASSERT_NE(want, nullptr);
    // The genome has two 'n' bases; GenBank's proteins know those residues, the genome does
    // not: our codon is 'X' there. Everything else must match.
    ASSERT_EQ(protein.size(), want->size());
    for (size_t k = 0; k < protein.size(); ++k) {
      if (protein[k] == 'X' && GeneticCode::codon_index(nt.c_str() + 3 * k) == GeneticCode::kUnknownCodon) {
        ++unknown_codons;
        continue;
      }
      EXPECT_EQ(protein[k], (*want)[k]) << "residue " << k;
    }
    ++checked;
  }
  EXPECT_EQ(checked, 73);
  EXPECT_EQ(unknown_codons, 3);  // one n lies in two overlapping CDSs
}

}  // namespace
}  // namespace strand::genomics
