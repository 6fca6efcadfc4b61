// GFF3 reader, after the Sequence Ontology GFF3 specification 1.26; see gff3_reader.h.
#include "genomics/gff3_reader.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "core/error.h"
#include "core/log.h"
#include "core/text.h"
#include "genomics/hts_handles.h"

namespace strand::genomics {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes %XX escapes; returns false on a '%' not followed by two hex digits.
bool percent_decode(std::string_view text, std::string& out) {
  out.clear();
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    const int hi = i + 1 < text.size() ? hex_value(text[i + 1]) : -1;
    const int lo = i + 2 < text.size() ? hex_value(text[i + 2]) : -1;
    if (hi < 0 || lo < 0) return false;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

bool is_blank(std::string_view line) {
  return trim(line).empty();
}

// Splits on runs of spaces/tabs (directives are whitespace-separated).
std::vector<std::string_view> tokens(std::string_view text) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    const size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\t') ++i;
    if (i > start) out.push_back(text.substr(start, i - start));
  }
  return out;
}

bool same_strand_order(Strand s) {
  return s != Strand::kReverse;
}

}  // namespace

Gff3Parser::Gff3Parser(std::string source_name) : source_(std::move(source_name)) {}

void Gff3Parser::fail_line(const std::string& message) const {
  fail(source_, " line ", line_no_, ": ", message);
}

void Gff3Parser::parse_line(std::string_view line) {
  ++line_no_;
  if (in_fasta_) return;  // the sequences after ##FASTA are not features
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (is_blank(line)) return;
  if (line.starts_with("##")) {
    parse_directive(line);
    return;
  }
  if (line.front() == '#') return;
  if (line.front() == '>') {
    // Some writers start the FASTA section without the ##FASTA directive.
    in_fasta_ = true;
    return;
  }
  if (!saw_version_ && !saw_content_) log_warning("gff3", source_, ": no '##gff-version 3' line; reading as GFF3");
  saw_content_ = true;
  parse_feature(line);
}

void Gff3Parser::parse_directive(std::string_view line) {
  const std::vector<std::string_view> tok = tokens(line);
  const std::string_view name = tok.front();
  if (name == "##gff-version") {
    if (tok.size() < 2) fail_line("'##gff-version' without a version number");
    const std::string_view version = tok[1];
    // "3", "3.1.26": only the major version matters.
    if (version != "3" && !version.starts_with("3.")) {
      if (version.starts_with("2") || version.starts_with("1"))
        fail_line(cat("GFF version ", quote_for_message(version),
                      " is not supported: this reader reads GFF3 only (convert GFF2/GTF with 'gffread' or "
                      "'gt gtf_to_gff3')"));
      fail_line(cat("unknown GFF version ", quote_for_message(version), " (expected 3)"));
    }
    saw_version_ = true;
  } else if (name == "##sequence-region") {
    if (tok.size() != 4) fail_line("'##sequence-region' needs 3 fields: seqid start end");
    int64_t start = 0, end = 0;
    try {
      start = parse_int64(tok[2], "sequence-region start");
      end = parse_int64(tok[3], "sequence-region end");
    } catch (const Error& e) {
      fail_line(e.what());
    }
    if (start < 1 || end < start)
      fail_line(cat("'##sequence-region' needs 1 <= start <= end, found ", start, " and ", end));
    std::string seqid;
    if (!percent_decode(tok[1], seqid)) fail_line(cat("invalid %-escape in seqid ", quote_for_message(tok[1])));
    for (const ContigInfo& c : doc_.sequence_regions)
      if (c.name == seqid) {
        if (c.length != end) fail_line(cat("'##sequence-region' for '", seqid, "' repeated with a different end"));
        return;
      }
    doc_.sequence_regions.push_back({seqid, end});
  } else if (name == "##FASTA") {
    in_fasta_ = true;
  }
  // "###" (forward references resolved) and other pragmas need nothing here: parents are
  // resolved over the whole file in finish().
}

