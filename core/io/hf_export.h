#pragma once
// Writes a HeadLab model as a Hugging Face folder that `transformers` loads unmodified: the
// inverse of hf_import (MODEL.md §7's tables), after folding what folds (KHA-linear and MEA
// mixing go into the projections). A model whose live function has no Hugging Face twin (a
// KHA v mlp, talking heads, the MEA group norm, gta, or an option mix no architecture has) is
// refused with every reason at once, before anything is written.
#include <filesystem>
#include <string>
#include <vector>

#include "model/transformer.h"

namespace headlab::io {

struct HfExportReport {
  std::string architecture;         // e.g. "LlamaForCausalLM"
  std::vector<std::string> folded;  // as fold_modules reports them
};

// The reasons `model` cannot be exported (empty: it can). Reads the model only.
std::vector<std::string> hf_export_obstacles(model::Transformer& model);

// Folds the modules of `model` in place (its function is unchanged), then writes config.json,
// model.safetensors (F32, metadata format "pt") and the tokenizer file into `dir` as one
// atomic step. InputError listing the obstacles when there are any.
HfExportReport export_hf_model(model::Transformer& model, const std::filesystem::path& dir);

}  // namespace headlab::io
