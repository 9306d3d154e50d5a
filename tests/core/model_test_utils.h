#pragma once
// Helpers shared by the model tests: tiny configs, weight copying, randomized modules.
#include <torch/torch.h>

#include <string>

#include "model/model_config.h"
#include "model/transformer.h"

namespace headlab::testutil {

inline model::ModelConfig tiny_config(model::AttentionLayout layout = model::AttentionLayout::Gqa, int64_t heads = 4,
                                      int64_t kv_heads = 2) {
  model::ModelConfig c;
  c.vocab_size = 37;
  c.d_model = 32;
  c.n_layers = 2;
  c.n_heads = heads;
  c.n_kv_heads = kv_heads;
  c.head_dim = 8;
  c.d_ff = 48;
  c.attention = layout;
  c.max_seq_len = 64;
  c.qk_norm = true;
  c.tokenizer = nullptr;
  return c;
}

// MODEL.md §7's GPT-2 options on a config: all biases, LayerNorm, GELU MLP, learned positions.
inline void use_gpt2_options(model::ModelConfig& c) {
  c.qk_norm = false;
  c.linear_bias = model::LinearBias::All;
  c.norm = model::NormKind::Layer;
  c.mlp = model::MlpKind::Gelu;
  c.positions = model::PositionKind::Learned;
}

inline void enable_all_modules(model::ModelConfig& c, model::KhaMode v_mode = model::KhaMode::Linear) {
  c.interaction.layers.clear();
  for (int64_t i = 0; i < c.n_layers; ++i) c.interaction.layers.push_back(i);
  c.interaction.kha = {model::KhaMode::Linear, model::KhaMode::Linear, v_mode};
  c.interaction.mea.enabled = true;
  c.interaction.talking_heads = true;
}

inline model::Transformer make_model(const model::ModelConfig& c, uint64_t seed = 7) {
  torch::manual_seed(seed);
  return model::Transformer(c);
}

// Copies every tensor that both models have (same name and shape) from src into dst.
inline void copy_shared_weights(const model::Transformer& src, model::Transformer& dst) {
  torch::NoGradGuard g;
  auto from = src->named_parameters();
  for (auto& item : dst->named_parameters()) {
    if (auto* t = from.find(item.key()); t && t->sizes() == item.value().sizes()) item.value().copy_(*t);
  }
}

// Moves every interaction-module matrix and norm weight away from its identity init, so that
// tests see the modules act (and a transposed matrix would be caught).
inline void randomize_modules(model::Transformer& m, uint64_t seed = 11) {
  torch::NoGradGuard g;
  torch::manual_seed(seed);
  for (auto& item : m->named_parameters()) {
    const std::string& n = item.key();
    if (n.find(".kha.") != std::string::npos || n.find(".mea.mix") != std::string::npos ||
        n.find(".talking.") != std::string::npos)
      item.value().add_(0.3 * torch::randn_like(item.value()));
    else if (n.find("norm") != std::string::npos)
      item.value().add_(0.2 * torch::randn_like(item.value()));
  }
}

inline torch::Tensor sample_tokens(int64_t batch, int64_t length, int64_t vocab, uint64_t seed = 3) {
  torch::manual_seed(seed);
  return torch::randint(vocab, {batch, length}, torch::kLong);
}

inline torch::Tensor logits_of(model::Transformer& m, const torch::Tensor& tokens) {
  torch::NoGradGuard g;
  return m->logits(tokens);
}

inline double max_rel_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return ((a - b).abs().max() / b.abs().max().clamp_min(1e-12)).item<double>();
}

}  // namespace headlab::testutil
