// The shipped default model of each job: what -m means when it is not given. One place, so
// that a release changes them together. A name (not a path) is looked up among the shipped
// models (data/models/<name>/, `strand info` lists them); a path is a Hugging Face folder.
// Each is trained by model/training/ (its config in model/training/configs/<name>.json) and has a
// MODEL_CARD.md in its folder.
#pragma once

#include <string_view>

namespace strand::pipelines {

// Bidirectional RC-equivariant Caduceus (PS) trained on bacterial genomes: annotation.
inline constexpr std::string_view kDefaultAnnotateModel = "bacteria-ps";
// The annotation head `strand annotate` uses without --head: this file in the model's folder
// (written by `strand train-head`, tied to that model's checksum).
inline constexpr std::string_view kDefaultHeadFile = "annotation_head.safetensors";
// Causal Mamba LM on bacterial genomes: generation and log-likelihoods.
inline constexpr std::string_view kDefaultGenerateModel = "bacteria-causal";
inline constexpr std::string_view kDefaultLoglikModel = "bacteria-causal";  
// Caduceus PS on the human genome: variant effect scores of human VCFs, and embeddings.
inline constexpr std::string_view kDefaultScoreModel = "human-ps";
inline constexpr std::string_view kDefaultEmbedModel = "human-ps";
// What `strand bench` times when no -m is given: a random-weight model of the published
// Caduceus-PS 131k checkpoint's shape, built in memory (no download, no shipped weights).
inline constexpr std::string_view kBenchRandomModel = "random-ps-131k";
inline constexpr std::string_view kDefaultBenchModel = kBenchRandomModel;
// A random-weight causal Mamba LM of ~2M parameters, built in memory: generation/loglik benchmarks.
inline constexpr std::string_view kBenchRandomCausalModel = "random-mamba-2m";

// Every shipped model name, for `strand info` without an argument and for error hints.
inline constexpr std::string_view kShippedModels[] = {"bacteria-ps", "bacteria-causal", "human-ps"};

}  // namespace strand::pipelines