void Gff3Parser::parse_feature(std::string_view line) {
  const std::vector<std::string_view> col = split(line, '\t');
  if (col.size() != 9)
    fail_line(cat("expected 9 tab-separated columns, found ", col.size(), ": ", quote_for_message(line)));

  Feature f;
  if (col[0].empty() || col[0] == ".") fail_line("empty seqid (column 1)");
  if (!percent_decode(col[0], f.seqid)) fail_line(cat("invalid %-escape in seqid ", quote_for_message(col[0])));
  if (!percent_decode(col[1], f.source)) fail_line(cat("invalid %-escape in source ", quote_for_message(col[1])));
  if (f.source.empty()) f.source = ".";
  if (col[2].empty() || col[2] == ".") fail_line("empty type (column 3)");
  if (!percent_decode(col[2], f.type)) fail_line(cat("invalid %-escape in type ", quote_for_message(col[2])));

  int64_t start = 0, end = 0;
  try {
    start = parse_int64(col[3], "start (column 4)");
    end = parse_int64(col[4], "end (column 5)");
  } catch (const Error& e) {
    fail_line(e.what());
  }
  if (start < 1) fail_line(cat("start ", start, " is below 1"));
  if (start > end) fail_line(cat("start ", start, " is after end ", end));
  for (const ContigInfo& c : doc_.sequence_regions)
    if (c.name == f.seqid && end > c.length)
      fail_line(cat("end ", end, " is past the end of sequence-region '", c.name, "' (", c.length, ")"));
  FeaturePart part{start - 1, end, false, false};

  if (col[5] != ".") {
    try {
      const double score = parse_double(col[5], "score (column 6)");
      if (!std::isfinite(score)) fail("score ", quote_for_message(col[5]), " is not a finite number");
      f.score = score;
    } catch (const Error& e) {
      fail_line(e.what());
    }
  }

  if (col[6].size() != 1 || std::string_view("+-.?").find(col[6][0]) == std::string_view::npos)
    fail_line(cat("strand (column 7) must be '+', '-', '.' or '?', found ", quote_for_message(col[6])));
  f.strand = static_cast<Strand>(col[6][0]);

  std::optional<int> phase;
  if (col[7] != ".") {
    if (col[7].size() != 1 || col[7][0] < '0' || col[7][0] > '2')
      fail_line(cat("phase (column 8) must be 0, 1, 2 or '.', found ", quote_for_message(col[7])));
    phase = col[7][0] - '0';
  } else if (f.type == "CDS") {
    fail_line("a CDS needs a phase of 0, 1 or 2 in column 8, found '.'");
  }

  // Column 9: tag=value pairs separated by ';', multiple values separated by ','.
  std::string key, value;
  if (col[8] != ".") {
    for (std::string_view item : split(col[8], ';')) {
      item = trim(item);  // tolerate "; " separators (Ensembl) and a trailing ';'
      if (item.empty()) continue;
      const size_t eq = item.find('=');
      if (eq == std::string_view::npos)
        fail_line(cat("attribute ", quote_for_message(item), " is not tag=value (column 9)"));
      if (!percent_decode(trim(item.substr(0, eq)), key) || key.empty())
        fail_line(cat("invalid attribute tag in ", quote_for_message(item)));
      // Split before decoding so that an escaped comma (%2C) stays inside its value.
      for (std::string_view raw : split(item.substr(eq + 1), ',')) {
        if (!percent_decode(raw, value))
          fail_line(cat("invalid %-escape in attribute '", key, "' value ", quote_for_message(raw),
                        " ('%' must be followed by two hex digits)"));
        if (key == "ID") {
          if (!f.id.empty()) fail_line(cat("more than one ID (", quote_for_message(item), ")"));
          if (value.empty()) fail_line("empty ID");
          f.id = value;
        } else if (key == "Parent") {
          if (value.empty()) fail_line("empty Parent");
          if (std::find(f.parents.begin(), f.parents.end(), value) == f.parents.end()) f.parents.push_back(value);
        } else if (key == "start_range" && raw != ".") {
          part.partial_start = true;  // start_range=.,N: the feature starts before N
        } else if (key == "end_range" && raw != ".") {
          part.partial_end = true;  // end_range=N,.: the feature ends after N
        } else if (key != "start_range" && key != "end_range") {
          f.attributes.emplace_back(key, value);
        }
      }
    }
  }

  if (!f.id.empty()) {
    const auto it = index_by_id_.find(f.id);
    if (it != index_by_id_.end()) {
      // Another line of a multi-line (discontinuous) feature.
      Feature& first = doc_.features[it->second];
      const uint64_t at = first_line_[it->second];
      if (first.seqid != f.seqid)
        fail_line(
            cat("feature ID '", f.id, "' is on seqid '", f.seqid, "' here but on '", first.seqid, "' at line ", at));
      if (first.type != f.type)
        fail_line(cat("feature ID '", f.id, "' has type '", f.type, "' here but '", first.type, "' at line ", at));
      if (first.strand != f.strand)
        fail_line(cat("feature ID '", f.id, "' has strand '", static_cast<char>(f.strand), "' here but '",
                      static_cast<char>(first.strand), "' at line ", at));
      first.parts.push_back(part);
      part_phases_[it->second].push_back(phase);
      for (std::string& p : f.parents)
        if (std::find(first.parents.begin(), first.parents.end(), p) == first.parents.end())
          first.parents.push_back(std::move(p));
      return;
    }
    index_by_id_.emplace(f.id, doc_.features.size());
  }
  f.parts.push_back(part);
  doc_.features.push_back(std::move(f));
  first_line_.push_back(line_no_);
  part_phases_.push_back({phase});
}

Gff3Document Gff3Parser::finish() {
  for (size_t i = 0; i < doc_.features.size(); ++i) {
    Feature& f = doc_.features[i];
    for (const std::string& p : f.parents)
      if (index_by_id_.find(p) == index_by_id_.end())
        fail(source_, " line ", first_line_[i], ": Parent '", p, "' names no feature ID in the file");
    // Parts in transcription order; the feature's phase is that of the first of them.
    std::vector<size_t> order(f.parts.size());
    for (size_t k = 0; k < order.size(); ++k) order[k] = k;
    const bool forward = same_strand_order(f.strand);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return forward ? f.parts[a].beg0 < f.parts[b].beg0 : f.parts[a].beg0 > f.parts[b].beg0;
    });
    std::vector<FeaturePart> parts;
    parts.reserve(order.size());
    for (size_t k : order) parts.push_back(f.parts[k]);
    f.phase = part_phases_[i][order.front()];
    f.parts = std::move(parts);
  }
  if (!saw_version_ && !saw_content_) log_warning("gff3", source_, ": no '##gff-version 3' line and no features");
  Gff3Document out = std::move(doc_);
  doc_ = {};
  index_by_id_.clear();
  first_line_.clear();
  part_phases_.clear();
  return out;
}

Gff3Document read_gff3(const std::string& path) {
  BgzfPtr fp = open_bgzf(path, "r", "GFF3 input");
  Gff3Parser parser(path);
  KString line;
  uint64_t line_no = 0;
  while (true) {
    const int ret = bgzf_getline(fp.get(), '\n', line.get());
    if (ret == -1) break;
    if (ret < -1)
      fail(path, " line ", line_no + 1, ": read error (corrupt or truncated compressed file?), bgzf_getline returned ",
           ret);
    ++line_no;
    parser.parse_line(line.view());
  }
  return parser.finish();
}

}  // namespace strand::genomics
