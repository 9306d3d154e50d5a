#pragma once
// A model directory (MODEL.md §4): config.json + model.safetensors, the config also stored in
// the safetensors metadata under "headlab.config" so the file alone is self-describing.
#include <filesystem>

#include "model/transformer.h"

namespace headlab::io {

inline constexpr const char* kConfigFile = "config.json";
inline constexpr const char* kWeightsFile = "model.safetensors";
inline constexpr const char* kConfigMetadataKey = "headlab.config";

// Writes config.json and model.safetensors into `dir` as one atomic step (temp dir + rename):
// an existing model there is replaced whole or not at all.
void save_model(model::Transformer& model, const std::filesystem::path& dir);

// Writes the two files into an existing directory (used inside a checkpoint under construction).
void write_model_files(model::Transformer& model, const std::filesystem::path& dir);

// Loads a model directory, or a bare .safetensors file whose metadata holds the config.
// Rejects missing or extra tensors, wrong shapes and bad configs with an InputError naming
// the tensor or field. The loaded model computes bit-identical logits to the saved one.
model::Transformer load_model(const std::filesystem::path& path, const torch::Device& device = torch::kCPU);

// Sets config.files_dir and reads the tokenizer file the config names (if any) into
// config.tokenizer_file_bytes; InputError when it is missing.
void attach_tokenizer_file(model::ModelConfig& config, const std::filesystem::path& dir);

// The config alone (for inspect and for building a model before loading weights).
model::ModelConfig load_model_config(const std::filesystem::path& path);

}  // namespace headlab::io
