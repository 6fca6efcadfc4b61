#include "genomics/sequence_source.h"

#include <htslib/hfile.h>
#include <sys/stat.h>

#include <cerrno>
#include <utility>

#include "core/error.h"
#include "core/text.h"
#include "genomics/fasta_index.h"
#include "genomics/fastx_reader.h"

namespace strand::genomics {
namespace {

// Peeks at the start of the stream (nothing is consumed).
htsFormat sniff(hFILE* hf, const std::string& path) {
  htsFormat fmt{};
  errno = 0;
  if (hts_detect_format2(hf, path.c_str(), &fmt) < 0) fail("cannot read '", path, "': ", errno_reason());
  return fmt;
}

const char* const kKnownFormats = "FASTA, FASTQ, SAM, BAM or CRAM";

// Maps what HTSlib saw to a sequence format; `text_fallback` is tried for plain text, which
// HTSlib calls text when a FASTA/FASTQ does not start with its header byte (leading blank
// lines) or is broken (then the fallback throws the precise error).
template <typename TextFallback>
SequenceFormat classify(const htsFormat& fmt, const std::string& path, TextFallback text_fallback) {
  switch (fmt.format) {
    case fasta_format: return SequenceFormat::kFasta;
    case fastq_format: return SequenceFormat::kFastq;
    case sam: return SequenceFormat::kSam;
    case bam: return SequenceFormat::kBam;
    case cram: return SequenceFormat::kCram;
    case empty_format: fail("file '", path, "' is empty (expected ", kKnownFormats, ")");
    case text_format: return text_fallback();
    default: break;
  }
  MallocPtr<char> desc(hts_format_description(&fmt));
  fail("file '", path, "' is not a sequence file (", kKnownFormats, "): it is ",
       desc ? desc.get() : "of an unknown format");
}

BgzfPtr adopt_bgzf(HFilePtr& hf, const std::string& path) {
  BgzfPtr fp(bgzf_hopen(hf.get(), "r"));
  if (!fp) fail("cannot open sequence input '", path, "': ", errno_reason());
  hf.release();  // now owned by the BGZF handle
  return fp;
}

}  // namespace

const char* to_string(SequenceFormat format) {
  switch (format) {
    case SequenceFormat::kFasta: return "FASTA";
    case SequenceFormat::kFastq: return "FASTQ";
    case SequenceFormat::kSam: return "SAM";
    case SequenceFormat::kBam: return "BAM";
    case SequenceFormat::kCram: return "CRAM";
  }
  return "unknown";
}

SequenceFormat detect_sequence_format(const std::string& path) {
  if (path == "-") fail("cannot detect the format of stdin without consuming it: open it with SequenceSource");
  HFilePtr hf = open_hfile(path, "r", "sequence input");
  const htsFormat fmt = sniff(hf.get(), path);
  return classify(fmt, path, [&] {
    const FastxReader reader(adopt_bgzf(hf, path), path);
    return reader.format() == FastxFormat::kFasta ? SequenceFormat::kFasta : SequenceFormat::kFastq;
  });
}

struct SequenceSource::Impl {
  std::unique_ptr<FastxReader> fastx;
  std::unique_ptr<IndexedFasta> fasta;
  std::vector<Region> regions;
  size_t next_region = 0;
  std::unique_ptr<ReadReader> reads;
};

SequenceSource::SequenceSource(const std::string& path, const SequenceSourceOptions& options)
    : path_(path), impl_(std::make_unique<Impl>()) {
  HFilePtr hf = open_hfile(path, "r", "sequence input");
  const htsFormat fmt = sniff(hf.get(), path);
  format_ = classify(fmt, path, [&] {
    impl_->fastx = std::make_unique<FastxReader>(adopt_bgzf(hf, path), path);
    return impl_->fastx->format() == FastxFormat::kFasta ? SequenceFormat::kFasta : SequenceFormat::kFastq;
  });
  const bool has_regions = !options.regions.empty();

  switch (format_) {
    case SequenceFormat::kFastq:
      if (has_regions) fail("regions were given but '", path, "' is FASTQ: regions need an indexed FASTA or BAM/CRAM");
      [[fallthrough]];
    case SequenceFormat::kFasta:
      if (has_regions) {
        if (path == "-") fail("regions were given but the FASTA comes from stdin: regions need an indexed file");
        impl_->fastx.reset();
        hf.reset();
        impl_->fasta = std::make_unique<IndexedFasta>(path);
        impl_->regions = options.regions;
        // Fail early on an unknown contig or a region outside its contig, before any output.
        for (const Region& r : impl_->regions) {
          const auto len = impl_->fasta->contig_length(r.contig);
          if (!len)
            fail("contig ", quote_for_message(r.contig), " of region ", r.to_string(), " is not in '", path, "'");
          try {
            clamp_to_contig(r, *len);
          } catch (const Error& err) {
            fail("'", path, "': ", err.what());
          }
        }
      } else if (!impl_->fastx) {
        impl_->fastx = std::make_unique<FastxReader>(adopt_bgzf(hf, path), path);
      }
      break;
    case SequenceFormat::kSam:
    case SequenceFormat::kBam:
    case SequenceFormat::kCram: {
      HtsFilePtr fp(hts_hopen(hf.get(), path.c_str(), "r"));
      if (!fp) fail("cannot open read input '", path, "': ", errno_reason());
      hf.release();  // now owned by the htsFile
      impl_->reads =
          std::make_unique<ReadReader>(std::move(fp), path, options.read_filter, options.reference, options.threads);
      if (has_regions) impl_->reads->set_regions(options.regions);
      break;
    }
  }
}

SequenceSource::~SequenceSource() = default;

bool SequenceSource::next(SeqRecord& rec) {
  Impl& impl = *impl_;
  if (impl.fastx) return impl.fastx->next(rec);
  if (impl.reads) return impl.reads->next(rec);
  if (impl.fasta) {
    if (impl.next_region == impl.regions.size()) return false;
    rec = impl.fasta->fetch_record(impl.regions[impl.next_region++]);
    return true;
  }
  return false;
}

SequenceSources::SequenceSources(std::vector<std::string> paths, SequenceSourceOptions options)
    : paths_(std::move(paths)), options_(std::move(options)) {}

bool SequenceSources::next(SeqRecord& rec) {
  while (true) {
    if (!current_) {
      if (next_path_ == paths_.size()) return false;
      current_ = std::make_unique<SequenceSource>(paths_[next_path_++], options_);
    }
    if (current_->next(rec)) return true;
    current_.reset();
  }
}

}  // namespace strand::genomics
