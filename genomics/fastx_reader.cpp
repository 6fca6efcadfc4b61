#include "genomics/fastx_reader.h"

#include <array>
#include <cstring>

#include "core/error.h"
#include "core/text.h"

namespace strand::genomics {
namespace {

// Bytes accepted in sequence lines: any ASCII letter (the tokenizer maps what it does not
// know to [UNK]), '*' and '-'. Everything else (spaces, digits, control or binary bytes)
// means the file is not what it claims to be.
constexpr std::array<bool, 256> make_seq_table() {
  std::array<bool, 256> t{};
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  t['*'] = true;
  t['-'] = true;
  return t;
}
constexpr std::array<bool, 256> kSeqChar = make_seq_table();

// Index of the first byte that is not a sequence character, or npos.
size_t find_bad_seq_char(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  for (size_t i = 0; i < n; ++i)
    if (!kSeqChar[p[i]]) return i;
  return std::string_view::npos;
}

size_t find_bad_qual_char(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i)
    if (s[i] < '!' || s[i] > '~') return i;
  return std::string_view::npos;
}

bool is_blank(std::string_view s) {
  return trim(s).empty();
}

}  // namespace

FastxReader::FastxReader(const std::string& path) : path_(path) {
  fp_ = open_bgzf(path, "r", "sequence input");
  start();
}

FastxReader::FastxReader(BgzfPtr fp, const std::string& path) : path_(path), fp_(std::move(fp)) {
  STRAND_ASSERT(fp_ != nullptr);
  start();
}

void FastxReader::start() {
  // A bgzip file cut at a block boundary decompresses cleanly up to the cut: only the
  // missing end-of-file block tells. (Pipes cannot be checked: bgzf_check_EOF returns 2.)
  if (bgzf_compression(fp_.get()) == 2) {
    const int eof = bgzf_check_EOF(fp_.get());
    if (eof == 0) fail("file '", path_, "' is truncated: the bgzip end-of-file marker is missing");
    if (eof < 0) fail("cannot read file '", path_, "': ", errno_reason());
  }
  if (!read_header_line()) fail("file '", path_, "' is empty (no FASTA or FASTQ records)");
  const std::string_view first = line_.view();
  if (first[0] == '>') {
    format_ = FastxFormat::kFasta;
  } else if (first[0] == '@') {
    format_ = FastxFormat::kFastq;
  } else if (find_bad_seq_char(first) == std::string_view::npos) {
    fail("file '", path_, "' line ", line_no_,
         ": sequence before any header: no '>' header line (FASTA) or '@' (FASTQ)");
  } else {
    fail("file '", path_, "' is not FASTA or FASTQ: line ", line_no_, " starts with ", quote_for_message(first, 20));
  }
  have_line_ = true;
}

bool FastxReader::read_line() {
  const int rc = bgzf_getline(fp_.get(), '\n', line_.get());
  if (rc == -1) return false;
  if (rc < -1) fail("file '", path_, "' line ", line_no_ + 1, ": read error or corrupt/truncated compressed data");
  ++line_no_;
  kstring_t* ks = line_.get();
  if (ks->l > 0 && ks->s[ks->l - 1] == '\r') ks->s[--ks->l] = '\0';
  return true;
}

bool FastxReader::read_header_line() {
  while (read_line())
    if (!is_blank(line_.view())) return true;
  return false;
}

void FastxReader::fail_at(const SeqRecord& rec, const std::string& what) const {
  fail("file '", path_, "' line ", line_no_, " (", format_ == FastxFormat::kFasta ? "record" : "read", " ",
       quote_for_message(rec.name), "): ", what);
}

