// GenBank flat-file reader (INSDC feature table definition 11.x); see genbank_reader.h.
#include "genomics/genbank_reader.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "core/error.h"
#include "core/log.h"
#include "core/text.h"

namespace strand::genomics {

namespace {

// Real locations nest three levels at most (complement(join(complement(..)))); the guard
// keeps hostile input from exhausting the stack.
constexpr int kMaxLocationDepth = 32;
// Bases a record may claim; larger LOCUS lengths are rejected before anything is reserved.
constexpr int64_t kMaxRecordLength = int64_t{1} << 40;

bool is_space(char c) {
  return c == ' ' || c == '\t';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

std::vector<std::string_view> tokens(std::string_view text) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_space(text[i])) ++i;
    const size_t start = i;
    while (i < text.size() && !is_space(text[i])) ++i;
    if (i > start) out.push_back(text.substr(start, i - start));
  }
  return out;
}

size_t leading_spaces(std::string_view line) {
  size_t n = 0;
  while (n < line.size() && line[n] == ' ') ++n;
  return n;
}

// Recursive-descent parser over the location text with whitespace removed.
class LocationParser {
 public:
  LocationParser(std::string text, std::string_view original, int64_t seq_length)
      : text_(std::move(text)), original_(original), seq_length_(seq_length) {}

  InsdcLocation parse() {
    InsdcLocation loc = parse_location(0);
    if (pos_ != text_.size()) error("unexpected text after the location");
    return loc;
  }

 private:
  [[noreturn]] void error(std::string_view what) const {
    fail("malformed location ", quote_for_message(original_, 120), ": ", what, " at character ", pos_ + 1);
  }

  bool consume(std::string_view word) {
    if (text_.compare(pos_, word.size(), word) != 0) return false;
    pos_ += word.size();
    return true;
  }

  void expect(char c) {
    if (pos_ >= text_.size() || text_[pos_] != c)
      error(pos_ >= text_.size() ? cat("expected '", c, "', text ended") : cat("expected '", c, "'"));
    ++pos_;
  }

  int64_t number() {
    const size_t start = pos_;
    int64_t v = 0;
    while (pos_ < text_.size() && is_digit(text_[pos_])) {
      if (pos_ - start >= 15) error("position too large");
      v = v * 10 + (text_[pos_] - '0');
      ++pos_;
    }
    if (pos_ == start) error("expected a position");
    if (v < 1) error("positions start at 1");
    if (v > seq_length_) error(cat("position ", v, " is past the end of the sequence (", seq_length_, " bp)"));
    return v;
  }

  InsdcLocation parse_location(int depth) {
    if (depth > kMaxLocationDepth) error(cat("nested deeper than ", kMaxLocationDepth, " levels"));
    if (consume("complement(")) {
      InsdcLocation inner = parse_location(depth + 1);
      expect(')');
      // The complement strand reads right to left: reverse the parts; '<'/'>' stay on the
      // lower/upper coordinate, as INSDC writes them.
      std::reverse(inner.parts.begin(), inner.parts.end());
      if (inner.strand == Strand::kForward)
        inner.strand = Strand::kReverse;
      else if (inner.strand == Strand::kReverse)
        inner.strand = Strand::kForward;
      return inner;
    }
    if (consume("join(") || consume("order(")) {
      // order() (parts in unknown order) is kept like join(): as listed.
      InsdcLocation out;
      bool first = true;
      while (true) {
        InsdcLocation part = parse_location(depth + 1);
        if (first)
          out.strand = part.strand;
        else if (out.strand != part.strand)
          out.strand = Strand::kUnknown;  // mixed strands: a trans-spliced gene
        first = false;
        out.parts.insert(out.parts.end(), part.parts.begin(), part.parts.end());
        if (pos_ < text_.size() && text_[pos_] == ',') {
          ++pos_;
          continue;
        }
        expect(')');
        return out;
      }
    }
    if (pos_ < text_.size() && !is_digit(text_[pos_]) && text_[pos_] != '<' && text_[pos_] != '>') {
      // Remote references ("AB000001.1:1..10") and unsupported operators (bond, gap, one-of).
      const size_t colon = text_.find(':', pos_);
      if (colon != std::string::npos) error("remote reference to another entry is not supported");
      error("expected a position, complement(), join() or order()");
    }
    return parse_range();
  }

