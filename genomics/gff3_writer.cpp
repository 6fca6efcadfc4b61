// GFF3 writer; see gff3_writer.h.
#include "genomics/gff3_writer.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"
#include "core/text.h"

namespace strand::genomics {

namespace {

constexpr char kHex[] = "0123456789ABCDEF";

void append_escaped(std::string& out, unsigned char c) {
  out += '%';
  out += kHex[c >> 4];
  out += kHex[c & 15];
}

// Column 1: the specification allows [a-zA-Z0-9.:^*$@!+_?-|] unescaped; escape the rest.
std::string escape_seqid(std::string_view seqid) {
  static constexpr std::string_view kAllowed = ".:^*$@!+_?-|";
  std::string out;
  for (unsigned char c : seqid) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        kAllowed.find(static_cast<char>(c)) != std::string_view::npos)
      out += static_cast<char>(c);
    else
      append_escaped(out, c);
  }
  return out;
}

// Columns 2 and 3: escape what would break the line or the column structure.
std::string escape_column(std::string_view text) {
  if (text.empty()) return ".";
  std::string out;
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f || c == '%')
      append_escaped(out, c);
    else
      out += static_cast<char>(c);
  }
  return out;
}

}  // namespace

std::string gff3_escape(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (unsigned char c : value) {
    if (c < 0x20 || c == 0x7f || c == '%' || c == ';' || c == '=' || c == '&' || c == ',')
      append_escaped(out, c);
    else
      out += static_cast<char>(c);
  }
  return out;
}

std::string format_gff3(const Feature& feature) {
  STRAND_ASSERT(!feature.parts.empty(), "feature '", feature.id, "' has no parts");
  // Column 9 is the same on every line of the feature.
  std::string attrs;
  const auto add = [&attrs](std::string_view key, const std::string& values) {
    if (!attrs.empty()) attrs += ';';
    attrs += gff3_escape(key);
    attrs += '=';
    attrs += values;
  };
  if (!feature.id.empty()) add("ID", gff3_escape(feature.id));
  if (!feature.parents.empty()) {
    std::string v;
    for (const std::string& p : feature.parents) v += (v.empty() ? "" : ",") + gff3_escape(p);
    add("Parent", v);
  }
  // Values of one key are grouped as key=v1,v2 at the key's first appearance.
  std::vector<bool> done(feature.attributes.size(), false);
  for (size_t i = 0; i < feature.attributes.size(); ++i) {
    if (done[i]) continue;
    const std::string& key = feature.attributes[i].first;
    if (key == "ID" || key == "Parent" || key == "start_range" || key == "end_range") continue;  // owned by fields
    std::string v;
    for (size_t j = i; j < feature.attributes.size(); ++j) {
      if (done[j] || feature.attributes[j].first != key) continue;
      done[j] = true;
      const std::string& value = feature.attributes[j].second;
      v += (v.empty() ? "" : ",") + (value.empty() ? std::string("true") : gff3_escape(value));
    }
    add(key, v);
  }

  // Phases follow transcription order: each part's phase is the number of bases to skip
  // before its first whole codon, given the bases left over from the parts before it.
  const bool is_cds = feature.type == "CDS";
  std::vector<int> phase(feature.parts.size(), -1);
  if (is_cds) {
    std::vector<size_t> tx(feature.parts.size());
    std::iota(tx.begin(), tx.end(), size_t{0});
    const bool reverse = feature.strand == Strand::kReverse;
    std::stable_sort(tx.begin(), tx.end(), [&](size_t a, size_t b) {
      return reverse ? feature.parts[a].beg0 > feature.parts[b].beg0 : feature.parts[a].beg0 < feature.parts[b].beg0;
    });
    const int64_t phase0 = feature.phase.value_or(0);
    int64_t before = 0;
    for (size_t k : tx) {
      const int64_t leftover = ((before - phase0) % 3 + 3) % 3;
      phase[k] = static_cast<int>((3 - leftover) % 3);
      before += feature.parts[k].end0 - feature.parts[k].beg0;
    }
  }

  std::vector<size_t> order(feature.parts.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return feature.parts[a].beg0 < feature.parts[b].beg0; });
  const std::string prefix =
      cat(escape_seqid(feature.seqid), '\t', escape_column(feature.source), '\t', escape_column(feature.type), '\t');
  const std::string score = feature.score ? format_shortest(*feature.score) : ".";
  std::string out;
  for (size_t k : order) {
    const FeaturePart& p = feature.parts[k];
    STRAND_ASSERT(p.beg0 >= 0 && p.beg0 < p.end0, "feature '", feature.id, "' has an empty or negative part");
    if (!out.empty()) out += '\n';
    std::string line_attrs = attrs;
    if (p.partial_start) line_attrs += cat(line_attrs.empty() ? "" : ";", "start_range=.,", p.beg0 + 1);
    if (p.partial_end) line_attrs += cat(line_attrs.empty() ? "" : ";", "end_range=", p.end0, ",.");
    out += cat(prefix, p.beg0 + 1, '\t', p.end0, '\t', score, '\t', static_cast<char>(feature.strand), '\t',
               is_cds ? static_cast<char>('0' + phase[k]) : '.', '\t', line_attrs.empty() ? "." : line_attrs);
  }
  return out;
}

Gff3Writer::Gff3Writer(AtomicOutput& output) : output_(output) {
  const std::string& name = output.final_path();
  const bool bgzip = name.size() >= 3 && name.compare(name.size() - 3, 3, ".gz") == 0;
  fp_ = open_bgzf(output.path(), bgzip ? "w" : "wu", "GFF3 output");
}

Gff3Writer::~Gff3Writer() = default;  // an unclosed file is closed by BgzfPtr (error paths)

namespace {
void write_all(BGZF* fp, const std::string& text, const std::string& path) {
  if (text.empty()) return;
  const ssize_t n = bgzf_write(fp, text.data(), text.size());
  if (n < 0 || static_cast<size_t>(n) != text.size()) fail("error writing GFF3 to '", path, "' (disk full?)");
}
}  // namespace

void Gff3Writer::write_header(const std::vector<ContigInfo>& contigs, const std::vector<std::string>& pragmas) {
  STRAND_ASSERT(fp_, "GFF3 writer already closed");
  buf_ = "##gff-version 3\n";
  for (const ContigInfo& c : contigs) {
    if (c.length <= 0) continue;  // "1 0" is not a valid region; empty contigs carry no features
    buf_ += cat("##sequence-region ", escape_seqid(c.name), " 1 ", c.length, '\n');
  }
  for (const std::string& p : pragmas) {
    STRAND_ASSERT(p.find('\n') == std::string::npos, "pragma with a newline");
    buf_ += cat("#!", p, '\n');
  }
  write_all(fp_.get(), buf_, output_.path());
}

void Gff3Writer::write(const Feature& feature) {
  STRAND_ASSERT(fp_, "GFF3 writer already closed");
  buf_ = format_gff3(feature);
  buf_ += '\n';
  write_all(fp_.get(), buf_, output_.path());
}

void Gff3Writer::close() {
  close_checked(fp_, output_.path());
}

}  // namespace strand::genomics