void FastxReader::parse_header(SeqRecord& rec) {
  // line_ = ">name comment" / "@name comment"
  const std::string_view body = line_.view().substr(1);
  const size_t ws = body.find_first_of(" \t");
  rec.name.assign(body.substr(0, ws));
  rec.comment.clear();
  if (ws != std::string_view::npos) rec.comment.assign(trim(body.substr(ws)));
  if (rec.name.empty())
    fail("file '", path_, "' line ", line_no_, ": header line ", quote_for_message(line_.view()), " has no name");
  rec.contig = rec.name;
  rec.beg0 = 0;
  rec.sam_flag = 0;
}

bool FastxReader::next(SeqRecord& rec) {
  if (!have_line_ && !read_header_line()) return false;
  have_line_ = false;
  const bool ok = format_ == FastxFormat::kFasta ? next_fasta(rec) : next_fastq(rec);
  if (ok) ++records_;
  return ok;
}

bool FastxReader::next_fasta(SeqRecord& rec) {
  if (line_.view()[0] != '>')
    fail("file '", path_, "' line ", line_no_, ": expected a '>' header line, found ",
         quote_for_message(line_.view(), 30));
  parse_header(rec);
  rec.seq.clear();  // keeps the capacity of the previous record
  rec.qual.clear();
  while (read_line()) {
    const std::string_view s = line_.view();
    if (s.empty()) continue;  // blank lines are tolerated
    if (s[0] == '>') {
      have_line_ = true;
      return true;
    }
    const size_t bad = find_bad_seq_char(s);
    if (bad != std::string_view::npos)
      fail_at(rec, cat("invalid sequence character ", quote_for_message(s.substr(bad, 1)), " at column ", bad + 1,
                       " (sequence lines may hold only letters, '*' and '-')"));
    rec.seq.append(s);
  }
  return true;
}

bool FastxReader::next_fastq(SeqRecord& rec) {
  if (line_.view()[0] != '@')
    fail("file '", path_, "' line ", line_no_, ": expected a '@' header line, found ",
         quote_for_message(line_.view(), 30));
  parse_header(rec);
  rec.seq.clear();
  rec.qual.clear();
  // Sequence: one line, or several (wrapped) up to the '+' line. '+' cannot start a
  // sequence line, so the end of a wrapped sequence is unambiguous.
  int seq_lines = 0;
  while (true) {
    if (!read_line()) fail_at(rec, "truncated record: end of file before the '+' line");
    const std::string_view s = line_.view();
    if (!s.empty() && s[0] == '+') break;
    const size_t bad = find_bad_seq_char(s);
    if (bad != std::string_view::npos) {
      const bool looks_like_header = s[0] == '@' && seq_lines > 0;
      fail_at(rec, looks_like_header ? cat("missing '+' line: found ", quote_for_message(s, 30), " after the sequence")
                                     : cat("invalid sequence character ", quote_for_message(s.substr(bad, 1)),
                                           " at column ", bad + 1, " (missing '+' line?)"));
    }
    rec.seq.append(s);
    ++seq_lines;
  }
  // Quality: as many lines as the sequence had. With a one-line sequence the quality must be
  // one line of the same length (so a short quality is reported as such, not merged with the
  // next header); a wrapped sequence takes quality lines until the length is reached.
  rec.qual.reserve(rec.seq.size());
  do {
    if (!read_line()) {
      if (rec.seq.empty() && rec.qual.empty()) return true;  // "@r\n\n+\n" at EOF: empty read
      fail_at(rec, cat("truncated record: end of file in the quality (", rec.qual.size(), " of ", rec.seq.size(),
                       " values)"));
    }
    const std::string_view q = line_.view();
    const size_t bad = find_bad_qual_char(q);
    if (bad != std::string_view::npos)
      fail_at(rec, cat("invalid quality character ", quote_for_message(q.substr(bad, 1)), " at column ", bad + 1));
    rec.qual.append(q);
  } while (seq_lines > 1 && rec.qual.size() < rec.seq.size());
  if (rec.qual.size() != rec.seq.size())
    fail_at(rec, cat("quality length ", rec.qual.size(), " != sequence length ", rec.seq.size()));
  return true;
}

}  // namespace strand::genomics