  InsdcLocation parse_range() {
    FeaturePart part;
    bool lower_partial = false, upper_partial = false;
    if (pos_ < text_.size() && (text_[pos_] == '<' || text_[pos_] == '>')) {
      lower_partial = true;
      ++pos_;
    }
    const int64_t a = number();
    if (consume("..")) {
      if (pos_ < text_.size() && (text_[pos_] == '>' || text_[pos_] == '<')) {
        upper_partial = true;
        ++pos_;
      }
      const int64_t b = number();
      if (b < a)
        error(cat("range ", a, "..", b, " ends before it starts (write join(", a, "..", seq_length_, ",1..", b,
                  ") across the origin)"));
      part = {a - 1, b, lower_partial, upper_partial};
    } else if (pos_ < text_.size() && text_[pos_] == '^') {
      // A site between two bases: kept as the base on its left, which is how GFF3 writes a
      // zero-length feature (start = end, the site to the right of the base).
      ++pos_;
      const int64_t b = number();
      if (!(b == a + 1 || (b == 1 && a == seq_length_)))
        error(cat("site ", a, "^", b, " is not between two adjacent bases"));
      part = {a - 1, a, lower_partial, false};
    } else if (pos_ < text_.size() && text_[pos_] == '.') {
      error("a single base within a range (a.b) is not supported");
    } else {
      part = {a - 1, a, lower_partial, lower_partial};
    }
    InsdcLocation loc;
    loc.parts.push_back(part);
    return loc;
  }

  std::string text_;
  std::string_view original_;
  int64_t seq_length_;
  size_t pos_ = 0;
};

}  // namespace

InsdcLocation parse_insdc_location(std::string_view text, int64_t seq_length) {
  std::string compact;
  compact.reserve(text.size());
  for (char c : text)
    if (!is_space(c) && c != '\r' && c != '\n') compact += c;
  if (compact.empty()) fail("empty location");
  return LocationParser(std::move(compact), text, seq_length).parse();
}

// ---- record parser --------------------------------------------------------------------------

struct GenbankParser::State {
  enum class Section { kBetween, kHeader, kFeatures, kOrigin };
  Section section = Section::kBetween;
  uint64_t line_no = 0;
  uint64_t locus_line = 0;
  uint64_t records = 0;
  std::string accession, version;
  std::string last_keyword;  // header keyword that continuation lines belong to
  GenbankRecord rec;
  GenbankRecord done;

  // The feature being read.
  bool in_feature = false;
  std::string key;
  std::string location;
  uint64_t feature_line = 0;
  std::vector<std::pair<std::string, std::string>> qualifiers;
  bool open_quote = false;  // inside a "..." qualifier value spanning lines
  // Raw features of the record, resolved at '//' (ids need the whole record).
  std::vector<Feature> features;
  std::vector<std::string> locus_tags;
};

GenbankParser::GenbankParser(std::string source_name)
    : source_(std::move(source_name)), state_(std::make_shared<State>()) {}

namespace {

// Appends a quoted value's text to `value`, handling "" escapes; sets `open` false at the
// closing quote. Text after the closing quote is ignored.
void append_quoted(std::string& value, std::string_view text, bool& open) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '"') {
      if (i + 1 < text.size() && text[i + 1] == '"') {
        value += '"';
        ++i;
        continue;
      }
      open = false;
      return;
    }
    value += text[i];
  }
}

}  // namespace

