#include "model/hf_config.h"

#include <algorithm>
#include <fstream>

#include "common/errors.h"
#include "common/json_fields.h"
#include "common/json_file.h"

namespace headlab::model {
namespace fs = std::filesystem;
namespace {

const char* const kSupported = "LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM, GPT2LMHeadModel";

std::string architecture_of(const nlohmann::json& hf) {
  if (hf.contains("architectures") && hf["architectures"].is_array() && !hf["architectures"].empty() &&
      hf["architectures"][0].is_string())
    return hf["architectures"][0].get<std::string>();
  // A config without architectures (saved from a base model class) still names its model_type.
  static const std::pair<const char*, const char*> by_type[] = {
      {"llama", "LlamaForCausalLM"}, {"mistral", "MistralForCausalLM"}, {"qwen2", "Qwen2ForCausalLM"},
      {"qwen3", "Qwen3ForCausalLM"}, {"gpt2", "GPT2LMHeadModel"}};
  const std::string type = hf.value("model_type", std::string());
  for (const auto& [t, arch] : by_type)
    if (type == t) return arch;
  return type.empty() ? std::string("(none named)") : "model_type " + type;
}

// Llama 3's rope scaling, in either place transformers has kept it: rope_scaling (v4) or
// rope_parameters (v5, which also holds rope_theta). "default" means none.
void read_rope(FieldReader& r, const std::string& prefix, ModelConfig& c) {
  c.rope_theta = r.number("rope_theta", 10000.0);
  for (const char* key : {"rope_parameters", "rope_scaling"}) {
    if (!r.has(key)) continue;
    FieldReader s(r.raw(key), key, prefix);
    std::string type = s.has("rope_type") ? s.string("rope_type", "") : s.string("type", "default");
    if (s.has("rope_theta")) c.rope_theta = s.number("rope_theta", c.rope_theta);
    if (type == "default") continue;
    if (type != "llama3")
      r.fail(std::string(key) + ".rope_type '" + type + "' is not supported (HeadLab computes default and llama3 RoPE)");
    c.rope_scaling.factor = s.number("factor", 0);
    c.rope_scaling.low_freq_factor = s.number("low_freq_factor", 1);
    c.rope_scaling.high_freq_factor = s.number("high_freq_factor", 4);
    c.rope_scaling.original_max_position_embeddings = s.number("original_max_position_embeddings", 8192);
    if (!(c.rope_scaling.factor > 0)) r.fail(std::string(key) + ".factor must be positive");
  }
}

// A key whose value would change the function: refused unless it has the value HeadLab computes.
void require(FieldReader& r, const std::string& key, const nlohmann::json& wanted, const nlohmann::json& fallback) {
  const nlohmann::json value = r.has(key) ? r.raw(key) : fallback;
  if (value != wanted)
    r.fail(key + " is " + value.dump() + "; HeadLab computes this architecture with " + key + " " + wanted.dump());
}

void read_llama_family(FieldReader& r, const std::string& prefix, const std::string& arch, HfModelConfig& out) {
  ModelConfig& c = out.config;
  c.vocab_size = r.integer("vocab_size", 0, true);
  c.d_model = r.integer("hidden_size", 0, true);
  c.n_layers = r.integer("num_hidden_layers", 0, true);
  c.n_heads = r.integer("num_attention_heads", 0, true);
  c.n_kv_heads = r.integer("num_key_value_heads", c.n_heads);
  c.head_dim = r.integer("head_dim", c.n_heads > 0 ? c.d_model / c.n_heads : 0);
  c.d_ff = r.integer("intermediate_size", 0, true);
  c.norm_eps = r.number("rms_norm_eps", 1e-6);
  c.max_seq_len = r.integer("max_position_embeddings", 2048);
  c.tie_embeddings = r.boolean("tie_word_embeddings", false);
  c.attention = AttentionLayout::Gqa;
  c.qk_norm = arch == "Qwen3ForCausalLM";
  read_rope(r, prefix, c);
  require(r, "hidden_act", "silu", "silu");
  if (arch == "Qwen2ForCausalLM") {
    c.linear_bias = LinearBias::Qkv;  // Qwen2Attention: q/k/v_proj with bias, o_proj without
  } else {
    // attention_bias puts a bias on q/k/v/o_proj, mlp_bias on the MLP's three: HeadLab's
    // linear_bias "all" has both; the half a checkpoint lacks is zeros, the same function.
    const bool attention_bias = r.boolean("attention_bias", false), mlp_bias = r.boolean("mlp_bias", false);
    if (attention_bias || mlp_bias) c.linear_bias = LinearBias::All;
    if (attention_bias && !mlp_bias) out.zero_filled = {"mlp.w_gate.bias", "mlp.w_up.bias", "mlp.w_down.bias"};
    if (mlp_bias && !attention_bias) out.zero_filled = {"attn.wq.bias", "attn.wk.bias", "attn.wv.bias", "attn.wo.bias"};
  }
  // A sliding window changes nothing for sequences that fit in it: the context is capped there.
  const bool windowed = arch == "MistralForCausalLM" || (arch == "Qwen2ForCausalLM" || arch == "Qwen3ForCausalLM"
                                                             ? r.boolean("use_sliding_window", false)
                                                             : false);
  if (windowed && r.has("sliding_window")) {
    const int64_t window = r.integer("sliding_window", 0);
    if (window > 0 && window < c.max_seq_len) {
      out.note = "sliding_window " + std::to_string(window) + ": max_seq_len capped at it (longer contexts would need the window)";
      c.max_seq_len = window;
    }
  }
}

void read_gpt2(FieldReader& r, HfModelConfig& out) {
  ModelConfig& c = out.config;
  c.vocab_size = r.integer("vocab_size", 50257);
  c.d_model = r.integer("n_embd", 768);
  c.n_layers = r.integer("n_layer", 12);
  c.n_heads = r.integer("n_head", 12);
  c.attention = AttentionLayout::Mha;
  c.n_kv_heads = c.n_heads;
  c.head_dim = c.n_heads > 0 ? c.d_model / c.n_heads : 0;
  if (c.n_heads > 0 && c.d_model % c.n_heads != 0)
    r.fail("n_embd (" + std::to_string(c.d_model) + ") is not a multiple of n_head (" + std::to_string(c.n_heads) + ")");
  c.d_ff = r.integer("n_inner", 4 * c.d_model);
  c.max_seq_len = r.integer("n_positions", 1024);
  c.norm_eps = r.number("layer_norm_epsilon", 1e-5);
  c.tie_embeddings = r.boolean("tie_word_embeddings", true);
  c.norm = NormKind::Layer;
  c.mlp = MlpKind::Gelu;
  c.positions = PositionKind::Learned;
  c.linear_bias = LinearBias::All;
  const std::string act = r.string("activation_function", "gelu_new");
  if (act != "gelu_new" && act != "gelu_pytorch_tanh")
    r.fail("activation_function '" + act + "' is not supported (HeadLab computes gelu_new, the tanh form)");
  require(r, "scale_attn_weights", true, true);
  require(r, "scale_attn_by_inverse_layer_idx", false, false);
}

}  // namespace

bool is_hf_model_dir(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec) || !fs::is_regular_file(dir / "config.json", ec)) return false;
  try {
    const auto j = read_json_file(dir / "config.json");
    return j.is_object() && !j.contains("format") && (j.contains("model_type") || j.contains("architectures"));
  } catch (const InputError&) {
    return false;  // the HeadLab loader then reports the file's own problem
  }
}

