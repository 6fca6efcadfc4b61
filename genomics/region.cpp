#include "genomics/region.h"

#include <algorithm>

#include "core/error.h"
#include "core/text.h"
#include "genomics/hts_handles.h"

namespace strand::genomics {

std::string Region::to_string() const {
  if (whole_contig()) return contig;
  if (end0 == kRegionToEnd) return cat(contig, ":", beg0 + 1);
  return cat(contig, ":", beg0 + 1, "-", end0);
}

namespace {

// 1-based inclusive "beg-end" / "beg" / "beg-" / "-end" after the colon.
void parse_interval(std::string_view spec, std::string_view text, Region& r) {
  const auto bad = [&](std::string_view why) { fail("invalid region ", quote_for_message(text), ": ", why); };
  if (spec.empty()) bad("nothing after ':'");
  const size_t dash = spec.find('-');
  const std::string_view beg_text = spec.substr(0, dash);
  const std::string_view end_text = dash == std::string_view::npos ? std::string_view() : spec.substr(dash + 1);
  int64_t beg1 = 1;
  if (!beg_text.empty()) beg1 = parse_int64(beg_text, cat("start of region ", quote_for_message(text)), true);
  if (beg1 < 1) bad("start must be >= 1 (coordinates are 1-based)");
  r.beg0 = beg1 - 1;
  if (dash == std::string_view::npos) {
    // "chr:pos" means from pos to the end, as samtools does.
    r.end0 = kRegionToEnd;
    return;
  }
  if (end_text.empty()) {
    r.end0 = kRegionToEnd;
    return;
  }
  const int64_t end1 = parse_int64(end_text, cat("end of region ", quote_for_message(text)), true);
  if (end1 < beg1) bad(cat("end ", end1, " is before start ", beg1));
  r.end0 = end1;
}

}  // namespace

Region parse_region(std::string_view text) {
  const std::string_view t = trim(text);
  if (t.empty()) fail("invalid region: empty");
  Region r;
  if (t.front() == '{') {
    // {chr:name}:beg-end for contig names containing ':' (HTSlib's convention).
    const size_t close = t.find('}');
    if (close == std::string_view::npos) fail("invalid region ", quote_for_message(text), ": '{' without '}'");
    r.contig = std::string(t.substr(1, close - 1));
    if (r.contig.empty()) fail("invalid region ", quote_for_message(text), ": empty contig name");
    const std::string_view rest = t.substr(close + 1);
    if (rest.empty()) return r;
    if (rest.front() != ':') fail("invalid region ", quote_for_message(text), ": expected ':' after '}'");
    parse_interval(rest.substr(1), text, r);
    return r;
  }
  const size_t colon = t.rfind(':');
  if (colon == std::string_view::npos) {
    r.contig = std::string(t);
    return r;
  }
  r.contig = std::string(t.substr(0, colon));
  if (r.contig.empty()) fail("invalid region ", quote_for_message(text), ": empty contig name");
  parse_interval(t.substr(colon + 1), text, r);
  return r;
}

std::vector<Region> parse_region_list(std::string_view text) {
  // Commas separate regions, as in bcftools -r (so numbers in a list carry no thousands
  // separators); a comma inside {braces} belongs to the contig name.
  std::vector<Region> regions;
  size_t start = 0;
  int brace_depth = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i < text.size()) {
      if (text[i] == '{') ++brace_depth;
      if (text[i] == '}' && brace_depth > 0) --brace_depth;
      if (text[i] != ',' || brace_depth > 0) continue;
    }
    regions.push_back(parse_region(text.substr(start, i - start)));
    start = i + 1;
  }
  return regions;
}

Region parse_bed_region(std::string_view line, std::string_view where) {
  std::vector<std::string_view> cols;
  for (std::string_view c : split(trim(line), '\t')) cols.push_back(c);
  if (cols.size() < 3) {
    // Tolerate space-separated BED.
    cols.clear();
    for (std::string_view c : split(trim(line), ' '))
      if (!c.empty()) cols.push_back(c);
  }
  if (cols.size() < 3) fail(where, ": expected at least 3 columns (chrom, start, end), found ", cols.size());
  Region r;
  r.contig = std::string(cols[0]);
  if (r.contig.empty()) fail(where, ": empty chromosome name");
  r.beg0 = parse_int64(trim(cols[1]), cat(where, ": BED start"));
  r.end0 = parse_int64(trim(cols[2]), cat(where, ": BED end"));
  if (r.beg0 < 0) fail(where, ": BED start ", r.beg0, " is negative");
  if (r.end0 < r.beg0) fail(where, ": BED end ", r.end0, " is before start ", r.beg0);
  return r;
}

std::vector<Region> read_region_file(const std::string& path) {
  const bool bed = path.ends_with(".bed") || path.ends_with(".bed.gz") || path.ends_with(".bed.bgz");
  BgzfPtr fp = open_bgzf(path, "r", "regions file");
  KString line;
  std::vector<Region> regions;
  uint64_t line_no = 0;
  while (true) {
    const int rc = bgzf_getline(fp.get(), '\n', line.get());
    if (rc == -1) break;
    if (rc < -1) fail("regions file '", path, "': read error after line ", line_no, " (truncated or corrupt compressed file?)");
    ++line_no;
    std::string_view l = trim(line.view());
    if (l.empty() || l.front() == '#' || l.rfind("track", 0) == 0 || l.rfind("browser", 0) == 0) continue;
    const std::string where = cat("regions file '", path, "' line ", line_no);
    if (bed) {
      Region r = parse_bed_region(l, where);
      if (r.end0 == r.beg0) fail(where, ": empty interval (start == end)");
      regions.push_back(std::move(r));
      continue;
    }
    // Tab-delimited "chr beg end" (1-based inclusive) or "chr pos", as bcftools -R takes.
    std::vector<std::string_view> cols;
    for (std::string_view c : split(l, '\t')) cols.push_back(trim(c));
    if (cols.size() == 1) {
      cols.clear();
      for (std::string_view c : split(l, ' '))
        if (!c.empty()) cols.push_back(c);
    }
    if (cols.size() < 2) fail(where, ": expected 'chrom<TAB>start[<TAB>end]' (1-based), found ", quote_for_message(l));
    Region r;
    r.contig = std::string(cols[0]);
    const int64_t beg1 = parse_int64(cols[1], cat(where, ": start"));
    const int64_t end1 = cols.size() >= 3 ? parse_int64(cols[2], cat(where, ": end")) : beg1;
    if (beg1 < 1) fail(where, ": start ", beg1, " must be >= 1 (this file is read as 1-based; name it .bed for BED)");
    if (end1 < beg1) fail(where, ": end ", end1, " is before start ", beg1);
    r.beg0 = beg1 - 1;
    r.end0 = end1;
    regions.push_back(std::move(r));
  }
  if (regions.empty()) fail("regions file '", path, "' has no regions");
  return regions;
}

Region clamp_to_contig(const Region& region, int64_t contig_len) {
  Region r = region;
  if (r.end0 == kRegionToEnd || r.end0 > contig_len) r.end0 = contig_len;
  if (r.beg0 >= contig_len || r.beg0 >= r.end0)
    fail("region ", region.to_string(), " is outside contig ", region.contig, " (length ", contig_len, ")");
  return r;
}

}  // namespace strand::genomics