bool GenbankParser::parse_line(std::string_view line) {
  State& s = *state_;
  ++s.line_no;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const auto fail_here = [&](auto&&... args) -> void {
    fail(source_, " line ", s.line_no, ": ", std::forward<decltype(args)>(args)...);
  };

  // Ends the feature being read: parses its location and keeps it.
  const auto end_feature = [&]() {
    if (!s.in_feature) return;
    s.in_feature = false;
    if (s.open_quote)
      fail(source_, " line ", s.line_no, ": unterminated quoted qualifier value in the ", s.key, " feature of line ",
           s.feature_line);
    if (s.location.find(':') != std::string::npos) {
      log_warning("genbank", source_, " line ", s.feature_line, ": skipping ", s.key,
                  " feature with a remote location ", quote_for_message(s.location));
      return;
    }
    Feature f;
    try {
      const InsdcLocation loc = parse_insdc_location(s.location, s.rec.length);
      f.parts = loc.parts;
      f.strand = loc.strand;
    } catch (const Error& e) {
      fail(source_, " line ", s.feature_line, ": ", s.key, " feature: ", e.what());
    }
    f.type = s.key;
    f.source = "GenBank";
    std::string locus_tag;
    for (auto& [k, v] : s.qualifiers) {
      if (k == "codon_start" && f.type == "CDS") {
        if (v != "1" && v != "2" && v != "3")
          fail(source_, " line ", s.feature_line, ": CDS /codon_start must be 1, 2 or 3, found ", quote_for_message(v));
        f.phase = v[0] - '1';
      }
      if (k == "locus_tag" && locus_tag.empty()) locus_tag = v;
    }
    if (f.type == "CDS" && !f.phase) f.phase = 0;  // codon_start defaults to 1
    f.attributes = std::move(s.qualifiers);
    s.qualifiers.clear();
    s.features.push_back(std::move(f));
    s.locus_tags.push_back(std::move(locus_tag));
  };

  // Ends the record at "//": checks the sequence, names the features.
  const auto end_record = [&]() {
    end_feature();
    GenbankRecord& r = s.rec;
    if (static_cast<int64_t>(r.seq.size()) != r.length)
      fail_here("record '", r.locus, "' (LOCUS at line ", s.locus_line, ") has ", r.seq.size(),
                " bases of sequence but its LOCUS line says ", r.length, " bp");
    r.name = !s.version.empty() ? s.version : !s.accession.empty() ? s.accession : r.locus;
    // Ids: a gene is its /locus_tag; another feature with the locus_tag of a gene becomes
    // "<locus_tag>.<type>" with the gene as Parent (GFF3 needs one ID per feature); the rest get
    // "<record>.<type>.<n>". Clashes get a ".2", ".3" suffix.
    std::unordered_set<std::string> genes, used;
    for (size_t i = 0; i < s.features.size(); ++i)
      if (s.features[i].type == "gene" && !s.locus_tags[i].empty()) genes.insert(s.locus_tags[i]);
    std::unordered_map<std::string, int> type_count;
    for (size_t i = 0; i < s.features.size(); ++i) {
      Feature& f = s.features[i];
      f.seqid = r.name;
      const std::string& tag = s.locus_tags[i];
      std::string id;
      if (!tag.empty() && f.type == "gene") {
        id = tag;
      } else if (!tag.empty()) {
        id = cat(tag, '.', f.type);
        if (genes.count(tag) != 0) f.parents.push_back(tag);
      } else {
        id = cat(r.name, '.', f.type, '.', ++type_count[f.type]);
      }
      std::string unique = id;
      for (int n = 2; used.count(unique) != 0; ++n) unique = cat(id, '.', n);
      used.insert(unique);
      f.id = std::move(unique);
    }
    r.features = std::move(s.features);
    s.done = std::move(r);
    s.rec = GenbankRecord{};
    s.features.clear();
    s.locus_tags.clear();
    s.section = State::Section::kBetween;
    ++s.records;
    return true;
  };

  if (s.section == State::Section::kBetween) {
    if (trim(line).empty()) return false;
    if (!line.starts_with("LOCUS ") && line != "LOCUS")
      fail_here("expected a LOCUS line to start a GenBank record, found ", quote_for_message(line));
    // LOCUS name length bp [moltype] [linear|circular] [division] [date], by tokens: the
    // column layout differs between writers and long names shift it.
    const std::vector<std::string_view> tok = tokens(line);
    size_t bp = 0;
    for (size_t i = 1; i < tok.size(); ++i)
      if (tok[i] == "bp" || tok[i] == "aa") {
        bp = i;
        break;
      }
    if (bp == 0) fail_here("LOCUS line without a length in 'bp': ", quote_for_message(line));
    if (tok[bp] == "aa") fail_here("LOCUS line of a protein record ('aa'): only nucleotide records are supported");
    if (bp < 3) fail_here("LOCUS line without a name and a length before 'bp': ", quote_for_message(line));
    int64_t length = 0;
    try {
      length = parse_int64(tok[bp - 1], "LOCUS sequence length");
    } catch (const Error& e) {
      fail_here(e.what());
    }
    if (length < 1 || length > kMaxRecordLength) fail_here("LOCUS sequence length ", length, " is out of range");
    s.rec = GenbankRecord{};
    s.rec.locus = std::string(tok[1]);
    s.rec.length = length;
    for (size_t i = bp + 1; i < tok.size(); ++i)
      if (tok[i] == "circular") s.rec.circular = true;
    s.rec.seq.reserve(static_cast<size_t>(std::min<int64_t>(length, int64_t{1} << 24)));
    s.accession.clear();
    s.version.clear();
    s.last_keyword = "LOCUS";
    s.locus_line = s.line_no;
    s.section = State::Section::kHeader;
    return false;
  }

  if (line == "//" || (line.starts_with("//") && trim(line.substr(2)).empty())) return end_record();

  if (s.section == State::Section::kOrigin) {
    // "       61 ctcgcgggtt ttcgctattt ...": the number is the position of the first base.
    size_t i = leading_spaces(line);
    if (i == 0 && !line.empty())
      fail_here("expected a sequence line or '//' in ORIGIN, found ", quote_for_message(line));
    const size_t num_start = i;
    int64_t number = 0;
    while (i < line.size() && is_digit(line[i]) && i - num_start < 15) number = number * 10 + (line[i++] - '0');
    if (i == num_start) {
      if (trim(line).empty()) return false;
      fail_here("sequence line without a position number: ", quote_for_message(line));
    }
    if (number != static_cast<int64_t>(s.rec.seq.size()) + 1)
      fail_here("sequence line starts at position ", number, " but ", s.rec.seq.size(), " bases were read before it");
    for (; i < line.size(); ++i) {
      const char c = line[i];
      if (is_space(c)) continue;
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '*' || c == '-'))
        fail_here("invalid character ", quote_for_message(std::string_view(&line[i], 1)), " in the sequence");
      s.rec.seq += c;
    }
    if (static_cast<int64_t>(s.rec.seq.size()) > s.rec.length)
      fail_here("record '", s.rec.locus, "' has more sequence than its LOCUS length ", s.rec.length);
    return false;
  }

  const size_t indent = leading_spaces(line);
  if (s.section == State::Section::kFeatures && indent > 0) {
    if (indent >= 21) {
      // Continuation: a qualifier, more of a qualifier value, or more of the location.
      const std::string_view text = trim(line);
      if (text.empty()) return false;
      if (!s.in_feature) fail_here("qualifier or location line before any feature key");
      if (s.open_quote) {
        auto& value = s.qualifiers.back().second;
        // Protein sequences are joined as they are; other text is words wrapped at spaces.
        if (s.qualifiers.back().first != "translation" && !value.empty()) value += ' ';
        append_quoted(value, text, s.open_quote);
      } else if (text.front() == '/') {
        const size_t eq = text.find('=');
        std::string qkey(text.substr(1, eq == std::string_view::npos ? std::string_view::npos : eq - 1));
        if (qkey.empty()) fail_here("qualifier without a name: ", quote_for_message(text));
        std::string value;
        if (eq != std::string_view::npos) {
          const std::string_view raw = text.substr(eq + 1);
          if (!raw.empty() && raw.front() == '"') {
            s.open_quote = true;
            append_quoted(value, raw.substr(1), s.open_quote);
          } else {
            value = std::string(raw);
          }
        }
        s.qualifiers.emplace_back(std::move(qkey), std::move(value));
      } else if (s.qualifiers.empty()) {
        s.location += text;  // a location wrapped over several lines
      } else {
        auto& value = s.qualifiers.back().second;
        if (!value.empty()) value += ' ';
        value += text;
      }
      return false;
    }
    // A new feature: key in columns 6-20, location from column 22.
    end_feature();
    const std::vector<std::string_view> tok = tokens(line);
    if (tok.size() < 2) fail_here("feature line needs a key and a location: ", quote_for_message(line));
    s.in_feature = true;
    s.key = std::string(tok[0]);
    s.location.clear();
    for (size_t i = 1; i < tok.size(); ++i) s.location += tok[i];
    s.feature_line = s.line_no;
    s.qualifiers.clear();
    s.open_quote = false;
    return false;
  }

  // Header keywords (also a keyword after FEATURES, e.g. BASE COUNT or CONTIG, ends them).
  if (indent == 0) {
    end_feature();
    const std::vector<std::string_view> tok = tokens(line);
    const std::string_view keyword = tok.empty() ? std::string_view() : tok[0];
    if (keyword == "LOCUS") fail_here("LOCUS line inside record '", s.rec.locus, "' (missing '//' before it?)");
    if (keyword == "FEATURES") {
      s.section = State::Section::kFeatures;
    } else if (keyword == "ORIGIN") {
      s.section = State::Section::kOrigin;
    } else {
      s.section = State::Section::kHeader;
      if (keyword == "DEFINITION") s.rec.definition = std::string(trim(line.substr(std::min<size_t>(line.size(), 10))));
      if (keyword == "ACCESSION" && tok.size() > 1) s.accession = std::string(tok[1]);
      if (keyword == "VERSION" && tok.size() > 1) s.version = std::string(tok[1]);
    }
    s.last_keyword = std::string(keyword);
    return false;
  }
  // An indented header line: a sub-keyword (ORGANISM, AUTHORS) or a continuation.
  if (s.section == State::Section::kHeader && s.last_keyword == "DEFINITION" && indent >= 10) {
    s.rec.definition += ' ';
    s.rec.definition += trim(line);
  } else if (indent < 10 && !trim(line).empty()) {
    s.last_keyword = std::string(tokens(line)[0]);
  }
  return false;
}

