#include "genomics/vcf_writer.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/log.h"
#include "core/text.h"

namespace strand::genomics {
namespace {

constexpr char kWhere[] = "vcf";
// Room kept in the output header's ID dictionaries for contigs and tags that htslib may add to
// the input header while reading (undeclared in its header): they get the same IDs in both
// headers, and lines this writer adds are numbered after that room. See sync_with_input().
constexpr int kReservedIds = 4096;

struct HrecDeleter {
  void operator()(bcf_hrec_t* p) const noexcept {
    if (p) bcf_hrec_destroy(p);
  }
};
using HrecPtr = std::unique_ptr<bcf_hrec_t, HrecDeleter>;

const char* hts_mode(VcfFormat format) {
  switch (format) {
    case VcfFormat::kVcf: return "w";
    case VcfFormat::kVcfGz: return "wz";
    case VcfFormat::kBcf: return "wb";
    case VcfFormat::kBcfUncompressed: return "wbu";
  }
  return "w";
}

bool is_bcf(VcfFormat format) {
  return format == VcfFormat::kBcf || format == VcfFormat::kBcfUncompressed;
}

std::string record_locus(const bcf_hdr_t* hdr, const bcf1_t* rec) {
  const char* contig = rec->rid >= 0 && rec->rid < hdr->n[BCF_DT_CTG] ? hdr->id[BCF_DT_CTG][rec->rid].key : nullptr;
  return cat(contig ? contig : "?", ":", rec->pos + 1);
}

const char* tag_kind(const bcf_idinfo_t* val) {
  if (val->hrec[BCF_HL_INFO]) return "INFO tag";
  if (val->hrec[BCF_HL_FMT]) return "FORMAT tag";
  return "FILTER";
}

}  // namespace

VcfFormat parse_vcf_format(char letter) {
  switch (letter) {
    case 'v': return VcfFormat::kVcf;
    case 'z': return VcfFormat::kVcfGz;
    case 'b': return VcfFormat::kBcf;
    case 'u': return VcfFormat::kBcfUncompressed;
    default: fail("invalid output format '", std::string(1, letter), "': expected v, z, b or u");
  }
}

VcfFormat guess_vcf_format(std::string_view path) {
  if (path.ends_with(".bcf")) return VcfFormat::kBcf;
  if (path.ends_with(".gz") || path.ends_with(".bgz")) return VcfFormat::kVcfGz;
  return VcfFormat::kVcf;
}

VcfWriter::VcfWriter(AtomicOutput& output, const bcf_hdr_t* template_header, const VcfWriterOptions& options)
    : output_(output), options_(options), input_hdr_(template_header) {
  STRAND_ASSERT(template_header != nullptr);
  const std::string& name = output_.final_path();
  if (options_.index != IndexKind::kNone) {
    if (output_.is_stdout()) fail("cannot index standard output: write to a file (-o) to use -W");
    if (options_.format == VcfFormat::kVcf || options_.format == VcfFormat::kBcfUncompressed)
      fail("cannot index '", name, "': only compressed output (-O z or -O b) can be indexed");
    if (options_.index == IndexKind::kTbi && options_.format != VcfFormat::kVcfGz)
      fail("cannot write a .tbi index for BCF '", name, "': BCF takes a .csi index");
  }

  hdr_.reset(bcf_hdr_dup(template_header));
  if (!hdr_) fail("cannot copy the VCF header for '", name, "'");
  // bcf_hdr_dup keeps IDs (it copies IDX=); records read with the input header rely on that.
  for (int dict : {BCF_DT_ID, BCF_DT_CTG}) {
    const int n = template_header->n[dict];
    for (int i = 0; i < n; ++i) {
      const char* key = template_header->id[dict][i].key;
      if (key == nullptr) continue;
      STRAND_ASSERT(i < hdr_->n[dict] && hdr_->id[dict][i].key && std::strcmp(hdr_->id[dict][i].key, key) == 0,
                    "bcf_hdr_dup renumbered '", key, "'");
    }
    mirrored_[dict] = n;
    next_own_id_[dict] = std::max(n, hdr_->n[dict]) + kReservedIds;
  }

  fp_ = open_hts(output_.path(), hts_mode(options_.format), "VCF output");
  if (options_.threads > 0 && options_.format != VcfFormat::kVcf && hts_set_threads(fp_.get(), options_.threads) != 0)
    fail("cannot start ", options_.threads, " compression threads for '", name, "'");
}

VcfWriter::~VcfWriter() = default;  // an unclosed file is closed (and removed by the AtomicOutput)

void VcfWriter::append_line(std::string_view line) {
  STRAND_ASSERT(!header_written_, "header lines must be added before write_header()");
  const std::string text(line);
  int len = 0;
  HrecPtr hrec(bcf_hdr_parse_line(hdr_.get(), text.c_str(), &len));
  if (!hrec) fail("invalid VCF header line ", quote_for_message(line, 200), " for '", output_.final_path(), "'");
  // hrec->type is set only when the line is registered: go by the key.
  const std::string_view key = hrec->key ? hrec->key : "";
  int dict = -1;
  if (key == "contig") dict = BCF_DT_CTG;
  if (key == "INFO" || key == "FORMAT" || key == "FILTER") dict = BCF_DT_ID;
  if (dict >= 0) {
    const int id_key = bcf_hrec_find_key(hrec.get(), "ID");
    if (id_key < 0) fail("VCF header line ", quote_for_message(line, 200), " has no ID");
    if (bcf_hrec_find_key(hrec.get(), "IDX") >= 0) fail("VCF header line ", quote_for_message(line, 200), " has IDX=");
    if (bcf_hdr_id2int(hdr_.get(), dict, hrec->vals[id_key]) < 0) {
      const std::string idx = std::to_string(next_own_id_[dict]++);
      if (bcf_hrec_add_key(hrec.get(), "IDX", 3) < 0 ||
          bcf_hrec_set_val(hrec.get(), hrec->nkeys - 1, idx.data(), idx.size(), 0) < 0)
        fail("out of memory adding a header line");
    }
  }
  if (bcf_hdr_add_hrec(hdr_.get(), hrec.get()) < 0)
    fail("cannot add header line ", quote_for_message(line, 200), " to '", output_.final_path(), "'");
  hrec.release();  // owned by the header now (or already freed as a duplicate)
  if (bcf_hdr_sync(hdr_.get()) < 0) fail("cannot update the VCF header of '", output_.final_path(), "'");
}

void VcfWriter::add_info_float(std::string_view id, std::string_view number, std::string_view description) {
  if (id.empty() ||
      !std::all_of(id.begin(), id.end(),
                   [](char c) {
                     return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                            c == '.';
                   }) ||
      (id[0] >= '0' && id[0] <= '9'))
    fail("invalid INFO tag name ", quote_for_message(id));
  if (number.empty() || !(number == "A" || number == "R" || number == "G" || number == "." ||
                          std::all_of(number.begin(), number.end(), [](char c) { return c >= '0' && c <= '9'; })))
    fail("invalid INFO Number ", quote_for_message(number), " for tag ", std::string(id));
  std::string escaped;
  for (char c : description) {
    if (c == '\n' || c == '\r' || c == '\t') fail("INFO description of ", std::string(id), " has a control character");
    if (c == '"' || c == '\\') escaped += '\\';
    escaped += c;
  }
  const std::string key(id);
  if (bcf_hdr_get_hrec(hdr_.get(), BCF_HL_INFO, "ID", key.c_str(), nullptr) != nullptr) {
    log_warning(kWhere, "the input header already defines INFO/", key, "; replacing its definition in '",
                output_.final_path(), "'");
    // The dictionary entry stays, so the new definition keeps the old ID in both headers.
    bcf_hdr_remove(hdr_.get(), BCF_HL_INFO, key.c_str());
  }
  append_line(cat("##INFO=<ID=", key, ",Number=", number, ",Type=Float,Description=\"", escaped, "\">"));
}

void VcfWriter::add_header_line(std::string_view line) {
  if (line.size() < 4 || line.substr(0, 2) != "##" || line.find('=') == std::string_view::npos ||
      line.find('\n') != std::string_view::npos)
    fail("invalid VCF header line ", quote_for_message(line, 200), ": expected one '##key=value' line");
  append_line(line);
}

void VcfWriter::remove_header_lines(std::string_view key) {
  STRAND_ASSERT(!header_written_, "remove_header_lines after write_header");
  const std::string k(key);
  bcf_hdr_remove(hdr_.get(), BCF_HL_GEN, k.c_str());
  if (bcf_hdr_sync(hdr_.get()) < 0) fail("cannot update the VCF header for ", output_.final_path());
}

void VcfWriter::sync_with_input() {
  bool changed = false;
  for (int dict : {BCF_DT_ID, BCF_DT_CTG}) {
    const int n_in = input_hdr_->n[dict];
    for (int i = mirrored_[dict]; i < n_in; ++i) {
      const bcf_idpair_t& pair = input_hdr_->id[dict][i];
      if (pair.key == nullptr || pair.val == nullptr) continue;
      const std::string key = pair.key;
      const char* kind = dict == BCF_DT_CTG ? "contig" : tag_kind(pair.val);
      const int out_id = bcf_hdr_id2int(hdr_.get(), dict, key.c_str());
      if (out_id == i) continue;
      if (out_id >= 0)
        fail("cannot write '", output_.final_path(), "': the input uses the ", kind, " '", key,
             "' without declaring it in its header, and this output defines '", key,
             "' itself; remove it from the input first (e.g. bcftools annotate -x INFO/", key, ")");
      if (header_written_ && is_bcf(options_.format))
        fail("cannot write BCF '", output_.final_path(), "': the ", kind, " '", key,
             "' is not declared in the input's header (htslib added it while reading); BCF needs every contig and "
             "tag declared before the records: declare it in the input (e.g. bcftools annotate -h, bcftools reheader) "
             "or write VCF (-O v or -O z)");
      // The mirrored definition takes the input's ID (IDX=i) so that records need no translation.
      const std::string idx = std::to_string(i);
      for (int type = 0; type < (dict == BCF_DT_CTG ? 1 : 3); ++type) {
        if (pair.val->hrec[type] == nullptr) continue;
        HrecPtr hrec(bcf_hrec_dup(pair.val->hrec[type]));
        if (!hrec || bcf_hrec_add_key(hrec.get(), "IDX", 3) < 0 ||
            bcf_hrec_set_val(hrec.get(), hrec->nkeys - 1, idx.data(), idx.size(), 0) < 0)
          fail("out of memory copying a header line");
        if (bcf_hdr_add_hrec(hdr_.get(), hrec.get()) < 0)
          fail("cannot write '", output_.final_path(), "': cannot add the ", kind, " '", key,
               "' to the output header (more than ", kReservedIds, " undeclared contigs or tags in the input?)");
        hrec.release();
      }
      changed = true;
    }
    mirrored_[dict] = std::max(mirrored_[dict], n_in);
  }
  if (!changed) return;
  if (bcf_hdr_sync(hdr_.get()) < 0) fail("cannot update the VCF header of '", output_.final_path(), "'");
}

void VcfWriter::write_header() {
  STRAND_ASSERT(!header_written_ && fp_, "write_header() called twice");
  sync_with_input();
  errno = 0;
  if (bcf_hdr_write(fp_.get(), hdr_.get()) < 0)
    fail("cannot write the VCF header of '", output_.final_path(), "': ", errno_reason());
  if (options_.index != IndexKind::kNone) {
    const bool tbi = options_.index == IndexKind::kTbi;
    index_path_ = output_.companion(tbi ? ".tbi" : ".csi");
    // htslib keeps the pointer to the name: index_path_ must not change until close().
    if (bcf_idx_init(fp_.get(), hdr_.get(), tbi ? 0 : 14, index_path_.c_str()) < 0)
      fail("cannot start the index of '", output_.final_path(), "'");
  }
  header_written_ = true;
}

void VcfWriter::set_info_floats(bcf1_t* rec, const char* tag, std::span<const float> values) {
  sync_with_input();  // the record's IDs must mean the same in both headers before it is edited
  const size_t n_alt = rec->n_allele > 0 ? static_cast<size_t>(rec->n_allele - 1) : 0;
  STRAND_ASSERT(values.size() == n_alt, "set_info_floats: ", values.size(), " values for ", n_alt, " ALT alleles");
  floats_.assign(values.begin(), values.end());
  bool all_missing = true;
  for (float& v : floats_) {
    if (std::isnan(v))
      bcf_float_set_missing(v);
    else
      all_missing = false;
  }
  if (all_missing) {  // one '.' rather than ".,.,."
    floats_.assign(1, 0.0f);
    bcf_float_set_missing(floats_[0]);
  }
  if (bcf_update_info_float(hdr_.get(), rec, tag, floats_.data(), static_cast<int>(floats_.size())) < 0)
    fail("cannot set INFO/", tag, " at ", record_locus(hdr_.get(), rec), " for '", output_.final_path(),
         "' (is it declared in the output header?)");
}

void VcfWriter::write(bcf1_t* rec) {
  STRAND_ASSERT(header_written_ && fp_, "write() before write_header() or after close()");
  sync_with_input();
  if (rec->rid < 0 || rec->rid >= hdr_->n[BCF_DT_CTG] || hdr_->id[BCF_DT_CTG][rec->rid].key == nullptr)
    fail("cannot write record ", records_ + 1, " to '", output_.final_path(), "': contig id ", rec->rid,
         " is not in the output header");
  if ((rec->errcode & ~(BCF_ERR_CTG_UNDEF | BCF_ERR_TAG_UNDEF)) != 0)
    fail("cannot write record ", records_ + 1, " (", record_locus(hdr_.get(), rec), ") to '", output_.final_path(),
         "': the record is malformed (htslib error code ", rec->errcode, ")");
  // Undeclared contigs and tags are declared in the output header now (sync_with_input), which
  // is what bcf_write checks these bits for.
  rec->errcode = 0;
  errno = 0;
  if (bcf_write(fp_.get(), hdr_.get(), rec) < 0)
    fail("cannot write record ", records_ + 1, " (", record_locus(hdr_.get(), rec), ") to '", output_.final_path(),
         "': ", errno ? errno_reason() : std::string("htslib refused the record"));
  ++records_;
}

void VcfWriter::close() {
  if (!fp_) return;
  if (!header_written_) write_header();  // an empty VCF still has its header
  if (options_.index != IndexKind::kNone && bcf_idx_save(fp_.get()) < 0)
    fail("cannot write the index of '", output_.final_path(), "' (disk full?)");
  close_checked(fp_, output_.final_path());
}

}  // namespace strand::genomics
