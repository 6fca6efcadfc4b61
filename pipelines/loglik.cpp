#include "pipelines/loglik.h"

#include <oneapi/tbb/parallel_pipeline.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/log.h"
#include "core/output_file.h"
#include "core/progress.h"
#include "core/text.h"
#include "genomics/bed_writer.h"
#include "genomics/bigwig_writer.h"
#include "genomics/nucleotide.h"
#include "genomics/sequence_source.h"
#include "genomics/text_writer.h"
#include "genomics/tokenizer.h"
#include "pipelines/backbone_pool.h"
#include "pipelines/causal_lm.h"
#include "pipelines/compute_scope.h"
#include "pipelines/model_resolver.h"
#include "pipelines/record_pipeline.h"

namespace strand::pipelines {
namespace {

constexpr int kDigits = 10;  // significant digits of the values written (enough for a sum over millions of bases)
constexpr double kLn2 = 0.69314718055994530942;
constexpr float kNoValue = std::numeric_limits<float>::quiet_NaN();

struct Item {
  genomics::SeqRecord rec;
  double loglik = 0, loglik_rc = 0;
  std::vector<float> track;  // [L] -log2 p per base (NaN: no value), when --track
};

std::string bits_per_base(double loglik, int64_t scored) {
  return scored > 0 ? format_significant(-loglik / static_cast<double>(scored) / kLn2, kDigits) : std::string(".");
}

}  // namespace

LoglikSummary run_loglik(const LoglikOptions& o) {
  o.validate();
  ComputeScope compute(o.compute, "loglik", /*several_gpus=*/true);
  const model::ModelWeights weights = load_job_model(o.model);
  BackbonePool backbones(weights, compute);
  if (!backbones.front().streamable())
    fail("strand loglik: model ", weights.folder,
         " is bidirectional; log-likelihoods need a left-to-right (causal) model such as MambaForCausalLM");
  log_info("loglik", "model ", weights.folder, " (", weights.config.n_layer, " layers), ",
           o.both_strands ? "both strands" : "forward strand", ", ", compute.threads(), " threads",
           backbones.size() > 1 ? cat(", ", backbones.size(), " GPUs") : std::string());

  AtomicOutput out(o.output.path);
  genomics::TextWriter text(out, o.output.type == OutputType::kBgzf, "TSV output");
  text.write(cat("#name\tlength\tscored\tloglik\tbits_per_base",
                 o.both_strands ? "\tloglik_rc\tbits_per_base_rc\tloglik_mean\tbits_per_base_mean" : "", "\n"));
  // Tracks: bedGraph streams; bigWig declares its contigs first, so its values wait for the end.
  std::unique_ptr<AtomicOutput> track_out;
  std::unique_ptr<genomics::BedGraphWriter> bedgraph;
  // bigWig: every record's values, placed on its contig (a -r region at its own coordinates).
  struct TrackPiece {
    std::string contig;
    int64_t beg0 = 0;
    std::vector<float> values;
  };
  std::vector<TrackPiece> track_pieces;
  if (!o.track.empty()) {
    track_out = std::make_unique<AtomicOutput>(o.track);
    if (o.track_format == TrackFormat::kBedGraph)
      bedgraph = std::make_unique<genomics::BedGraphWriter>(
          *track_out, cat("track type=bedGraph name=\"strand loglik\" description=\"-log2 p per base (",
                          o.both_strands ? "mean of both strands" : "forward strand", ")\""));
  }

  LoglikSummary summary;
  Progress progress("loglik", "bases");
  genomics::SequenceSourceOptions source_options;
  source_options.regions = o.regions;
  source_options.reference = o.fasta_ref;
  genomics::SequenceSources source(o.inputs, source_options);
  const size_t tokens = pipeline_tokens(compute.threads(), backbones.size());
  tbb::parallel_pipeline(
      tokens,
      read_records<Item>(source) &
          tbb::make_filter<std::shared_ptr<Item>, std::shared_ptr<Item>>(
              tbb::filter_mode::parallel,
              [&](std::shared_ptr<Item> item) {
                const std::vector<int32_t> ids = genomics::tokenize(item->rec.seq);
                const auto len = static_cast<int64_t>(ids.size());
                const bool track = !o.track.empty();
                if (track) item->track.assign(static_cast<size_t>(len), kNoValue);
                const BackbonePool::Lease backbone = backbones.acquire();
                // -log2 p per base: the forward strand's, then averaged with the reverse strand's
                // prediction of the same base (from its right-hand context).
                with_context(record_context(item->rec), [&] {
                  item->loglik = stream_loglik(
                      *backbone, ids, 0, !track ? std::function<void(int64_t, double)>() : [&](int64_t t, double lp) {
                        item->track[static_cast<size_t>(t)] = static_cast<float>(-lp / kLn2);
                      });
                  if (o.both_strands) {
                    const std::vector<int32_t> rc = genomics::reverse_complement_tokens(ids);
                    item->loglik_rc = stream_loglik(
                        *backbone, rc, 0, !track ? std::function<void(int64_t, double)>() : [&](int64_t t, double lp) {
                          float& v = item->track[static_cast<size_t>(len - 1 - t)];
                          const auto bits = static_cast<float>(-lp / kLn2);
                          v = std::isnan(v) ? bits : 0.5f * (v + bits);
                        });
                  }
                });
                return item;
              }) &
          tbb::make_filter<std::shared_ptr<Item>, void>(
              tbb::filter_mode::serial_in_order, [&](std::shared_ptr<Item> item) {
                const auto len = static_cast<int64_t>(item->rec.seq.size());
                const int64_t scored = std::max<int64_t>(0, len - 1);
                const std::string name = item->rec.name.empty() ? cat("record_", summary.records + 1) : item->rec.name;
                std::string line = cat(name, "\t", len, "\t", scored, "\t", format_significant(item->loglik, kDigits),
                                       "\t", bits_per_base(item->loglik, scored));
                if (o.both_strands) {
                  const double mean = 0.5 * (item->loglik + item->loglik_rc);
                  line += cat("\t", format_significant(item->loglik_rc, kDigits), "\t",
                              bits_per_base(item->loglik_rc, scored), "\t", format_significant(mean, kDigits), "\t",
                              bits_per_base(mean, scored));
                }
                text.write(line + "\n");
                // Tracks are in contig coordinates: a region's values sit where the region is.
                const std::string& contig = item->rec.contig.empty() ? name : item->rec.contig;
                if (len > 0 && bedgraph) bedgraph->write_values(contig, item->rec.beg0, item->track);
                if (len > 0 && track_out && !bedgraph)
                  track_pieces.push_back({contig, item->rec.beg0, std::move(item->track)});
                ++summary.records;
                summary.bases += static_cast<uint64_t>(len);
                progress.add(static_cast<uint64_t>(len));
              }));
  if (summary.records == 0) fail("no sequences in ", o.inputs.size() == 1 ? o.inputs[0] : std::string("the inputs"));
  text.close();
  if (bedgraph) bedgraph->close();
  if (track_out && !bedgraph) {
    // Contigs in order of first appearance, each as long as its furthest value; pieces sorted
    // along each contig (the writer rejects overlapping ones, naming them).
    std::vector<genomics::ContigInfo> contigs;
    std::map<std::string, size_t> order;
    for (const TrackPiece& t : track_pieces) {
      const auto [it, added] = order.try_emplace(t.contig, contigs.size());
      if (added) contigs.push_back({t.contig, 0});
      int64_t& length = contigs[it->second].length;
      length = std::max(length, t.beg0 + static_cast<int64_t>(t.values.size()));
    }
    std::stable_sort(track_pieces.begin(), track_pieces.end(), [&](const TrackPiece& a, const TrackPiece& b) {
      const size_t oa = order.at(a.contig), ob = order.at(b.contig);
      return oa != ob ? oa < ob : a.beg0 < b.beg0;
    });
    genomics::BigWigWriter bw(*track_out, contigs);
    for (const TrackPiece& t : track_pieces) bw.write_values(t.contig, t.beg0, t.values);
    bw.close();
  }
  out.commit();
  if (track_out) track_out->commit();
  log_info("loglik", summary.records, " records, ", summary.bases, " bases in ", human_duration(progress.elapsed_s()),
           " (",
           human_count(progress.elapsed_s() > 0 ? static_cast<double>(summary.bases) / progress.elapsed_s() : 0.0),
           " bases/s) -> ", o.output.path, o.track.empty() ? std::string() : cat(", track ", o.track));
  return summary;
}

}  // namespace strand::pipelines
