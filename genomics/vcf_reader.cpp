#include "genomics/vcf_reader.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/error.h"
#include "core/log.h"
#include "core/text.h"

namespace strand::genomics {
namespace {

constexpr char kWhere[] = "vcf";

std::string_view strip_cr(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// Finds what is wrong with a VCF text header that htslib rejected (or accepted too leniently),
// by reading the header lines again. Returns "" when nothing is found.
std::string diagnose_vcf_header(const std::string& path) {
  errno = 0;
  BgzfPtr fp(bgzf_open(path.c_str(), "r"));
  if (!fp) return {};
  KString line;
  int64_t line_no = 0;
  int ret;
  while ((ret = bgzf_getline(fp.get(), '\n', line.get())) >= 0) {
    ++line_no;
    const std::string_view text = strip_cr(line.view());
    if (line_no == 1 && !text.starts_with("##fileformat=VCF"))
      return cat("line 1 should be '##fileformat=VCFv4.x' but is ", quote_for_message(text));
    if (text.starts_with("##")) {
      const size_t eq = text.find('=');
      if (eq == std::string_view::npos)
        return cat("malformed header line ", line_no, " (no '='): ", quote_for_message(text));
      const std::string_view value = text.substr(eq + 1);
      if (!value.empty() && value.front() == '<' && value.back() != '>')
        return cat("malformed header line ", line_no, " (no closing '>'): ", quote_for_message(text));
      continue;
    }
    if (text.starts_with("#CHROM")) {
      static constexpr std::string_view kColumns[] = {"#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"};
      const auto cols = split(text, '\t');
      for (size_t i = 0; i < std::size(kColumns); ++i)
        if (i >= cols.size() || cols[i] != kColumns[i])
          return cat("malformed '#CHROM' header line ", line_no,
                     " (expected the tab-separated columns "
                     "#CHROM POS ID REF ALT QUAL FILTER INFO): ",
                     quote_for_message(text));
      return {};
    }
    return cat("the '#CHROM' header line is missing (line ", line_no,
               " is not a header line: ", quote_for_message(text), ")");
  }
  if (ret < -1) return cat("truncated or corrupt compressed data after line ", line_no);
  return cat("the '#CHROM' header line is missing (end of file after line ", line_no, ")");
}

// htslib accepts a structured line with no closing '>' by swallowing the following lines into
// it; such a header must be rejected, not silently mangled.
void check_header_records(const bcf_hdr_t* hdr, const std::string& path) {
  for (int i = 0; i < hdr->nhrec; ++i) {
    const bcf_hrec_t* hrec = hdr->hrec[i];
    auto bad = [](const char* s) { return s != nullptr && std::strchr(s, '\n') != nullptr; };
    bool broken = bad(hrec->key) || bad(hrec->value);
    for (int k = 0; k < hrec->nkeys && !broken; ++k) broken = bad(hrec->keys[k]) || bad(hrec->vals[k]);
    if (broken)
      fail("file '", path, "': malformed VCF header line '##", hrec->key ? hrec->key : "",
           "=...' (a structured line must end with '>' on the same line)");
  }
}

// htslib parses POS leniently ("12x" → 12, "abc" → 0) and pads missing columns; check the raw
// line first. Returns a description of the fault or "".
std::string check_vcf_line(std::string_view line) {
  int columns = 1;
  size_t pos_beg = std::string_view::npos, pos_end = std::string_view::npos;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] != '\t') continue;
    ++columns;
    if (columns == 2) pos_beg = i + 1;
    if (columns == 3) pos_end = i;
  }
  if (columns < 8)
    return cat("has ", columns, " tab-separated column", columns == 1 ? "" : "s", ", expected at least 8");
  const std::string_view pos = line.substr(pos_beg, pos_end - pos_beg);
  if (pos.empty() || pos.size() > 12 ||
      !std::all_of(pos.begin(), pos.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return cat("POS ", quote_for_message(pos), " is not a position");
  return {};
}

}  // namespace

VcfReader::VcfReader(const std::string& path, int threads) : path_(path) {
  try {
    errno = 0;
    fp_ = open_hts(path, "r", "VCF input");
  } catch (const Error&) {
    // hts_open reports a file of no known format as ENOEXEC ("Exec format error").
    if (errno == ENOEXEC) fail("file '", path, "' is not a VCF or BCF file (unrecognized format)");
    throw;
  }
  const htsFormat* format = hts_get_format(fp_.get());
  if (format->format == empty_format) fail("file '", path, "' is empty (expected a VCF or BCF file)");
  if (format->format != vcf && format->format != bcf) {
    KString first;
    const bool text = format->format == text_format || format->format == sam || format->format == bed ||
                      format->format == fasta_format || format->format == fastq_format;
    if (text && hts_getline(fp_.get(), '\n', first.get()) >= 0)
      fail("file '", path,
           "' is not a VCF file: the VCF header (the '##fileformat=VCF' line and the '#CHROM' header "
           "line) is missing; first line: ",
           quote_for_message(strip_cr(first.view())));
    char* description = hts_format_description(format);
    const std::string what = description ? description : "unknown";
    std::free(description);
    fail("file '", path, "' is not a VCF or BCF file (detected: ", what, ")");
  }
  if (threads > 0 && format->compression == bgzf && hts_set_threads(fp_.get(), threads) != 0)
    fail("cannot start ", threads, " decompression threads for '", path, "'");

  hdr_.reset(bcf_hdr_read(fp_.get()));
  if (!hdr_) {
    std::string reason;
    if (format->format == vcf && path != "-") reason = diagnose_vcf_header(path);
    if (reason.empty()) reason = format->format == bcf ? "truncated or corrupt BCF header" : "could not parse it";
    fail("file '", path, "': malformed VCF header: ", reason);
  }
  check_header_records(hdr_.get(), path_);
  if (format->format == vcf && path != "-") {
    // htslib is lenient with some broken header lines; a second look gives a precise error.
    const std::string reason = diagnose_vcf_header(path);
    if (!reason.empty()) fail("file '", path, "': malformed VCF header: ", reason);
  }
}

std::vector<ContigInfo> VcfReader::header_contigs() const {
  std::vector<ContigInfo> contigs;
  const bcf_hdr_t* h = hdr_.get();
  for (int i = 0; i < h->n[BCF_DT_CTG]; ++i) {
    const bcf_idpair_t& pair = h->id[BCF_DT_CTG][i];
    if (pair.key == nullptr || pair.val == nullptr || pair.val->hrec[0] == nullptr) continue;  // gap or removed
    contigs.push_back({pair.key, static_cast<int64_t>(pair.val->info[0])});
  }
  return contigs;
}

void VcfReader::set_regions(const std::vector<Region>& regions) {
  STRAND_ASSERT(records_ == 0 && !itr_, "set_regions() must come before the first record is read");
  const htsFormat* format = hts_get_format(fp_.get());
  if (path_ == "-") fail("cannot query regions of standard input: region queries need an indexed file");
  if (format->compression != bgzf)
    fail("cannot query regions of '", path_, "': it is not BGZF-compressed (",
         format->format == bcf ? "uncompressed BCF" : "plain VCF",
         "); compress and index it, e.g. 'bcftools view -Oz -o out.vcf.gz ", path_, " && bcftools index out.vcf.gz'");
  if (format->format == vcf) {
    tbx_.reset(tbx_index_load3(path_.c_str(), nullptr, HTS_IDX_SILENT_FAIL));
    if (!tbx_)
      fail("file '", path_, "' has no index (.tbi or .csi) or it cannot be read; create one with 'bcftools index ",
           path_, "'");
  } else {
    idx_.reset(bcf_index_load3(path_.c_str(), nullptr, HTS_IDX_SILENT_FAIL));
    if (!idx_)
      fail("file '", path_, "' has no index (.csi) or it cannot be read; create one with 'bcftools index ", path_, "'");
  }

  // Sorted by the index's contig order, then merged: each record comes out once, in file order.
  queries_.clear();
  for (const Region& r : regions) {
    int tid = tbx_ ? tbx_name2id(tbx_.get(), r.contig.c_str()) : bcf_hdr_name2id(hdr_.get(), r.contig.c_str());
    if (tid < 0) {
      if (bcf_hdr_name2id(hdr_.get(), r.contig.c_str()) < 0)
        log_warning(kWhere, "file '", path_, "': contig '", r.contig, "' of region ", r.to_string(),
                    " is neither in the header nor in the index: no records");
      continue;
    }
    if (r.end0 <= r.beg0 || r.beg0 < 0) fail("invalid region ", r.to_string(), " for '", path_, "': empty");
    queries_.push_back({tid, r.beg0, r.end0 == kRegionToEnd ? HTS_POS_MAX : r.end0});
  }
  std::sort(queries_.begin(), queries_.end(),
            [](const Query& a, const Query& b) { return a.tid != b.tid ? a.tid < b.tid : a.beg0 < b.beg0; });
  std::vector<Query> merged;
  for (const Query& q : queries_) {
    if (!merged.empty() && merged.back().tid == q.tid && q.beg0 <= merged.back().end0)
      merged.back().end0 = std::max(merged.back().end0, q.end0);
    else
      merged.push_back(q);
  }
  queries_ = std::move(merged);
  next_region_ = 0;
  regions_active_ = true;
}

void VcfReader::fail_record(std::string_view what, std::string_view line) const {
  const std::string where =
      records_ == 0 ? std::string("the first record") : cat("the record after ", last_contig_, ":", last_pos1_);
  if (line.empty()) fail("file '", path_, "' record ", records_ + 1, " (", where, "): ", what);
  fail("file '", path_, "' record ", records_ + 1, " (", where, "): ", what, ": ", quote_for_message(line, 120));
}

bool VcfReader::parse_line(bcf1_t* rec) {
  const std::string_view text = line_.view();
  const std::string problem = check_vcf_line(text);
  if (!problem.empty()) fail_record(cat("malformed VCF record: the line ", problem), text);
  const std::string copy(text.substr(0, 200));  // vcf_parse tokenizes the line in place
  if (vcf_parse(line_.get(), hdr_.get(), rec) < 0 || (rec->errcode & ~(BCF_ERR_CTG_UNDEF | BCF_ERR_TAG_UNDEF)) != 0)
    fail_record(cat("malformed VCF record (htslib error code ", rec->errcode, ")"), copy);
  return true;
}

bool VcfReader::read_sequential(bcf1_t* rec) {
  const htsFormat* format = hts_get_format(fp_.get());
  if (format->format == bcf) {
    const int ret = bcf_read(fp_.get(), hdr_.get(), rec);
    if (ret == -1) return false;
    if (ret < -1 || rec->errcode != 0)
      fail_record(
          cat("truncated or corrupt BCF record", rec->errcode ? cat(" (htslib error code ", rec->errcode, ")") : ""),
          {});
    return true;
  }
  while (true) {
    const int ret = hts_getline(fp_.get(), '\n', line_.get());
    if (ret == -1) return false;
    if (ret < -1) fail_record("read error (truncated or corrupt compressed data?)", {});
    if (strip_cr(line_.view()).empty()) continue;  // a blank line (often at the end) carries no record
    return parse_line(rec);
  }
}

bool VcfReader::read_regions(bcf1_t* rec) {
  while (true) {
    if (!itr_) {
      if (next_region_ == queries_.size()) return false;
      const Query& q = queries_[next_region_];
      // A record overlapping an earlier region of this contig was already handed out.
      skip_before_pos0_ =
          next_region_ > 0 && queries_[next_region_ - 1].tid == q.tid ? queries_[next_region_ - 1].end0 : -1;
      ++next_region_;
      itr_.reset(tbx_ ? tbx_itr_queryi(tbx_.get(), q.tid, q.beg0, q.end0)
                      : bcf_itr_queryi(idx_.get(), q.tid, q.beg0, q.end0));
      if (!itr_) fail("file '", path_, "': cannot query the index for contig id ", q.tid);
    }
    int ret;
    if (tbx_) {
      ret = tbx_itr_next(fp_.get(), tbx_.get(), itr_.get(), line_.get());
      if (ret >= 0) parse_line(rec);
    } else {
      ret = bcf_itr_next(fp_.get(), itr_.get(), rec);
      if (ret >= 0 && rec->errcode != 0)
        fail_record(cat("corrupt BCF record (htslib error code ", rec->errcode, ")"), {});
    }
    if (ret == -1) {
      itr_.reset();
      continue;
    }
    if (ret < -1) fail_record("read error through the index (truncated or corrupt file, or a stale index?)", {});
    if (rec->pos < skip_before_pos0_) continue;
    return true;
  }
}

bool VcfReader::next(bcf1_t* rec) {
  STRAND_ASSERT(rec != nullptr);
  const bool got = regions_active_ ? read_regions(rec) : read_sequential(rec);
  if (!got) return false;
  if (rec->rid < 0 || rec->rid >= hdr_->n[BCF_DT_CTG] || hdr_->id[BCF_DT_CTG][rec->rid].key == nullptr)
    fail_record(cat("contig id ", rec->rid, " is not in the header"), {});
  if (bcf_unpack(rec, BCF_UN_STR) < 0) fail_record("cannot unpack the record (corrupt data)", {});
  if (rec->n_allele < 1) fail_record("the record has no REF allele", {});
  ++records_;
  last_contig_ = bcf_hdr_id2name(hdr_.get(), rec->rid);
  last_pos1_ = rec->pos + 1;
  return true;
}

VariantView VcfReader::view(bcf1_t* rec) const {
  VariantView v;
  if (rec->rid >= 0 && rec->rid < hdr_->n[BCF_DT_CTG] && hdr_->id[BCF_DT_CTG][rec->rid].key != nullptr)
    v.contig = hdr_->id[BCF_DT_CTG][rec->rid].key;
  v.pos0 = rec->pos;
  if (!(rec->unpacked & BCF_UN_STR)) bcf_unpack(rec, BCF_UN_STR);
  if (rec->n_allele > 0) v.ref = rec->d.allele[0];
  for (int i = 1; i < rec->n_allele; ++i) v.alts.emplace_back(rec->d.allele[i]);
  return v;
}

}  // namespace strand::genomics
