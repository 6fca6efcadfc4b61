// RAII ownership of every HTSlib handle strand uses. Each is a unique_ptr with the matching
// HTSlib destructor, so no handle leaks on an exception. Close-with-status (hts_close,
// bgzf_close) is done explicitly by writers through close_checked(), where a failed close
// means a failed write; the deleters are for the error paths.
#pragma once

#include <htslib/bgzf.h>
#include <htslib/faidx.h>
#include <htslib/hfile.h>
#include <htslib/hts.h>
#include <htslib/kstring.h>
#include <htslib/sam.h>
#include <htslib/synced_bcf_reader.h>
#include <htslib/tbx.h>
#include <htslib/vcf.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

namespace strand::genomics {

struct HtsFileDeleter { void operator()(htsFile* p) const noexcept { if (p) hts_close(p); } };
struct BgzfDeleter { void operator()(BGZF* p) const noexcept { if (p) bgzf_close(p); } };
struct SamHdrDeleter { void operator()(sam_hdr_t* p) const noexcept { if (p) sam_hdr_destroy(p); } };
struct Bam1Deleter { void operator()(bam1_t* p) const noexcept { if (p) bam_destroy1(p); } };
struct BcfHdrDeleter { void operator()(bcf_hdr_t* p) const noexcept { if (p) bcf_hdr_destroy(p); } };
struct Bcf1Deleter { void operator()(bcf1_t* p) const noexcept { if (p) bcf_destroy(p); } };
struct FaidxDeleter { void operator()(faidx_t* p) const noexcept { if (p) fai_destroy(p); } };
struct HtsIdxDeleter { void operator()(hts_idx_t* p) const noexcept { if (p) hts_idx_destroy(p); } };
struct HtsItrDeleter { void operator()(hts_itr_t* p) const noexcept { if (p) hts_itr_destroy(p); } };
struct TbxDeleter { void operator()(tbx_t* p) const noexcept { if (p) tbx_destroy(p); } };
struct BcfSrsDeleter { void operator()(bcf_srs_t* p) const noexcept { if (p) bcf_sr_destroy(p); } };
// An hFILE is only held between opening and handing over to BGZF/htsFile, and on error paths.
struct HFileDeleter { void operator()(hFILE* p) const noexcept { if (p) hclose_abruptly(p); } };
struct MallocDeleter { void operator()(void* p) const noexcept { std::free(p); } };

using HtsFilePtr = std::unique_ptr<htsFile, HtsFileDeleter>;
using BgzfPtr = std::unique_ptr<BGZF, BgzfDeleter>;
using SamHdrPtr = std::unique_ptr<sam_hdr_t, SamHdrDeleter>;
using Bam1Ptr = std::unique_ptr<bam1_t, Bam1Deleter>;
using BcfHdrPtr = std::unique_ptr<bcf_hdr_t, BcfHdrDeleter>;
using Bcf1Ptr = std::unique_ptr<bcf1_t, Bcf1Deleter>;
using FaidxPtr = std::unique_ptr<faidx_t, FaidxDeleter>;
using HtsIdxPtr = std::unique_ptr<hts_idx_t, HtsIdxDeleter>;
using HtsItrPtr = std::unique_ptr<hts_itr_t, HtsItrDeleter>;
using TbxPtr = std::unique_ptr<tbx_t, TbxDeleter>;
using HFilePtr = std::unique_ptr<hFILE, HFileDeleter>;
using BcfSrsPtr = std::unique_ptr<bcf_srs_t, BcfSrsDeleter>;
template <typename T>
using MallocPtr = std::unique_ptr<T, MallocDeleter>;

// kstring_t owned for the scope (ks_free on exit).
class KString {
 public:
  KString() = default;
  ~KString() { ks_free(&ks_); }
  KString(const KString&) = delete;
  KString& operator=(const KString&) = delete;
  kstring_t* get() { return &ks_; }
  std::string_view view() const { return {ks_.s ? ks_.s : "", ks_.l}; }
  void clear() { ks_.l = 0; }

 private:
  kstring_t ks_ = KS_INITIALIZE;
};

// Opens with hts_open; throws strand::Error naming the file and the OS reason on failure.
// `what` says what the file was for ("VCF input", "reference FASTA").
HtsFilePtr open_hts(const std::string& path, const char* mode, std::string_view what);
// Opens a (possibly gzip/bgzip-compressed) text or binary stream through BGZF.
BgzfPtr open_bgzf(const std::string& path, const char* mode, std::string_view what);
// Opens a raw HTSlib stream (hopen), e.g. to sniff stdin's format before choosing a reader.
HFilePtr open_hfile(const std::string& path, const char* mode, std::string_view what);
// Pushes buffered output to the file (compressed: ends the current BGZF block; uncompressed
// "wu" streams: flushes the underlying hFILE, since HTSlib 1.16's bgzf_flush crashes on them).
// Throws strand::Error naming `path` on failure.
void flush_checked(BGZF* file, const std::string& path);
// hts_close / bgzf_close that throws strand::Error when flushing or closing fails.
void close_checked(HtsFilePtr& file, const std::string& path);
void close_checked(BgzfPtr& file, const std::string& path);

// The reason of the last failed system call, or a generic phrase when errno is 0.
std::string errno_reason();

}  // namespace strand::genomics
