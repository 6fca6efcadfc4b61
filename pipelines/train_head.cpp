#include "pipelines/train_head.h"

#include <oneapi/tbb/parallel_pipeline.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <memory>
#include <random>
#include <set>

#include <nlohmann/json.hpp>

#include "core/log.h"
#include "core/output_file.h"
#include "core/progress.h"
#include "core/version.h"
#include "genomics/tokenizer.h"
#include "model/weights.h"
#include "pipelines/annotated_genome.h"
#include "pipelines/backbone_pool.h"
#include "pipelines/compute_scope.h"
#include "pipelines/head_labels.h"
#include "pipelines/model_resolver.h"
#include "pipelines/record_pipeline.h"

namespace strand::pipelines {
namespace {

// Which bases of each contig are held out: [holdout_beg0, holdout_end0).
struct Split {
  int64_t holdout_beg0 = 0, holdout_end0 = 0;
};

std::vector<Split> choose_split(const std::vector<AnnotatedContig>& contigs, const TrainHeadOptions& o, uint64_t seed,
                                std::string& description) {
  std::vector<Split> split(contigs.size());
  int64_t total = 0;
  for (const auto& c : contigs) total += static_cast<int64_t>(c.seq.size());
  const int64_t budget = static_cast<int64_t>(std::llround(o.holdout_fraction * static_cast<double>(total)));
  const std::string percent = format_significant(100 * o.holdout_fraction, 3);
  const auto region_split = [&](std::string_view why) {
    for (size_t i = 0; i < contigs.size(); ++i) {
      const int64_t len = static_cast<int64_t>(contigs[i].seq.size());
      split[i] = {len - static_cast<int64_t>(std::llround(o.holdout_fraction * static_cast<double>(len))), len};
    }
    description = cat("region split", why, ": the last ", percent, " % of every contig");
    return split;
  };
  if (o.holdout == Holdout::kRegion) return region_split("");
  bool fits = false;
  for (const auto& c : contigs) fits |= static_cast<int64_t>(c.seq.size()) <= budget;
  if (o.holdout == Holdout::kAuto && !fits) return region_split(cat(" (no contig fits ", percent, " % of the bases)"));
  // Whole contigs, in a seeded random order, while they fit the budget.
  std::vector<size_t> order(contigs.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::mt19937_64 rng(seed ^ 0x5eed5eedULL);
  std::shuffle(order.begin(), order.end(), rng);
  int64_t held = 0;
  std::vector<std::string> names;
  for (size_t i : order) {
    const int64_t len = static_cast<int64_t>(contigs[i].seq.size());
    if (held + len > budget) continue;
    split[i] = {0, len};
    held += len;
    names.push_back(contigs[i].name);
  }
  if (held == 0)
    fail("--holdout contig: no contig is small enough to hold out (", contigs.size(), " contigs; ", percent,
         " % of the bases is ", budget, "); use --holdout region, or a larger --holdout-fraction");
  std::sort(names.begin(), names.end());
  std::string list;
  for (size_t i = 0; i < names.size() && i < 100; ++i) list += cat(i ? ", " : "", names[i]);
  if (names.size() > 100) list += cat(", ... (", names.size() - 100, " more)");
  description = cat("contig split: ", names.size(), " held-out contigs, ", held, " bases (",
                    format_significant(100.0 * static_cast<double>(held) / static_cast<double>(total), 3), " %): ", list);
  return split;
}

// Classes: the types asked for; without --classes, defaults absent from every input dropped.
std::vector<std::string> head_types(const std::vector<AnnotatedContig>& contigs, const TrainHeadOptions& o) {
  std::set<std::string> present;
  for (const auto& c : contigs)
    for (const auto& f : c.features)
      if (!is_pseudo(f)) present.insert(f.type);
  std::vector<std::string> types;
  for (const auto& t : o.classes) {
    if (present.count(t)) {
      types.push_back(t);
    } else if (o.classes_given) {
      fail("--classes: no '", t, "' feature in the annotation");
    } else {
      log_info("train-head", "no '", t, "' features in the annotation: that class is left out");
    }
  }
  if (types.empty()) fail("the annotation has none of the feature types ", o.classes.front(), ", ...: nothing to learn");
  return types;
}

struct ContigJob {
  size_t index = 0;
  HeadSample train, eval;
};

}  // namespace

HeadMetrics run_train_head(const TrainHeadOptions& o) {
  o.validate();
  const uint64_t seed = o.seed ? *o.seed : (static_cast<uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}();
  ComputeScope compute(o.compute, "train-head", /*several_gpus=*/true);
  AtomicOutput out(o.output.path);  // fails early on an unwritable destination

  const std::vector<AnnotatedContig> contigs = read_annotated_genomes(o.genbank, o.fasta, o.gff);
  const std::vector<std::string> types = head_types(contigs, o);
  const std::string folder = resolve_model_folder(o.model);
  const model::ModelWeights weights = model::load_model(folder);
  BackbonePool backbones(weights, compute);
  AnnotationHead head(head_class_specs(types), head_feature_width(backbones.front()), o.hidden);
  const int64_t pair_width = 2 * head.feature_width();

  std::string split_text;
  const std::vector<Split> split = choose_split(contigs, o, seed, split_text);
  log_info("train-head", contigs.size(), " contigs, model ", folder, ", classes ", [&] {
    std::string s;
    for (const auto& n : head.column_names()) s += cat(s.empty() ? "" : ",", n);
    return s;
  }(), ", ", o.hidden > 0 ? cat(o.hidden, " hidden units") : std::string("softmax regression"), ", seed ", seed);
  log_info("train-head", split_text);

  // Labels, and the sampling rates that bound the kept bases.
  LabelStats stats;
  std::vector<std::vector<int8_t>> labels(contigs.size());
  int64_t train_total = 0, eval_total = 0;
  for (size_t i = 0; i < contigs.size(); ++i) {
    std::vector<const genomics::Feature*> features;
    for (const auto& f : contigs[i].features) features.push_back(&f);
    LabelStats s;
    labels[i] = base_labels(features, static_cast<int64_t>(contigs[i].seq.size()), head, s);
    stats.add(s);
    for (int64_t p = 0; p < static_cast<int64_t>(labels[i].size()); ++p) {
      if (labels[i][static_cast<size_t>(p)] < 0) continue;
      (p >= split[i].holdout_beg0 && p < split[i].holdout_end0 ? eval_total : train_total) += 1;
    }
  }
  if (train_total == 0) fail("no labelled bases left for training after the hold-out");
  if (eval_total == 0) fail("no labelled bases in the held-out part: nothing to report on");
  log_info("train-head", stats.features_used, " features label ", train_total + eval_total, " bases (",
           stats.ignored_bases, " ignored: overlapping classes, pseudogenes, unknown strand; ", stats.pseudo_features,
           " pseudogenes)");
  const double train_rate = std::min(1.0, static_cast<double>(o.train_bases) / static_cast<double>(train_total));
  const double eval_rate = std::min(1.0, static_cast<double>(o.eval_bases) / static_cast<double>(eval_total));

  // Embed every contig (exactly, whole) and keep the sampled bases, in contig order.
  HeadSample train{pair_width, {}, {}}, eval{pair_width, {}, {}};
  int64_t total_bases = 0;
  for (const auto& c : contigs) total_bases += static_cast<int64_t>(c.seq.size());
  Progress progress("train-head", "bases", static_cast<uint64_t>(total_bases));
  std::atomic<size_t> next{0};
  tbb::parallel_pipeline(
      // Contigs in flight: one per backbone and one more (waiting for a backbone).
      backbones.size() + 1,
      tbb::make_filter<void, std::shared_ptr<ContigJob>>(tbb::filter_mode::serial_in_order,
                                                         [&](tbb::flow_control& fc) -> std::shared_ptr<ContigJob> {
                                                           const size_t i = next++;
                                                           if (i >= contigs.size()) {
                                                             fc.stop();
                                                             return nullptr;
                                                           }
                                                           auto job = std::make_shared<ContigJob>();
                                                           job->index = i;
                                                           return job;
                                                         }) &
          tbb::make_filter<std::shared_ptr<ContigJob>, std::shared_ptr<ContigJob>>(
              tbb::filter_mode::parallel,
              [&](std::shared_ptr<ContigJob> job) {
                const AnnotatedContig& c = contigs[job->index];
                job->train.pair_width = job->eval.pair_width = pair_width;
                if (c.seq.empty()) return job;
                // A per-contig stream: the sample does not depend on the order contigs finish.
                std::mt19937_64 rng(seed + 0x9e3779b97f4a7c15ULL * (job->index + 1));
                std::uniform_real_distribution<double> u(0.0, 1.0);
                const auto& lab = labels[job->index];
                STRAND_ASSERT(lab.size() == c.seq.size(), "labels and contig differ in length");
                // The features a piece at a time, sampled in row order as they come (the host
                // holds a piece of the contig's features, not all of them).
                const BackbonePool::Lease backbone = backbones.acquire();
                with_context(cat(c.source, ": contig '", c.name, "' (", c.seq.size(), " bases)"), [&] {
                  head_feature_pieces(
                      *backbone, genomics::tokenize(c.seq), {}, [&](int64_t row0, int64_t rows, const float* pairs) {
                        for (int64_t i = 0; i < rows; ++i) {
                          const int64_t p = row0 + i;
                          const double r = u(rng);
                          if (lab[static_cast<size_t>(p)] < 0) continue;
                          const bool held = p >= split[job->index].holdout_beg0 && p < split[job->index].holdout_end0;
                          if (r < (held ? eval_rate : train_rate))
                            (held ? job->eval : job->train).append(pairs + i * pair_width, lab[static_cast<size_t>(p)]);
                        }
                      });
                });
                return job;
              }) &
          tbb::make_filter<std::shared_ptr<ContigJob>, void>(tbb::filter_mode::serial_in_order,
                                                             [&](std::shared_ptr<ContigJob> job) {
                                                               train.append(job->train);
                                                               eval.append(job->eval);
                                                               progress.add(contigs[job->index].seq.size());
                                                             }));
  progress.finish();
  log_info("train-head", "sampled ", train.rows(), " training and ", eval.rows(), " held-out bases");
  if (train.rows() == 0) fail("no training base was sampled (--train-bases ", o.train_bases, "): ask for more");
  if (eval.rows() == 0) fail("no held-out base was sampled (--eval-bases ", o.eval_bases, "): ask for more");

  fit_normalisation(head, train);
  HeadTrainOptions t;
  t.epochs = o.epochs;
  t.learning_rate = o.learning_rate;
  t.seed = seed;
  train_head(head, train, eval, t);
  const HeadMetrics metrics = evaluate_head(head, eval);
  log_info("train-head", "held-out report (", split_text, ")\n", format_metrics(metrics));

  nlohmann::json inputs = nlohmann::json::array();
  for (const auto& p : o.genbank) inputs.push_back(p);
  for (size_t i = 0; i < o.fasta.size(); ++i) inputs.push_back(o.fasta[i] + " + " + o.gff[i]);
  const nlohmann::json training = {{"inputs", inputs},
                                   {"split", split_text},
                                   {"train_bases", train.rows()},
                                   {"eval_bases", eval.rows()},
                                   {"epochs", o.epochs},
                                   {"learning_rate", o.learning_rate},
                                   {"hidden", o.hidden},
                                   {"seed", seed},
                                   {"command", o.command_line}};
  auto& meta = head.metadata();
  meta["backbone_sha256"] = weights.checksum;
  meta["backbone"] = folder;
  meta["features"] = head_feature_mode(backbones.front()) == HeadFeatureMode::kPsHalves ? "ps-halves" : "rc-pass";
  meta["strand_version"] = cat(STRAND_VERSION, " (", git_revision(), ")");
  meta["training"] = training.dump();
  meta["held_out_metrics"] = metrics_json(metrics).dump();
  head.save(out.path());
  out.commit();
  log_info("train-head", "head written to ", o.output.path);
  return metrics;
}

}  // namespace strand::pipelines
