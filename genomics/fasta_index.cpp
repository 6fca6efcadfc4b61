#include "genomics/fasta_index.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "core/text.h"

namespace strand::genomics {
namespace {

// Bound on every .fai number: far beyond any genome, small enough that offset arithmetic
// (value * line_bytes) cannot overflow int64.
constexpr int64_t kMaxFaiValue = int64_t{1} << 40;

bool file_exists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec);
}

}  // namespace

IndexedFasta::IndexedFasta(const std::string& path) : path_(path) {
  if (path == "-") fail("an indexed FASTA must be a file, not stdin ('-')");
  fp_ = open_bgzf(path, "r", "indexed FASTA");
  const int compression = bgzf_compression(fp_.get());
  if (compression == 1)
    fail("file '", path,
         "' is gzip-compressed, which cannot be indexed: recompress it with bgzip "
         "('zcat ",
         path, " | bgzip > x.fa.gz') and run 'samtools faidx' on the result");
  if (compression == 2) {
    const std::string gzi = path + ".gzi";
    if (!file_exists(gzi)) fail("file '", path, "' has no .gzi index ('", gzi, "'): run 'samtools faidx ", path, "'");
    if (bgzf_index_load(fp_.get(), path.c_str(), ".gzi") != 0) fail("cannot read the bgzip index '", gzi, "'");
  } else if (compression != 0) {
    fail("file '", path, "' uses an unsupported compression (", compression, ")");
  }
  const std::string fai = path + ".fai";
  if (!file_exists(fai)) fail("file '", path, "' has no .fai index ('", fai, "'): run 'samtools faidx ", path, "'");
  load_fai(fai);
}

void IndexedFasta::load_fai(const std::string& fai_path) {
  // Plain files can be checked against their size; bgzip ones are checked while reading.
  int64_t file_size = -1;
  struct stat st {};
  if (bgzf_compression(fp_.get()) == 0 && stat(path_.c_str(), &st) == 0 && S_ISREG(st.st_mode)) file_size = st.st_size;

  BgzfPtr fai = open_bgzf(fai_path, "r", "FASTA index");
  KString line;
  int64_t line_no = 0;
  while (true) {
    errno = 0;
    const int rc = bgzf_getline(fai.get(), '\n', line.get());
    if (rc == -1) break;
    if (rc < -1) fail("error reading FASTA index '", fai_path, "' line ", line_no + 1, ": ", errno_reason());
    ++line_no;
    const auto bad = [&](const std::string& why) {
      fail("FASTA index '", fai_path, "' line ", line_no, ": ", why, " (re-run 'samtools faidx ", path_, "')");
    };
    std::string_view text = line.view();
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    const std::vector<std::string_view> cols = split(text, '\t');
    if (cols.size() == 6) bad("6 columns: this is a FASTQ index, a FASTA .fai has 5");
    if (cols.size() != 5) bad(cat(cols.size(), " tab-separated columns instead of 5: ", quote_for_message(text)));
    if (cols[0].empty()) bad("empty sequence name");
    FaiEntry e{};
    int64_t* const fields[4] = {&e.length, &e.offset, &e.line_bases, &e.line_bytes};
    static const char* const kNames[4] = {"LENGTH", "OFFSET", "LINEBASES", "LINEWIDTH"};
    for (int i = 0; i < 4; ++i) {
      try {
        *fields[i] = parse_int64(cols[i + 1], kNames[i]);
      } catch (const Error& err) {
        bad(err.what());
      }
      if (*fields[i] < 0 || *fields[i] > kMaxFaiValue) bad(cat(kNames[i], " ", *fields[i], " is out of range"));
    }
    if (e.length > 0) {
      if (e.line_bases < 1) bad("LINEBASES must be > 0");
      if (e.line_bytes < e.line_bases + 1 || e.line_bytes > e.line_bases + 2)
        bad(cat("LINEWIDTH ", e.line_bytes, " must be LINEBASES ", e.line_bases, " + 1 or + 2 (line end)"));
      const int64_t last = e.length - 1;
      const int64_t end_byte = e.offset + last / e.line_bases * e.line_bytes + last % e.line_bases + 1;
      if (file_size >= 0 && end_byte > file_size)
        bad(cat("sequence '", cols[0], "' would end at byte ", end_byte, " but the file has ", file_size,
                " bytes: the index does not match the file"));
    }
    std::string name(cols[0]);
    if (by_name_.count(name) != 0) bad(cat("duplicate sequence name ", quote_for_message(name)));
    by_name_.emplace(name, entries_.size());
    contigs_.push_back({std::move(name), e.length});
    entries_.push_back(e);
  }
  if (entries_.empty()) fail("FASTA index '", fai_path, "' lists no sequences");
}