HfModelConfig hf_model_config(const nlohmann::json& hf, const fs::path& dir) {
  const std::string source = (dir / "config.json").string();
  FieldReader r(hf, "", source + ": ");
  HfModelConfig out;
  out.architecture = architecture_of(hf);
  const std::string& arch = out.architecture;
  if (arch == "GPT2LMHeadModel") {
    out.family = HfFamily::Gpt2;
    read_gpt2(r, out);
  } else if (arch == "LlamaForCausalLM" || arch == "MistralForCausalLM" || arch == "Qwen2ForCausalLM" ||
             arch == "Qwen3ForCausalLM") {
    read_llama_family(r, source + ": ", arch, out);
  } else {
    throw InputError(source + ": architecture " + arch + " is not supported (HeadLab opens " + kSupported + ")");
  }
  // The tokenizer lives beside the weights; a folder without one still loads (ids only).
  std::error_code ec;
  if (fs::is_regular_file(dir / "tokenizer.json", ec))
    out.config.tokenizer = {{"type", "hf"}, {"file", "tokenizer.json"}};
  else if (fs::is_regular_file(dir / "tokenizer.model", ec))
    out.config.tokenizer = {{"type", "sentencepiece"}, {"file", "tokenizer.model"}};
  out.config.files_dir = dir;
  for (int64_t i = 0; i < out.config.n_layers; ++i) out.config.interaction.layers.push_back(i);
  try {
    out.config.validate();
  } catch (const InputError& e) {
    throw InputError(std::string(e.what()) + " (mapped from " + source + ", " + arch + ")");
  }
  return out;
}

}  // namespace headlab::model
