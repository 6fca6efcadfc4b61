#include "pipelines/score.h"

#include <oneapi/tbb/parallel_pipeline.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/log.h"
#include "core/output_file.h"
#include "core/progress.h"
#include "core/text.h"
#include "core/version.h"
#include "genomics/fasta_index.h"
#include "genomics/tokenizer.h"
#include "genomics/vcf_reader.h"
#include "genomics/vcf_writer.h"
#include "model/backbone.h"
#include "model/weights.h"
#include "pipelines/backbone_pool.h"
#include "pipelines/compute_scope.h"
#include "pipelines/model_resolver.h"
#include "pipelines/window_scorer.h"

namespace strand::pipelines {
namespace {

constexpr float kMissing = std::numeric_limits<float>::quiet_NaN();
constexpr int kMaxRefWarnings = 10;  // REF mismatch warnings printed one by one, then only counted

// Model inputs of one allele (or of its record's reference), per strand: 0 forward, 1 reverse
// complement; -1 where not needed.
struct StrandJobs {
  int job[2] = {-1, -1};
};

struct AllelePlan {
  SkipReason reason = SkipReason::kNone;      // both tags '.'
  SkipReason llr_reason = SkipReason::kNone;  // STRAND_LLR '.' (EDIST may still be given)
  int ref_nt = -1, alt_nt = -1;               // A, C, G, T = 0..3 (masked SNV LLR)
  StrandJobs alt;                             // ALT window: causal LLR and EDIST
  float llr = kMissing, edist = kMissing;
};

struct RecordPlan {
  genomics::Bcf1Ptr rec;
  SkipReason reason = SkipReason::kNone;
  StrandJobs masked;  // masked models: the masked reference window
  StrandJobs ref;     // the unmasked reference window: causal LLR and EDIST
  std::vector<AllelePlan> alleles;
};

struct Chunk {
  std::vector<RecordPlan> records;
  std::vector<WindowRequest> requests;
  std::map<std::vector<int32_t>, int> request_of;  // identical windows run once
  std::vector<WindowOutput> outputs;
};

// The job of window `ids`, asking for what the flags say (merged into an existing identical
// window's request).
int request(Chunk& chunk, std::vector<int32_t> ids, int64_t masked_row, bool loglik, bool features) {
  auto [it, added] = chunk.request_of.try_emplace(ids, static_cast<int>(chunk.requests.size()));
  if (added) chunk.requests.push_back(WindowRequest{std::move(ids), masked_row, loglik, features});
  WindowRequest& r = chunk.requests[static_cast<size_t>(it->second)];
  r.loglik |= loglik;
  r.features |= features;
  return it->second;
}

// How a run scores, fixed once from the options and the model.
struct Scoring {
  bool causal = false;  // window log-likelihood ratio instead of the masked SNV LLR
  bool rcps = false;    // features of one pass are RC-invariant already
  bool both_strands = true;
  bool llr = true, edist = true;
  int64_t window = 0;

