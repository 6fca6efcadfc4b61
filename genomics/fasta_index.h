// Random access to a FASTA file through its .fai index (and .gzi for bgzip): contig names
// and lengths without reading the sequence, and any region read once, straight into the
// caller's string. Plain or bgzip-compressed; plain gzip cannot be indexed (clear error).
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "genomics/hts_handles.h"
#include "genomics/region.h"
#include "genomics/seq_record.h"

namespace strand::genomics {

class IndexedFasta {
 public:
  // Opens `path` with `path`.fai (and `path`.gzi when bgzip-compressed). Throws when the
  // index is missing ("... has no .fai index: run 'samtools faidx <path>'"), unreadable or
  // inconsistent with the file, or when the file is gzip but not bgzip.
  explicit IndexedFasta(const std::string& path);

  const std::string& path() const { return path_; }
  const std::vector<ContigInfo>& contigs() const { return contigs_; }
  // Length of a contig, or nullopt when the index does not name it.
  std::optional<int64_t> contig_length(std::string_view name) const;

  // Reads the bases of `region` (case kept) into `out`, replacing its contents. The region is
  // clamped with clamp_to_contig (error when outside the contig or naming an unknown contig).
  // Thread-safe (one internal handle, serialised).
  void fetch(const Region& region, std::string& out);
  // fetch() into a SeqRecord named by the region ("chr" or "chr:beg-end").
  SeqRecord fetch_record(const Region& region);

 private:
  struct FaiEntry {
    int64_t length, offset, line_bases, line_bytes;
  };

  void load_fai(const std::string& fai_path);
  // The index entry of the region's contig and the region clamped to it; throws otherwise.
  std::pair<size_t, Region> resolve(const Region& region) const;
  void read_bases(const FaiEntry& e, const Region& r, std::string& out);  // mutex_ held

  std::string path_;
  BgzfPtr fp_;
  std::vector<ContigInfo> contigs_;
  std::vector<FaiEntry> entries_;
  std::unordered_map<std::string, size_t> by_name_;
  std::mutex mutex_;
};

}  // namespace strand::genomics
