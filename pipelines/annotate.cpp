#include "pipelines/annotate.h"

#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/parallel_pipeline.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <tuple>
#include <unordered_map>

#include "core/log.h"
#include "core/output_file.h"
#include "core/progress.h"
#include "core/version.h"
#include "genomics/bed_writer.h"
#include "genomics/bigwig_reader.h"
#include "genomics/bigwig_writer.h"
#include "genomics/fasta_index.h"
#include "genomics/gff3_writer.h"
#include "genomics/orf_finder.h"
#include "genomics/sequence_source.h"
#include "genomics/text_writer.h"
#include "genomics/tokenizer.h"
#include "model/weights.h"
#include "pipelines/annotation_head.h"
#include "pipelines/backbone_pool.h"
#include "pipelines/compute_scope.h"
#include "pipelines/hexamer_model.h"
#include "pipelines/model_resolver.h"
#include "pipelines/record_pipeline.h"
#include "pipelines/start_model.h"

namespace strand::pipelines {
namespace {

// Probabilities below this are floored before the log-odds: a base's evidence is bounded.
constexpr float kMinProbability = 1e-6f;
// Track values are rounded to this step: runs of equal values merge, files stay small.
constexpr float kTrackStep = 1e-3f;
// Records longer than this go through the head a piece of hidden states at a time (host memory
// bounded); shorter ones hold theirs whole (~400 MB for a 384-wide model) and let the model go
// before the head.
constexpr int64_t kPiecewiseHeadMinBp = 262144;

struct Item {
  genomics::SeqRecord rec;
  std::vector<GeneCall> calls;
  std::vector<float> probs;  // [L, columns] when tracks are written
  // Kept for the second (self-trained) pass: the log-odds (24 bytes per base) and the ORFs.
  CodingLogOdds log_odds;
  std::vector<genomics::Orf> orfs;
};

// Per-base coding log-odds from the head's probabilities [L, C]: CDS on a strand at a codon
// position against every non-CDS class together.
CodingLogOdds coding_log_odds(const AnnotationHead& head, const std::vector<float>& probs, int64_t len) {
  CodingLogOdds lo = CodingLogOdds::zeros(len);
  const int64_t c = head.columns();
  std::array<std::array<int, 3>, 2> cds_column{};
  std::vector<int> noncoding;
  std::array<bool, 3> have{};
  for (size_t s = 0; s < head.specs().size(); ++s) {
    const HeadClassSpec& spec = head.specs()[s];
    if (spec.feature_type == kCdsType && spec.codon_position >= 0) {
      cds_column[0][static_cast<size_t>(spec.codon_position)] = head.column(s, false);
      cds_column[1][static_cast<size_t>(spec.codon_position)] = head.column(s, true);
      have[static_cast<size_t>(spec.codon_position)] = true;
    } else {
      noncoding.push_back(head.column(s, false));
      if (spec.stranded) noncoding.push_back(head.column(s, true));
    }
  }
  STRAND_ASSERT(have[0] && have[1] && have[2]);
  for (int64_t i = 0; i < len; ++i) {
    const float* p = &probs[static_cast<size_t>(i * c)];
    float nc = 0.0f;
    for (int col : noncoding) nc += p[col];
    const float log_nc = std::log(std::max(nc, kMinProbability));
    for (size_t s = 0; s < 2; ++s)
      for (size_t k = 0; k < 3; ++k)
        lo.lo[s][k][static_cast<size_t>(i)] = std::log(std::max(p[cds_column[s][k]], kMinProbability)) - log_nc;
  }
  return lo;
}

// [L, C] class probabilities of bases [beg0, beg0 + len) of `contig` from one bigWig per column
// (a previous run's --tracks). Every base must have a value: a track of another genome, or of
// other regions, is an error, not zeros.
std::vector<float> probabilities_from_tracks(const std::vector<std::string>& paths, const std::string& contig,
                                             int64_t beg0, int64_t len, bool whole_contigs) {
  const auto columns = static_cast<int64_t>(paths.size());
  std::vector<float> probs(static_cast<size_t>(len * columns));
  for (int64_t c = 0; c < columns; ++c) {
    genomics::BigWigReader reader(paths[static_cast<size_t>(c)]);
    const std::optional<int64_t> contig_len = reader.contig_length(contig);
    if (!contig_len) fail("--from-tracks: ", reader.path(), " has no contig '", contig, "'");
    // A record read whole (no -r/-R) is the whole contig: the track's must be as long.
    if (beg0 + len > *contig_len || (whole_contigs && *contig_len != len))
      fail("--from-tracks: ", reader.path(), " gives contig '", contig, "' ", *contig_len, " bases, the genome ",
           whole_contigs ? cat(len) : cat(beg0 + len, " or more"), " (tracks of another assembly?)");
    const std::vector<float> values = reader.values(contig, beg0, beg0 + len);
    for (int64_t i = 0; i < len; ++i) {
      const float v = values[static_cast<size_t>(i)];
      if (!(v >= 0.0f && v <= 1.0f))
        fail("--from-tracks: ", reader.path(), " has ", std::isnan(v) ? std::string("no value") : cat("value ", v),
             " at ", contig, ":", beg0 + i + 1, " (expected a probability for every base)");
      probs[static_cast<size_t>(i * columns + c)] = v;
    }
  }
  return probs;
}

std::string head_path_for(const AnnotateOptions& o, const std::string& folder) {
  if (!o.head.empty()) return o.head;
  const std::string path = (std::filesystem::path(folder) / kDefaultHeadFile).string();
  if (!std::filesystem::exists(path))
    fail("model ", folder, " has no annotation head (", kDefaultHeadFile,
         "): train one with 'strand train-head -m MODEL ...' and pass it with --head");
  return path;
}

const char* strand_text(genomics::Strand s) { return s == genomics::Strand::kReverse ? "-" : "+"; }

const std::string& contig_of(const Item& item) { return item.rec.contig.empty() ? item.rec.name : item.rec.contig; }

// Contig lengths for ##sequence-region and bigWig, in order of first appearance: the index when
// there is one (regions), else the records themselves. Also checks that the records make one
// valid annotation: no record name twice (GFF3 IDs would repeat) and no two regions of one
// contig overlapping (their genes and track values would collide).
std::vector<genomics::ContigInfo> contig_lengths(const AnnotateOptions& o, const std::vector<Item>& done) {
  std::vector<genomics::ContigInfo> contigs;
  std::unordered_map<std::string, size_t> index;
  std::optional<genomics::IndexedFasta> fai;
  if (!o.regions.empty()) fai.emplace(o.input);
  std::vector<std::tuple<std::string, int64_t, int64_t>> spans;
  for (const Item& item : done) {
    const std::string& name = contig_of(item);
    const auto len = static_cast<int64_t>(item.rec.seq.size());
    if (len > 0) spans.emplace_back(name, item.rec.beg0, item.rec.beg0 + len);
    if (index.count(name)) {
      if (!fai) fail(o.input, ": record name '", name, "' appears more than once; gene IDs would repeat");
      continue;
    }
    const int64_t contig_len = fai ? fai->contig_length(name).value_or(0) : len;
    if (contig_len == 0) continue;  // an empty record: nothing to annotate or track
    index[name] = contigs.size();
    contigs.push_back({name, contig_len});
  }
  std::sort(spans.begin(), spans.end());
  for (size_t i = 1; i < spans.size(); ++i)
    if (std::get<0>(spans[i]) == std::get<0>(spans[i - 1]) && std::get<1>(spans[i]) < std::get<2>(spans[i - 1]))
      fail("-r/-R: regions overlap on ", std::get<0>(spans[i]), " (", std::get<1>(spans[i - 1]) + 1, "-",
           std::get<2>(spans[i - 1]), " and ", std::get<1>(spans[i]) + 1, "-", std::get<2>(spans[i]),
           "); give each part of a contig once");
  return contigs;
}

}  // namespace

AnnotateSummary run_annotate(const AnnotateOptions& o) {
  o.validate();
  ComputeScope compute(o.compute, "annotate", /*several_gpus=*/true);
  const std::string folder = resolve_model_folder(o.model);
  const model::ModelWeights weights = model::load_model(folder);
  // With --from-tracks the model only vouches for the head (its checksum): no backbone runs.
  std::optional<BackbonePool> backbones;
  if (o.from_tracks.empty()) backbones.emplace(weights, compute);
  const std::string head_path = head_path_for(o, folder);
  const AnnotationHead head = AnnotationHead::load(head_path, weights.checksum);
  if (backbones && head.feature_width() != head_feature_width(backbones->front()))
    fail(head_path, ": the head reads ", head.feature_width(), "-wide features, the model gives ",
         head_feature_width(backbones->front()));
  std::vector<std::string> source_tracks;  // --from-tracks: one bigWig per head column
  for (const auto& name : o.from_tracks.empty() ? std::vector<std::string>() : head.column_names())
    source_tracks.push_back(cat(o.from_tracks, ".", name, ".bw"));
  for (const std::string& path : source_tracks) genomics::BigWigReader check(path);  // fail before the long part
  bool has_cds = false;
  for (const auto& s : head.specs()) has_cds = has_cds || s.feature_type == kCdsType;
  if (!has_cds) fail(head_path, ": the head has no CDS classes, so it cannot call genes");
  const genomics::GeneticCode& code = genomics::GeneticCode::ncbi(o.genetic_code);
  genomics::OrfOptions orf_options;
  orf_options.code = &code;
  orf_options.min_len_bp = o.genes_options.min_gene_len_bp;
  orf_options.validate();
  // The structural bounds (gene length, overlap) are one setting for both passes.
  GeneCallerOptions first_pass = o.first_pass;
  first_pass.min_gene_len_bp = o.genes_options.min_gene_len_bp;
  first_pass.max_overlap_bp = o.genes_options.max_overlap_bp;

  // Outputs are opened before the model pass: a bad path fails before the long part.
  AtomicOutput gff_out(o.output.path);
  std::unique_ptr<AtomicOutput> faa_out, fna_out;
  std::unique_ptr<genomics::TextWriter> faa, fna;
  if (!o.proteins.empty()) {
    faa_out = std::make_unique<AtomicOutput>(o.proteins);
    faa = std::make_unique<genomics::TextWriter>(*faa_out, genomics::gz_by_name(*faa_out), "protein FASTA");
  }
  if (!o.genes.empty()) {
    fna_out = std::make_unique<AtomicOutput>(o.genes);
    fna = std::make_unique<genomics::TextWriter>(*fna_out, genomics::gz_by_name(*fna_out), "gene FASTA");
  }
  std::vector<std::unique_ptr<AtomicOutput>> track_outs;
  if (!o.tracks_prefix.empty())
    for (const auto& name : head.column_names())
      track_outs.push_back(std::make_unique<AtomicOutput>(
          cat(o.tracks_prefix, ".", name, o.track_format == TrackFormat::kBigWig ? ".bw" : ".bedGraph")));

  const std::string mode =
      o.from_tracks.empty() ? o.tiling.mode_text("contigs") : cat("from tracks ", o.from_tracks, ".*.bw");
  log_info("annotate", "model ", folder, ", head ", head_path, " (", head.columns(), " classes), ", mode,
           ", translation table ", o.genetic_code, ", ", compute.threads(), " threads",
           backbones && backbones->size() > 1 ? cat(", ", backbones->size(), " GPUs") : std::string());

  genomics::SequenceSourceOptions source_options;
  source_options.regions = o.regions;
  genomics::SequenceSources source({o.input}, source_options);
  Progress progress("annotate", "bases");
  std::vector<Item> done;  // every contig's calls (and track values), in input order
  tbb::parallel_pipeline(
      // Contigs in flight: one per backbone and one more (a short one holds its [L, 2d] features).
      (backbones ? backbones->size() : compute.threads()) + 1,
      read_records<Item>(source) &
          tbb::make_filter<std::shared_ptr<Item>, std::shared_ptr<Item>>(
              tbb::filter_mode::parallel,
              [&](std::shared_ptr<Item> item) {
                const std::string& seq = item->rec.seq;
                const auto len = static_cast<int64_t>(seq.size());
                if (len == 0) return item;
                std::vector<float> probs;
                if (backbones && len > kPiecewiseHeadMinBp) {
                  // A long record: the head reads its features a piece at a time while the model
                  // is held, so the host does not hold [L, 2d] (1.5 KB per base) for a PS model
                  // (a reverse-complement pass still needs the whole record's).
                  const BackbonePool::Lease backbone = backbones->acquire();
                  probs = with_context(record_context(item->rec), [&] {
                    return head_probabilities(head, *backbone, genomics::tokenize(seq), o.tiling);
                  });
                } else if (backbones) {
                  // A short one: its features out, the model released, then the head, so that the
                  // next record's model pass overlaps this one's head.
                  std::vector<float> pairs;
                  {
                    const BackbonePool::Lease backbone = backbones->acquire();
                    pairs = with_context(record_context(item->rec), [&] {
                      return head_feature_pairs(*backbone, genomics::tokenize(seq), o.tiling);
                    });
                  }
                  probs = head.predict(pairs, len);
                } else {
                  probs = probabilities_from_tracks(source_tracks, contig_of(*item), item->rec.beg0, len,
                                                    o.regions.empty());
                }
                item->log_odds = coding_log_odds(head, probs, len);
                item->orfs = genomics::find_orfs(seq, orf_options);
                item->calls = call_genes(seq, item->orfs, item->log_odds, code, first_pass);
                if (!track_outs.empty()) {
                  for (float& p : probs) p = std::round(p / kTrackStep) * kTrackStep;
                  item->probs = std::move(probs);
                }
                return item;
              }) &
          tbb::make_filter<std::shared_ptr<Item>, void>(tbb::filter_mode::serial_in_order,
                                                        [&](std::shared_ptr<Item> item) {
                                                          progress.add(item->rec.seq.size());
                                                          done.push_back(std::move(*item));
                                                        }));
  progress.finish();
  if (done.empty()) fail("no sequences in ", o.input);

  // Second pass: the genome's own codon-pair statistics from the first pass's genes, added to
  // the head's evidence (ORFs and log-odds kept from the first pass; no model work).
  std::string self_train_note = "off";
  bool second_pass = false;
  if (o.self_train) {
    std::vector<std::string_view> seqs;
    std::vector<std::vector<GeneCall>> first;
    for (const Item& item : done) seqs.push_back(item.rec.seq), first.push_back(item.calls);
    int64_t first_genes = 0;
    for (const auto& c : first) first_genes += static_cast<int64_t>(c.size());
    const HexamerModel hexamers = train_hexamer_model(seqs, first);
    second_pass = hexamers.training_genes >= o.min_self_train_genes;
    if (second_pass) {
      log_info("annotate", "first pass ", first_genes, " genes, ", hexamers.training_genes,
               " of them complete and >= ", kHexamerTrainingMinLenBp, " bp to learn the genome's statistics from");
      // Each round learns the genome's codon-pair and start-site statistics from the previous
      // round's genes and calls again (round 1 learns from the first pass); the second round's
      // training set is cleaner, a third changed nothing on the tuning contigs.
      std::vector<std::span<const genomics::Orf>> orf_spans;
      for (const Item& item : done) orf_spans.emplace_back(item.orfs);
      std::vector<std::vector<GeneCall>> previous = first;
      for (int round = 1; round <= kSelfTrainRounds; ++round) {
        const HexamerModel hex = round == 1 ? hexamers : train_hexamer_model(seqs, previous);
        const StartModel starts = train_start_model(seqs, orf_spans, previous, kHexamerTrainingMinLenBp);
        tbb::parallel_for(size_t{0}, done.size(), [&](size_t i) {
          Item& item = done[i];
          if (item.rec.seq.empty()) return;
          item.log_odds.codon = hexamer_codon_scores(item.rec.seq, hex, o.hexamer_weight);
          if (o.start_weight > 0) item.log_odds.start = start_scores(item.rec.seq, item.orfs, starts, o.start_weight);
          item.calls = call_genes(item.rec.seq, item.orfs, item.log_odds, code, o.genes_options);
        });
        int64_t genes = 0;
        for (size_t i = 0; i < done.size(); ++i)
          previous[i] = done[i].calls, genes += static_cast<int64_t>(done[i].calls.size());
        log_info("annotate", "self-training round ", round, ": codon-pair and start-site statistics from ",
                 hex.training_genes, " genes (ATG/GTG/TTG start log-odds ", format_significant(starts.type_llr[0], 3),
                 "/", format_significant(starts.type_llr[1], 3), "/", format_significant(starts.type_llr[2], 3),
                 ", AGGAGG at 5-7 bases ", format_significant(starts.rbs_llr[3 * kRbsSpacerClasses + 1], 3),
                 "): ", genes, " genes");
      }
      self_train_note = cat("rounds=", kSelfTrainRounds, " hexamer_weight=", o.hexamer_weight,
                            " start_weight=", o.start_weight, " first_pass_training_genes=", hexamers.training_genes);
    } else {
      self_train_note = cat("skipped (", hexamers.training_genes, " training genes < ", o.min_self_train_genes, ")");
      log_info("annotate", "first pass ", first_genes, " genes, ", hexamers.training_genes,
               " of them complete and >= ", kHexamerTrainingMinLenBp, " bp: too few (< ", o.min_self_train_genes,
               ") to learn the genome's codon statistics; the first pass is the result");
    }
  }
  for (Item& item : done) item.log_odds = CodingLogOdds(), item.orfs = {};  // memory back

  // GFF3 (+ proteins and gene sequences): gene and CDS per call, numbered per contig.
  AnnotateSummary summary;
  const std::vector<genomics::ContigInfo> contigs = contig_lengths(o, done);
  std::vector<std::string> pragmas;
  if (o.write_provenance) {
    pragmas.push_back(cat("strand-version ", STRAND_VERSION, " (", git_revision(), ")"));
    pragmas.push_back(cat("strand-command ", o.command_line));
  }
  pragmas.push_back(cat("strand-model ", folder, " sha256=", weights.checksum));
  pragmas.push_back(cat("strand-head ", head_path, " mode=", mode, " transl_table=", o.genetic_code));
  const GeneCallerOptions& used = second_pass ? o.genes_options : first_pass;
  pragmas.push_back(cat("strand-gene-caller head_weight=", used.head_weight, " length_weight=", used.length_weight,
                        " length_offset=", used.length_offset_codons, " coding_floor=", used.coding_floor,
                        " min_score=", used.min_score, " operon_weight=", used.operon_weight, " max_overlap=",
                        used.max_overlap_bp, " min_gene_len=", used.min_gene_len_bp, " self_train=", self_train_note));
  genomics::Gff3Writer gff(gff_out);
  gff.write_header(contigs, pragmas);
  for (const Item& item : done) {
    const std::string& contig = contig_of(item);
    const int64_t offset = item.rec.beg0;
    ++summary.contigs;
    summary.bases += item.rec.seq.size();
    int gene_no = 0;
    for (const GeneCall& call : item.calls) {
      const std::string id = cat(contig, offset > 0 ? cat("_", offset + 1) : std::string(), "_", ++gene_no);
      const bool minus = call.strand == genomics::Strand::kReverse;
      // 5'/3' partial ends as the lower/upper coordinate they cut.
      const bool cut_low = minus ? call.partial3 : call.partial5, cut_high = minus ? call.partial5 : call.partial3;
      genomics::Feature gene;
      gene.seqid = contig;
      gene.source = "strand";
      gene.type = "gene";
      gene.parts = {{offset + call.beg0, offset + call.end0, cut_low, cut_high}};
      gene.strand = call.strand;
      gene.id = "gene-" + id;
      if (call.partial5 || call.partial3) gene.attributes.push_back({"partial", "true"});
      genomics::Feature cds = gene;
      cds.type = "CDS";
      cds.id = "cds-" + id;
      cds.parents = {gene.id};
      cds.phase = 0;
      // + 0.0: a part in (-0.005, 0) rounds to -0, printed "-0".
      const auto rounded = [](double v) { return std::round(v * 100.0) / 100.0 + 0.0; };
      cds.score = rounded(call.score);
      cds.attributes.push_back({"start_type", std::string(start_codon_kind_name(call.start_codon_kind))});
      // The score's parts (as Prodigal's cscore/sscore), so that calls can be filtered or
      // examined by the evidence behind them: coding + length + start = score.
      cds.attributes.push_back({"coding_score", format_significant(rounded(call.coding_score), 10)});
      cds.attributes.push_back({"length_score", format_significant(rounded(call.length_score), 10)});
      cds.attributes.push_back({"start_score", format_significant(rounded(call.start_prior), 10)});
      cds.attributes.push_back({"transl_table", std::to_string(o.genetic_code)});
      gff.write(gene);
      gff.write(cds);
      ++summary.genes;
      if (call.partial5 || call.partial3) ++summary.partial_genes;
      const std::string header = cat(id, " ", contig, ":", offset + call.beg0 + 1, "-", offset + call.end0, "(",
                                     strand_text(call.strand), ") start_type=", start_codon_kind_name(call.start_codon_kind),
                                     " partial=", cut_low ? 1 : 0, cut_high ? 1 : 0,
                                     " score=", format_significant(call.score, 6));
      if (faa) genomics::write_fasta_record(*faa, header, gene_protein(item.rec.seq, call, code));
      if (fna) genomics::write_fasta_record(*fna, header, gene_sequence(item.rec.seq, call));
    }
  }
  gff.close();
  if (faa) faa->close();
  if (fna) fna->close();

  // Tracks: one per head class, in contig coordinates; pieces (regions) by contig, then position.
  std::unordered_map<std::string, size_t> contig_rank;
  for (size_t i = 0; i < contigs.size(); ++i) contig_rank[contigs[i].name] = i;
  std::vector<const Item*> track_order;
  for (const Item& item : done)
    if (!item.rec.seq.empty()) track_order.push_back(&item);
  std::stable_sort(track_order.begin(), track_order.end(), [&](const Item* a, const Item* b) {
    const size_t ra = contig_rank.at(contig_of(*a)), rb = contig_rank.at(contig_of(*b));
    return ra != rb ? ra < rb : a->rec.beg0 < b->rec.beg0;
  });
  // One file per class, each with its own writer: written side by side (compressing a genome's
  // bigWig takes seconds per class, so one after another a whole genome's tracks took longer than its gene calls).
  const std::vector<std::string>& column_names = head.column_names();
  tbb::parallel_for(size_t{0}, track_outs.size(), [&](size_t col) {
    AtomicOutput& out = *track_outs[col];
    const std::string& name = column_names[col];
    std::unique_ptr<genomics::BigWigWriter> bw;
    std::unique_ptr<genomics::BedGraphWriter> bg;
    if (o.track_format == TrackFormat::kBigWig) bw = std::make_unique<genomics::BigWigWriter>(out, contigs);
    else bg = std::make_unique<genomics::BedGraphWriter>(out, cat("track type=bedGraph name=\"", name, "\" description=\"strand annotate: P(", name, ") per base\""));
    std::vector<float> values;
    for (const Item* piece : track_order) {
      const Item& item = *piece;
      const auto len = static_cast<int64_t>(item.rec.seq.size());
      values.resize(static_cast<size_t>(len));
      for (int64_t i = 0; i < len; ++i) values[static_cast<size_t>(i)] = item.probs[static_cast<size_t>(i * head.columns()) + col];
      if (bw) bw->write_values(contig_of(item), item.rec.beg0, values);
      else bg->write_values(contig_of(item), item.rec.beg0, values);
    }
    if (bw) bw->close();
    else bg->close();
  });

  for (auto& t : track_outs) t->commit();
  if (fna_out) fna_out->commit();
  if (faa_out) faa_out->commit();
  gff_out.commit();
  log_info("annotate", summary.genes, " genes (", summary.partial_genes, " partial) on ", summary.contigs, " contigs, ",
           summary.bases, " bases, in ", format_significant(progress.elapsed_s(), 3), " s -> ", o.output.path,
           faa_out ? cat(", proteins ", o.proteins) : std::string(), fna_out ? cat(", genes ", o.genes) : std::string(),
           track_outs.empty() ? std::string() : cat(", tracks ", o.tracks_prefix, ".*"));
  return summary;
}

}  // namespace strand::pipelines