  // The reverse complement's features are needed only where one pass is not RC-invariant.
  bool rc_features() const { return edist && both_strands && !rcps; }
  // An RC-equivariant model's logits on the reverse complement are its forward logits mirrored
  // and complemented (logits(rc x)[W-1-i, comp v] = logits(x)[i, v]: the architecture's
  // identity, which tests check numerically), so the reverse strand's masked LLR equals the
  // forward one and needs no pass of its own; other models run it.
  bool rc_masked_pass() const { return both_strands && !rcps; }
};

// A, C, G, T (any case) = 0..3, anything else -1.
int nucleotide(char base) {
  return genomics::nucleotide_index(genomics::token_of(base));
}

bool same_bases(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

// Reads records, finds their windows and plans their model inputs.
class Planner {
 public:
  Planner(const ScoreOptions& o, const Scoring& s, genomics::VcfReader& reader, genomics::IndexedFasta& fasta)
      : o_(o), s_(s), reader_(reader), fasta_(fasta) {}

  // Up to `max_records` records into a new chunk; nullptr at the end of the input.
  std::unique_ptr<Chunk> next_chunk(size_t max_records) {
    auto chunk = std::make_unique<Chunk>();
    while (chunk->records.size() < max_records) {
      genomics::Bcf1Ptr rec(bcf_init());
      if (!rec) fail("out of memory reading ", reader_.path());
      if (!reader_.next(rec.get())) break;
      chunk->records.emplace_back();
      chunk->records.back().rec = std::move(rec);
      plan(*chunk, chunk->records.back());
    }
    if (chunk->records.empty()) return nullptr;
    return chunk;
  }

 private:
  // The reference contig a VCF contig is read from (chr prefix tolerated), or nullopt.
  const std::optional<std::string>& contig_in_fasta(std::string_view vcf_contig) {
    auto it = contig_map_.find(std::string(vcf_contig));
    if (it != contig_map_.end()) return it->second;
    std::optional<std::string> found;
    if (fasta_.contig_length(vcf_contig)) {
      found = std::string(vcf_contig);
    } else if (const std::string alias = chr_alias(vcf_contig); fasta_.contig_length(alias)) {
      if (!said_alias_)
        log_info("score", "contig names differ by a 'chr' prefix: VCF '", vcf_contig, "' is read as '", alias, "' in ",
                 fasta_.path(), " (and likewise for any others)");
      said_alias_ = true;
      found = alias;
    }
    return contig_map_.emplace(std::string(vcf_contig), std::move(found)).first->second;
  }

  void plan(Chunk& chunk, RecordPlan& r) {
    const genomics::VariantView v = reader_.view(r.rec.get());
    r.alleles.resize(v.alts.size());  // ALT '.': none (Number=A tags have no value to give)
    const std::optional<std::string>& contig = contig_in_fasta(v.contig);
    if (!contig) return skip_record(r, SkipReason::kContigAbsent);
    const int64_t contig_len = *fasta_.contig_length(*contig);
    const auto ref_len = static_cast<int64_t>(v.ref.size());
    if (v.pos0 < 0) return ref_mismatch(r, v, "POS 0 is before the contig's first base");
    if (v.pos0 + ref_len > contig_len) return ref_mismatch(r, v, "runs past the end of the contig");

    const WindowPlacement w = place_window(v.pos0, contig_len, s_.window);
    // The window plus REF: the ALT window may need bases after REF.
    fasta_.fetch(genomics::Region{*contig, w.start0, std::min(contig_len, w.start0 + w.len_bp + ref_len)}, seq_);
    const std::string_view seq(seq_);
    const std::string_view ref_in_fasta = seq.substr(static_cast<size_t>(w.centre), static_cast<size_t>(ref_len));
    if (!same_bases(v.ref, ref_in_fasta)) return ref_mismatch(r, v, cat("the reference has ", ref_in_fasta));
    const std::string_view ref_window = seq.substr(0, static_cast<size_t>(w.len_bp));
    if (!window_has_bases(ref_window, w.centre, ref_len)) return skip_record(r, SkipReason::kWindowAllN);

    const std::vector<int32_t> ref_ids = genomics::tokenize(ref_window);
    bool any_alt = false, any_snv = false;
    for (size_t a = 0; a < v.alts.size(); ++a) {
      AllelePlan& ap = r.alleles[a];
      ap.reason = classify_alt(v.alts[a]);
      if (ap.reason != SkipReason::kNone) continue;
      any_alt = true;
      if (!s_.causal) {
        if (ref_len != 1 || v.alts[a].size() != 1) {
          ap.llr_reason = SkipReason::kNotSnv;
        } else {
          ap.ref_nt = nucleotide(v.ref[0]);
          ap.alt_nt = nucleotide(v.alts[a][0]);
          ap.llr_reason = ap.ref_nt < 0   ? SkipReason::kRefNotAcgt
                          : ap.alt_nt < 0 ? SkipReason::kAltNotAcgt
                                          : SkipReason::kNone;
        }
        if (!s_.llr) ap.llr_reason = SkipReason::kNone;  // not asked: not a skip
        any_snv |= s_.llr && ap.llr_reason == SkipReason::kNone;
      }
      // ALT window: causal LLR (both strands unless --no-rc) and EDIST features.
      const bool alt_ll = s_.causal && s_.llr;
      if (alt_ll || s_.edist) {
        const std::vector<int32_t> alt_ids =
            genomics::tokenize(alt_window(seq, w.centre, ref_len, v.alts[a], w.len_bp));
        ap.alt.job[0] = request(chunk, alt_ids, -1, alt_ll, s_.edist);
        if ((alt_ll && s_.both_strands) || s_.rc_features())
          ap.alt.job[1] = request(chunk, genomics::reverse_complement_tokens(alt_ids), -1, alt_ll && s_.both_strands,
                                  s_.rc_features());
      }
    }
    if (!any_alt) return;
    // The reference window, shared by every ALT of the record (and by other records there).
    const bool ref_ll = s_.causal && s_.llr;
    if (ref_ll || s_.edist) {
      r.ref.job[0] = request(chunk, ref_ids, -1, ref_ll, s_.edist);
      if ((ref_ll && s_.both_strands) || s_.rc_features())
        r.ref.job[1] = request(chunk, genomics::reverse_complement_tokens(ref_ids), -1, ref_ll && s_.both_strands,
                               s_.rc_features());
    }
    if (any_snv) {
      // One masked pass per position and strand: every SNV ALT there reads the same logits.
      std::vector<int32_t> masked = ref_ids;
      masked[static_cast<size_t>(w.centre)] = genomics::kTokenMask;
      r.masked.job[0] = request(chunk, masked, w.centre, false, false);
      if (s_.rc_masked_pass())
        r.masked.job[1] =
            request(chunk, genomics::reverse_complement_tokens(masked), w.len_bp - 1 - w.centre, false, false);
    }
  }

  void skip_record(RecordPlan& r, SkipReason reason) {
    r.reason = reason;
    for (AllelePlan& a : r.alleles) a.reason = reason;
  }

  void ref_mismatch(RecordPlan& r, const genomics::VariantView& v, const std::string& what) {
    const std::string where = cat(reader_.path(), ": record ", reader_.records_read(), " (", v.contig, ":", v.pos0 + 1,
                                  "): REF ", v.ref, " does not match ", fasta_.path(), ": ", what);
    if (o_.check_ref == CheckRef::kError) fail(where);
    if (o_.check_ref == CheckRef::kWarn && ref_warnings_++ < kMaxRefWarnings)
      log_warning("score", where, ref_warnings_ == kMaxRefWarnings ? " (further mismatches are only counted)" : "");
    skip_record(r, SkipReason::kRefMismatch);
  }

  const ScoreOptions& o_;
  const Scoring& s_;
  genomics::VcfReader& reader_;
  genomics::IndexedFasta& fasta_;
  std::unordered_map<std::string, std::optional<std::string>> contig_map_;
  bool said_alias_ = false;
  int ref_warnings_ = 0;
  std::string seq_;
};

// Per-allele values from the chunk's window outputs.
void finish_scores(Chunk& chunk, const Scoring& s) {
  const auto& out = chunk.outputs;
  const auto features = [&](const StrandJobs& j) {
    std::vector<double> f = out[static_cast<size_t>(j.job[0])].features;
    if (j.job[1] >= 0) {
      const std::vector<double>& rc = out[static_cast<size_t>(j.job[1])].features;
      for (size_t c = 0; c < f.size(); ++c) f[c] = 0.5 * (f[c] + rc[c]);
    }
    return f;
  };
  for (RecordPlan& r : chunk.records) {
    std::vector<double> ref_features;
    if (s.edist && r.ref.job[0] >= 0) ref_features = features(r.ref);
    for (AllelePlan& a : r.alleles) {
      if (a.reason != SkipReason::kNone) continue;
      if (s.llr && s.causal) {
        double llr = out[static_cast<size_t>(a.alt.job[0])].loglik - out[static_cast<size_t>(r.ref.job[0])].loglik;
        if (s.both_strands)
          llr = 0.5 *
                (llr + out[static_cast<size_t>(a.alt.job[1])].loglik - out[static_cast<size_t>(r.ref.job[1])].loglik);
        a.llr = static_cast<float>(llr);
      } else if (s.llr && a.llr_reason == SkipReason::kNone) {
        const auto& lp = out[static_cast<size_t>(r.masked.job[0])].nucleotide_logp;
        double llr = lp[static_cast<size_t>(a.alt_nt)] - lp[static_cast<size_t>(a.ref_nt)];
        if (s.rc_masked_pass()) {
          // The reverse strand compares the complemented alleles: A<->T, C<->G is 3 - index.
          const auto& rc = out[static_cast<size_t>(r.masked.job[1])].nucleotide_logp;
          llr = 0.5 * (llr + rc[static_cast<size_t>(3 - a.alt_nt)] - rc[static_cast<size_t>(3 - a.ref_nt)]);
        }
        a.llr = static_cast<float>(llr);
      }
      if (s.edist) a.edist = static_cast<float>(cosine_distance(ref_features, features(a.alt)));
    }
  }
}

std::string describe_llr(const Scoring& s, const std::string& model) {
  const std::string strands = !s.both_strands ? "forward strand only"
                              : s.rcps && !s.causal
                                  ? "mean of both strands (RC-equivariant model: both strands from one pass)"
                                  : "mean of both strands";
  if (s.causal)
    return cat("Log-likelihood ratio: sum of next-base log p over the ALT window minus over the REF window (", s.window,
               " bp, the variant's first REF base at index ", s.window / 2,
               ", first base not scored, ALT window cut or extended with reference bases on the right), ", strands,
               "; causal model ", model);
  return cat("Log-likelihood ratio log p(ALT) - log p(REF) at the masked variant position (log-softmax over A,C,G,T; ",
             s.window, " bp window, the variant at index ", s.window / 2, "), ", strands, "; SNVs only; masked model ",
             model);
}

std::string describe_edist(const Scoring& s, const std::string& model) {
  const std::string features = s.rcps           ? "the two strand halves of the RC-equivariant model averaged"
                               : s.both_strands ? "averaged with the reverse complement's"
                                                : "forward strand only";
  return cat("Cosine distance (1 - cos) between the mean-pooled final hidden states of the REF and ALT windows (",
             s.window, " bp; ", features, "); model ", model);
}

void print_summary(const ScoreSummary& sum, const Scoring& s, double seconds) {
  std::string skipped;
  if (sum.no_alt_records > 0) skipped = cat(sum.no_alt_records, " records without ALT");
  for (size_t i = 1; i < sum.skipped.size(); ++i)
    if (sum.skipped[i] > 0)
      skipped += cat(skipped.empty() ? "" : ", ", sum.skipped[i], " ", skip_reason_text(static_cast<SkipReason>(i)));
  log_info("score", sum.records, " records, ", sum.alleles, " ALT alleles in ", human_duration(seconds), " (",
           human_count(seconds > 0 ? static_cast<double>(sum.alleles) / seconds : 0.0), " alleles/s, ", sum.windows,
           " model windows): ", s.llr ? cat(sum.llr_values, " STRAND_LLR") : std::string(),
           s.llr && s.edist ? ", " : "", s.edist ? cat(sum.edist_values, " STRAND_EDIST") : std::string(),
           skipped.empty() ? std::string() : cat("; not scored: ", skipped));
}

}  // namespace

ScoreSummary run_score(const ScoreOptions& o) {
  o.validate();
  ComputeScope compute(o.compute, "score", /*several_gpus=*/true);
  const model::ModelWeights weights = load_job_model(o.model);
  const std::string& folder = weights.folder;
  BackbonePool backbones(weights, compute);

  Scoring s;
  s.causal = weights.config.causal();
  s.rcps = weights.config.rcps;
  s.both_strands = o.both_strands;
  s.llr = o.llr;
  s.edist = o.edist;
  s.window = o.window > 0                      ? o.window
             : weights.config.score_window > 0 ? weights.config.score_window
                                               : kDefaultScoreWindow;
  const int batch = o.batch_for(s.window);
  if (!s.causal && weights.config.arch == model::Architecture::kCaduceus && !weights.config.bidirectional)
    log_warning("score", "model ", folder,
                " is a unidirectional Caduceus: the masked position sees only its left side");

  genomics::IndexedFasta fasta(o.fasta_ref);
  genomics::VcfReader reader(o.input);
  if (!o.regions.empty()) reader.set_regions(o.regions);

  AtomicOutput out(o.output.path);
  genomics::VcfWriterOptions wo;
  wo.format = to_vcf_format(o.output.type);
  wo.index = o.output.index;
  genomics::VcfWriter writer(out, reader.header(), wo);
  if (s.llr) writer.add_info_float("STRAND_LLR", "A", describe_llr(s, o.model));
  if (s.edist) writer.add_info_float("STRAND_EDIST", "A", describe_edist(s, o.model));
  if (o.write_provenance) {
    writer.add_header_line(cat("##strandVersion=", STRAND_VERSION, " (", git_revision(), ")"));
    writer.add_header_line(cat("##strandCommand=", o.command_line));
  }
  // A re-scored VCF keeps its ##strandCommand history but describes only the model that wrote
  // its tags now.
  for (const char* key : {"strandModel", "strandModelSHA256", "strandScoreWindow", "strandScoreMode"})
    writer.remove_header_lines(key);
  writer.add_header_line(cat("##strandModel=", o.model));
  writer.add_header_line(cat("##strandModelSHA256=", weights.checksum));
  writer.add_header_line(cat("##strandScoreWindow=", s.window));
  writer.add_header_line(cat("##strandScoreMode=", s.causal ? "causal window LLR" : "masked-LM SNV LLR",
                             s.both_strands ? ", both strands" : ", forward strand"));
  writer.write_header();
  log_info("score", "model ", folder, " (",
           s.causal ? "causal"
           : s.rcps ? "masked, RC-equivariant"
                    : "masked",
           ", ", weights.config.n_layer, " layers), window ", s.window, " bp, ",
           s.both_strands ? "both strands" : "forward strand", ", batch ", batch, ", ", compute.threads(), " threads",
           backbones.size() > 1 ? cat(", ", backbones.size(), " GPUs") : std::string());

  Planner planner(o, s, reader, fasta);
  ScoreSummary summary;
  Progress progress("score", "records");
  // Chunks of records: big enough to fill several batches with windows, small enough to keep
  // memory flat. Tokens bound the chunks in flight.
  const size_t chunk_records = static_cast<size_t>(std::max(16, 2 * batch));
  const size_t tokens = std::max<size_t>({2, static_cast<size_t>(compute.threads()), 2 * backbones.size()});
  tbb::parallel_pipeline(
      tokens, tbb::make_filter<void, std::shared_ptr<Chunk>>(tbb::filter_mode::serial_in_order,
                                                             [&](tbb::flow_control& fc) -> std::shared_ptr<Chunk> {
                                                               std::unique_ptr<Chunk> c =
                                                                   planner.next_chunk(chunk_records);
                                                               if (!c) fc.stop();
                                                               return std::shared_ptr<Chunk>(std::move(c));
                                                             }) &
                  tbb::make_filter<std::shared_ptr<Chunk>, std::shared_ptr<Chunk>>(
                      tbb::filter_mode::parallel,
                      [&](std::shared_ptr<Chunk> chunk) {
                        const BackbonePool::Lease backbone = backbones.acquire();  // one GPU per chunk in flight
                        chunk->outputs = run_windows(*backbone, chunk->requests, batch);
                        finish_scores(*chunk, s);
                        return chunk;
                      }) &
                  tbb::make_filter<std::shared_ptr<Chunk>, void>(
                      tbb::filter_mode::serial_in_order, [&](std::shared_ptr<Chunk> chunk) {
                        summary.windows += chunk->requests.size();
                        std::vector<float> values;
                        for (RecordPlan& r : chunk->records) {
                          ++summary.records;
                          if (r.alleles.empty()) ++summary.no_alt_records;
                          if (!r.alleles.empty()) {
                            summary.alleles += r.alleles.size();
                            for (const AllelePlan& a : r.alleles) {
                              const SkipReason why = a.reason != SkipReason::kNone ? a.reason : a.llr_reason;
                              ++summary.skipped[static_cast<size_t>(why)];
                              summary.llr_values += !std::isnan(a.llr);
                              summary.edist_values += !std::isnan(a.edist);
                            }
                            const auto put = [&](const char* tag, float AllelePlan::*field) {
                              values.clear();
                              for (const AllelePlan& a : r.alleles) values.push_back(a.*field);
                              writer.set_info_floats(r.rec.get(), tag, values);
                            };
                            if (s.llr) put("STRAND_LLR", &AllelePlan::llr);
                            if (s.edist) put("STRAND_EDIST", &AllelePlan::edist);
                          }
                          writer.write(r.rec.get());
                        }
                        progress.add(chunk->records.size());
                      }));
  writer.close();
  out.commit();
  print_summary(summary, s, progress.elapsed_s());
  return summary;
}

}  // namespace strand::pipelines
