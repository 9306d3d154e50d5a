#include "io/hf_export.h"

#include "common/errors.h"
#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "model/fold.h"

namespace headlab::io {
namespace fs = std::filesystem;
using model::ModuleKind;
using model::ModuleState;
namespace {

// Qwen3 has attention biases but none in its MLP: a model imported from one carries zeros there.
bool mlp_biases_are_zero(model::Transformer& m) {
  for (auto& b : m->blocks)
    for (auto* lin : {&b->w_gate, &b->w_up, &b->w_down})
      if (*lin && (*lin)->bias.defined() && (*lin)->bias.abs().max().item<double>() != 0) return false;
  return true;
}

bool live(const model::AttentionImpl& a, ModuleKind kind) {
  const auto s = a.state(kind);
  return s == ModuleState::Active || s == ModuleState::Frozen;
}

// The Hugging Face architecture whose function is this config's (MODEL.md §7 read backwards);
// empty with *why set when none is.
std::string architecture_for(const model::ModelConfig& c, std::string* why) {
  using model::LinearBias;
  const bool gpt2_options = c.positions == model::PositionKind::Learned || c.norm == model::NormKind::Layer ||
                            c.mlp == model::MlpKind::Gelu;
  if (gpt2_options) {
    const bool gpt2 = c.positions == model::PositionKind::Learned && c.norm == model::NormKind::Layer &&
                      c.mlp == model::MlpKind::Gelu && c.linear_bias == LinearBias::All && !c.qk_norm &&
                      c.tie_embeddings && c.kv_heads() == c.n_heads && c.head_dim * c.n_heads == c.d_model;
    if (gpt2) return "GPT2LMHeadModel";
    *why = "learned positions, LayerNorm and the GELU MLP exist together only in GPT-2 (with all biases, tied "
           "embeddings, no QK norm, one kv head per head and head_dim = d_model / n_heads)";
    return "";
  }
  if (c.qk_norm) return "Qwen3ForCausalLM";
  if (c.linear_bias == LinearBias::Qkv) return "Qwen2ForCausalLM";
  return "LlamaForCausalLM";
}

nlohmann::json hf_config(const model::ModelConfig& c, const std::string& arch) {
  nlohmann::json j;
  j["architectures"] = {arch};
  j["torch_dtype"] = "float32";
  j["vocab_size"] = c.vocab_size;
  j["tie_word_embeddings"] = c.tie_embeddings;
  if (arch == "GPT2LMHeadModel") {
    j.update({{"model_type", "gpt2"}, {"n_embd", c.d_model}, {"n_layer", c.n_layers}, {"n_head", c.n_heads},
              {"n_inner", c.d_ff}, {"n_positions", c.max_seq_len}, {"n_ctx", c.max_seq_len},
              {"layer_norm_epsilon", c.norm_eps}, {"activation_function", "gelu_new"}, {"scale_attn_weights", true},
              {"resid_pdrop", 0.0}, {"embd_pdrop", 0.0}, {"attn_pdrop", 0.0}});
    return j;
  }
  const std::string type = arch == "Qwen3ForCausalLM" ? "qwen3" : arch == "Qwen2ForCausalLM" ? "qwen2" : "llama";
  j.update({{"model_type", type}, {"hidden_size", c.d_model}, {"intermediate_size", c.d_ff},
            {"num_hidden_layers", c.n_layers}, {"num_attention_heads", c.n_heads}, {"num_key_value_heads", c.kv_heads()},
            {"head_dim", c.head_dim}, {"hidden_act", "silu"}, {"max_position_embeddings", c.max_seq_len},
            {"rms_norm_eps", c.norm_eps}, {"rope_theta", c.rope_theta}, {"attention_dropout", 0.0}});
  if (type != "qwen2") j["attention_bias"] = c.linear_bias != model::LinearBias::None;
  if (type == "llama") j["mlp_bias"] = c.linear_bias == model::LinearBias::All;
  if (type != "llama") j.update({{"use_sliding_window", false}, {"sliding_window", nullptr}});
  if (c.rope_scaling.enabled()) {
    const auto& s = c.rope_scaling;
    j["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", s.factor}, {"low_freq_factor", s.low_freq_factor},
                         {"high_freq_factor", s.high_freq_factor},
                         {"original_max_position_embeddings", s.original_max_position_embeddings}};
  } else {
    j["rope_scaling"] = nullptr;
  }
  return j;
}

// HeadLab name -> Hugging Face tensors (GPT-2's fused c_attn is assembled by the caller).
NamedTensors hf_tensors(model::Transformer& m, const std::string& arch) {
  const auto& c = m->config();
  NamedTensors out;
  auto add = [&](const std::string& name, const torch::Tensor& t) { out.emplace_back(name, t.detach()); };
  if (arch == "GPT2LMHeadModel") {
    add("transformer.wte.weight", m->tok_emb->weight);
    add("transformer.wpe.weight", m->pos_emb->weight);
    for (int64_t l = 0; l < c.n_layers; ++l) {
      auto& b = *m->blocks[l];
      auto& a = *b.attn;
      const std::string p = "transformer.h." + std::to_string(l) + ".";
      add(p + "ln_1.weight", b.attn_norm);
      add(p + "ln_1.bias", b.attn_norm_bias);
      add(p + "attn.c_attn.weight", torch::cat({a.wq->weight, a.wk->weight, a.wv->weight}, 0).t().contiguous());
      add(p + "attn.c_attn.bias", torch::cat({a.wq->bias, a.wk->bias, a.wv->bias}, 0));
      add(p + "attn.c_proj.weight", a.wo->weight.t().contiguous());
      add(p + "attn.c_proj.bias", a.wo->bias);
      add(p + "ln_2.weight", b.mlp_norm);
      add(p + "ln_2.bias", b.mlp_norm_bias);
      add(p + "mlp.c_fc.weight", b.w_up->weight.t().contiguous());
      add(p + "mlp.c_fc.bias", b.w_up->bias);
      add(p + "mlp.c_proj.weight", b.w_down->weight.t().contiguous());
      add(p + "mlp.c_proj.bias", b.w_down->bias);
    }
    add("transformer.ln_f.weight", m->norm);
    add("transformer.ln_f.bias", m->norm_bias);
    return out;
  }
  add("model.embed_tokens.weight", m->tok_emb->weight);
  const bool o_bias = c.linear_bias != model::LinearBias::None && arch != "Qwen2ForCausalLM";
  for (int64_t l = 0; l < c.n_layers; ++l) {
    auto& b = *m->blocks[l];
    auto& a = *b.attn;
    const std::string p = "model.layers." + std::to_string(l) + ".";
    add(p + "input_layernorm.weight", b.attn_norm);
    add(p + "post_attention_layernorm.weight", b.mlp_norm);
    for (auto [proj, name] : {std::pair{&a.wq, "q_proj"}, std::pair{&a.wk, "k_proj"}, std::pair{&a.wv, "v_proj"},
                              std::pair{&a.wo, "o_proj"}}) {
      add(p + "self_attn." + name + ".weight", (*proj)->weight);
      if ((*proj)->bias.defined()) add(p + "self_attn." + name + ".bias", (*proj)->bias);
      else if (o_bias && proj == &a.wo) add(p + "self_attn.o_proj.bias", torch::zeros({c.d_model}));  // qkv-only biases
    }
    if (c.qk_norm) {
      add(p + "self_attn.q_norm.weight", a.q_norm);
      add(p + "self_attn.k_norm.weight", a.k_norm);
    }
    for (auto [lin, name] : {std::pair{&b.w_gate, "gate_proj"}, std::pair{&b.w_up, "up_proj"}, std::pair{&b.w_down, "down_proj"}}) {
      add(p + "mlp." + name + ".weight", (*lin)->weight);
      if ((*lin)->bias.defined() && arch != "Qwen3ForCausalLM") add(p + "mlp." + name + ".bias", (*lin)->bias);
    }
  }
  add("model.norm.weight", m->norm);
  if (!c.tie_embeddings) add("lm_head.weight", m->lm_head->weight);
  return out;
}

}  // namespace

