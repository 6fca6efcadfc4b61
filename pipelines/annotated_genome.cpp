#include "pipelines/annotated_genome.h"

#include <map>

#include "core/error.h"
#include "genomics/genbank_reader.h"
#include "genomics/gff3_reader.h"
#include "genomics/sequence_source.h"

namespace strand::pipelines {
namespace {

void check_inside(const AnnotatedContig& contig, const genomics::Feature& f, const std::string& annotation) {
  for (const auto& part : f.parts)
    if (part.beg0 < 0 || part.end0 > static_cast<int64_t>(contig.seq.size()))
      fail(annotation, ": feature '", f.id.empty() ? f.type : f.id, "' (", f.seqid, ":", part.beg0 + 1, "-", part.end0,
           ") lies outside contig '", contig.name, "' of ", contig.seq.size(), " bases in ", contig.source);
}

}  // namespace

std::vector<AnnotatedContig> read_annotated_genomes(const std::vector<std::string>& genbank,
                                                    const std::vector<std::string>& fasta,
                                                    const std::vector<std::string>& gff) {
  STRAND_ASSERT(fasta.size() == gff.size());
  std::vector<AnnotatedContig> contigs;
  for (const auto& path : genbank) {
    genomics::GenbankReader reader(path);
    genomics::GenbankRecord rec;
    while (reader.next(rec)) {
      AnnotatedContig c{rec.name, path, std::move(rec.seq), std::move(rec.features)};
      for (const auto& f : c.features) check_inside(c, f, path);
      contigs.push_back(std::move(c));
    }
  }
  for (size_t i = 0; i < fasta.size(); ++i) {
    const size_t first = contigs.size();
    std::map<std::string, size_t> by_name;
    genomics::SequenceSource source(fasta[i], {});
    genomics::SeqRecord rec;
    while (source.next(rec)) {
      if (!by_name.emplace(rec.name, contigs.size()).second) fail(fasta[i], ": contig '", rec.name, "' appears twice");
      contigs.push_back({rec.name, fasta[i], std::move(rec.seq), {}});
    }
    if (contigs.size() == first) fail(fasta[i], ": no sequences");
    genomics::Gff3Document doc = genomics::read_gff3(gff[i]);
    for (auto& f : doc.features) {
      const auto it = by_name.find(f.seqid);
      if (it == by_name.end())
        fail(gff[i], ": feature '", f.id.empty() ? f.type : f.id, "' is on contig '", f.seqid, "', which is not in ",
             fasta[i]);
      AnnotatedContig& c = contigs[it->second];
      check_inside(c, f, gff[i]);
      c.features.push_back(std::move(f));
    }
  }
  return contigs;
}

}  // namespace strand::pipelines