GenbankRecord GenbankParser::take() {
  return std::move(state_->done);
}

uint64_t GenbankParser::line_no() const {
  return state_->line_no;
}

void GenbankParser::finish() {
  const State& s = *state_;
  if (s.section != State::Section::kBetween)
    fail(source_, " line ", s.line_no, ": truncated GenBank file: record '", s.rec.locus, "' (LOCUS at line ",
         s.locus_line, ") has no '//' terminator");
  if (s.records == 0) fail(source_, ": no GenBank record (empty file or no LOCUS line)");
}

GenbankReader::GenbankReader(const std::string& path)
    : path_(path), fp_(open_bgzf(path, "r", "GenBank input")), parser_(path) {}

bool GenbankReader::next(GenbankRecord& rec) {
  while (!done_) {
    const int ret = bgzf_getline(fp_.get(), '\n', line_.get());
    if (ret == -1) {
      done_ = true;
      parser_.finish();
      return false;
    }
    if (ret < -1)
      fail(path_, " line ", parser_.line_no() + 1,
           ": read error (corrupt or truncated compressed file?), bgzf_getline returned ", ret);
    if (parser_.parse_line(line_.view())) {
      rec = parser_.take();
      return true;
    }
  }
  return false;
}

std::vector<GenbankRecord> read_genbank(const std::string& path) {
  GenbankReader reader(path);
  std::vector<GenbankRecord> out;
  GenbankRecord rec;
  while (reader.next(rec)) out.push_back(std::move(rec));
  return out;
}

}  // namespace strand::genomics
