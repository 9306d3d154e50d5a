#pragma once
// A Hugging Face model folder's config.json read as a HeadLab model config (MODEL.md §7's
// mapping): LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM and
// GPT2LMHeadModel. Anything else, or an option of these that changes the function in a way
// HeadLab does not compute (another activation, rope type or bias layout), is refused by name:
// a model is loaded whole and exact, or not at all. Plain C++ (no torch).
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "model/model_config.h"

namespace headlab::model {

enum class HfFamily { Llama, Gpt2 };  // Llama covers Mistral, Qwen2 and Qwen3 (same names)

struct HfModelConfig {
  std::string architecture;  // e.g. "Qwen3ForCausalLM"
  HfFamily family = HfFamily::Llama;
  ModelConfig config;
  std::string note;  // what was adapted, e.g. Mistral's sliding window capping max_seq_len
  // HeadLab tensors (name suffixes, e.g. "mlp.w_up.bias") that the checkpoint does not hold and
  // that are zeros in its function: Llama's attention_bias alone maps to linear_bias "all" with
  // the MLP's biases at zero, which computes exactly the same.
  std::vector<std::string> zero_filled;
};

// True when `dir` holds a config.json written by Hugging Face (it names a model_type or
// architectures and no HeadLab "format").
bool is_hf_model_dir(const std::filesystem::path& dir);

// InputError naming the file and the field or architecture at fault.
HfModelConfig hf_model_config(const nlohmann::json& hf, const std::filesystem::path& dir);

}  // namespace headlab::model
