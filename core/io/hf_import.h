#pragma once
// Opens a Hugging Face model folder (config.json + model.safetensors, or the shards that
// model.safetensors.index.json lists) as a HeadLab model, through MODEL.md §7's name mapping.
// The weights are memory-mapped and decoded straight into the model's float32 parameters
// (F32, F16 or BF16 on disk), so the peak is the float32 model plus one tensor.
#include <filesystem>
#include <string>

#include "model/hf_config.h"
#include "model/transformer.h"

namespace headlab::io {

struct HfImport {
  model::Transformer model{nullptr};
  std::string architecture;
  std::string note;  // what was adapted (empty when nothing)
};

// InputError naming the file, tensor or field: an unsupported architecture, a missing or
// unexpected tensor, a wrong shape, a shard the index names that is not there.
HfImport import_hf_model(const std::filesystem::path& dir, const torch::Device& device = torch::kCPU);

}  // namespace headlab::io