std::optional<int64_t> IndexedFasta::contig_length(std::string_view name) const {
  const auto it = by_name_.find(std::string(name));
  if (it == by_name_.end()) return std::nullopt;
  return entries_[it->second].length;
}

std::pair<size_t, Region> IndexedFasta::resolve(const Region& region) const {
  const auto it = by_name_.find(region.contig);
  if (it == by_name_.end()) {
    std::string known;
    for (size_t i = 0; i < contigs_.size() && i < 5; ++i) known += cat(i ? ", " : "", contigs_[i].name);
    if (contigs_.size() > 5) known += ", ...";
    fail("contig ", quote_for_message(region.contig), " is not in '", path_, "' (", contigs_.size(),
         " sequences: ", known, ")");
  }
  try {
    return {it->second, clamp_to_contig(region, entries_[it->second].length)};
  } catch (const Error& err) {
    fail("'", path_, "': ", err.what());
  }
}

void IndexedFasta::fetch(const Region& region, std::string& out) {
  const auto [index, r] = resolve(region);
  std::lock_guard<std::mutex> lock(mutex_);
  read_bases(entries_[index], r, out);
}

SeqRecord IndexedFasta::fetch_record(const Region& region) {
  const auto [index, r] = resolve(region);
  SeqRecord rec;
  rec.contig = region.contig;
  rec.beg0 = r.beg0;
  rec.name = r.beg0 == 0 && r.end0 == entries_[index].length ? region.contig : r.to_string();
  std::lock_guard<std::mutex> lock(mutex_);
  read_bases(entries_[index], r, rec.seq);
  return rec;
}

void IndexedFasta::read_bases(const FaiEntry& e, const Region& r, std::string& out) {
  const auto mismatch = [&](const std::string& why) {
    fail("reading ", r.to_string(), " from '", path_, "': ", why,
         ": the index does not match the file, re-run 'samtools faidx ", path_, "'");
  };
  const int64_t len = r.end0 - r.beg0;
  out.resize(static_cast<size_t>(len));
  const int64_t start = e.offset + r.beg0 / e.line_bases * e.line_bytes + r.beg0 % e.line_bases;
  if (bgzf_useek(fp_.get(), start, SEEK_SET) < 0) mismatch(cat("cannot seek to offset ", start));
  const int64_t line_end_bytes = e.line_bytes - e.line_bases;
  int64_t col = r.beg0 % e.line_bases;
  int64_t done = 0;
  char eol[2];
  while (done < len) {
    // One line's worth of bases straight into `out`, then the line end, which must be there.
    const int64_t n = std::min(len - done, e.line_bases - col);
    char* dst = out.data() + done;
    const ssize_t got = bgzf_read(fp_.get(), dst, static_cast<size_t>(n));
    if (got < 0) fail("error reading '", path_, "' (corrupt or truncated compressed data?)");
    if (got != n) mismatch("unexpected end of file");
    if (std::memchr(dst, '\n', n) != nullptr || std::memchr(dst, '\r', n) != nullptr ||
        std::memchr(dst, '>', n) != nullptr)
      mismatch(cat("found a line end or header where bases were expected near offset ", start + done));
    done += n;
    col = 0;
    if (done < len) {
      const ssize_t got_eol = bgzf_read(fp_.get(), eol, static_cast<size_t>(line_end_bytes));
      if (got_eol < 0) fail("error reading '", path_, "' (corrupt or truncated compressed data?)");
      if (got_eol != line_end_bytes || eol[line_end_bytes - 1] != '\n' || (line_end_bytes == 2 && eol[0] != '\r'))
        mismatch("no line end where the index puts one");
    }
  }
}

}  // namespace strand::genomics
