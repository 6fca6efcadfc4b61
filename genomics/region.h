// Genomic regions. Internally always 0-based half-open [beg0, end0). On the command line:
// -r "chr", "chr:beg", "chr:beg-end", "chr:-end" (1-based inclusive, ',' allowed in numbers,
// {chr}:... for contig names that contain ':'), -R a BED file (0-based half-open) or a
// whitespace-separated "chr beg end" list with 1-based inclusive coordinates (.txt/.tsv),
// as bcftools does.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace strand::genomics {

inline constexpr int64_t kRegionToEnd = std::numeric_limits<int64_t>::max();

struct Region {
  std::string contig;
  int64_t beg0 = 0;             // 0-based inclusive
  int64_t end0 = kRegionToEnd;  // 0-based exclusive; kRegionToEnd = to the contig's end

  bool whole_contig() const { return beg0 == 0 && end0 == kRegionToEnd; }
  int64_t length() const { return end0 - beg0; }
  // 1-based inclusive "chr:beg-end" (or "chr" for a whole contig), as samtools prints.
  std::string to_string() const;
  bool operator==(const Region&) const = default;
};

// Parses one -r region (1-based inclusive). Throws strand::Error with the text on error.
Region parse_region(std::string_view text);
// Parses a comma-separated -r list ("chr1:1-100,chr2"); as in bcftools the commas separate
// regions, so numbers in a list cannot use thousands separators.
std::vector<Region> parse_region_list(std::string_view text);
// Reads a -R file: BED (0-based) when its name ends in .bed/.bed.gz, else 1-based inclusive
// "chr beg end" columns; '#', 'track' and 'browser' lines skipped. Errors name file and line.
std::vector<Region> read_region_file(const std::string& path);
// Parses one BED line's first three columns (0-based half-open); `where` prefixes errors.
Region parse_bed_region(std::string_view line, std::string_view where);

// Clamps a region to a contig of `contig_len` bases (resolving kRegionToEnd). Throws when the
// region starts past the contig end or is empty: "region chr:beg-end is outside contig chr
// (length N)".
Region clamp_to_contig(const Region& region, int64_t contig_len);

}  // namespace strand::genomics

namespace strand::genomics {

// A sequence name and its length, as a .fai, a SAM/VCF header or a GenBank LOCUS gives it.
struct ContigInfo {
  std::string name;
  int64_t length = 0;
  bool operator==(const ContigInfo&) const = default;
};

}  // namespace strand::genomics