std::vector<std::string> hf_export_obstacles(model::Transformer& m) {
  const auto& c = m->config();
  std::vector<std::string> why;
  if (c.attention == model::AttentionLayout::Gta) why.push_back("attention gta has no Hugging Face architecture");
  std::string arch_why;
  const std::string arch = architecture_for(c, &arch_why);
  if (arch.empty()) why.push_back(arch_why);
  if (arch == "Qwen3ForCausalLM" && c.linear_bias == model::LinearBias::All && !mlp_biases_are_zero(m))
    why.push_back("QK norm with nonzero MLP biases: Qwen3 has no MLP biases");
  for (int64_t l = 0; l < c.n_layers; ++l) {
    const auto& a = *m->blocks[l]->attn;
    const std::string at = " in layer " + std::to_string(l);
    if (live(a, ModuleKind::Kha) && a.kha->v_up.defined()) why.push_back("the KHA v mlp" + at + " is nonlinear: it cannot fold");
    if (live(a, ModuleKind::TalkingHeads)) why.push_back("talking heads" + at + " act on the scores: they cannot fold");
    if (live(a, ModuleKind::Mea) && a.mea->has_group_norm())
      why.push_back("the MEA group norm" + at + " is a norm per head: it cannot fold");
  }
  return why;
}

HfExportReport export_hf_model(model::Transformer& m, const fs::path& dir) {
  const auto obstacles = hf_export_obstacles(m);
  if (!obstacles.empty()) {
    std::string text = "cannot export to the Hugging Face layout without changing the model's function:";
    for (const auto& o : obstacles) text += "\n  - " + o;
    throw InputError(text + "\n(bypass those modules first if the function without them is what you want)");
  }
  HfExportReport report;
  std::string unused;
  report.architecture = architecture_for(m->config(), &unused);
  const auto folded = model::fold_modules(m);  // KHA-linear and MEA mixing into the projections
  report.folded = folded.folded;
  const auto& c = m->config();
  AtomicDirectory target(dir);
  write_safetensors(target.temp_path() / "model.safetensors", hf_tensors(m, report.architecture), {{"format", "pt"}});
  write_file_atomic(target.temp_path() / "config.json", hf_config(c, report.architecture).dump(2) + "\n");
  if (c.tokenizer.is_object() && c.tokenizer.contains("file") && c.tokenizer_file_bytes)
    write_file_atomic(target.temp_path() / c.tokenizer["file"].get<std::string>(), *c.tokenizer_file_bytes);
  target.commit();
  return report;
}

}  // namespace headlab::io
