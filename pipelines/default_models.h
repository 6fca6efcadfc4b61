// The shipped default model of each job: what -m means when it is not given. One place, so
// that a release changes them together. A name (not a path) is looked up among the shipped
// models (data/models/<name>/, `strand info` lists them); a path is a Hugging Face folder.
//
// PLACEHOLDERS: the names below stand for models not yet trained/shipped; the model issues
// replace them (and the lookup) with the real ones.
#pragma once

#include <string_view>

namespace strand::pipelines {

// Bidirectional RC-equivariant Caduceus (PS) trained on bacterial genomes: annotation.
inline constexpr std::string_view kDefaultAnnotateModel = "bacteria-ps";  // placeholder
// Causal Mamba LM on bacterial genomes: generation and log-likelihoods.
inline constexpr std::string_view kDefaultGenerateModel = "bacteria-causal";  // placeholder
inline constexpr std::string_view kDefaultLoglikModel = "bacteria-causal";    // placeholder
// Caduceus PS on the human genome: variant effect scores of human VCFs, and embeddings.
inline constexpr std::string_view kDefaultScoreModel = "human-ps";  // placeholder
inline constexpr std::string_view kDefaultEmbedModel = "human-ps";  // placeholder
// What `strand bench` times when no -m is given: a random-weight model of the published
// Caduceus-PS 131k checkpoint's shape, built in memory (no download, no shipped weights).
inline constexpr std::string_view kBenchRandomModel = "random-ps-131k";
inline constexpr std::string_view kDefaultBenchModel = kBenchRandomModel;
// A random-weight causal Mamba LM of ~2M parameters, built in memory: generation/loglik benchmarks.
inline constexpr std::string_view kBenchRandomCausalModel = "random-mamba-2m";

// Every shipped model name, for `strand info` without an argument and for error hints.
inline constexpr std::string_view kShippedModels[] = {"bacteria-ps", "bacteria-causal", "human-ps"};

}  // namespace strand::pipelines
