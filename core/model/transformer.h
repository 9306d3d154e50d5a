#pragma once
// The decoder-only transformer of MODEL.md §1, with runtime control of the interaction
// modules (§3): insert at identity, activate, freeze, bypass, per layer.
#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include "model/attention.h"
#include "model/model_config.h"

namespace headlab::model {

class BlockImpl : public torch::nn::Module {
 public:
  BlockImpl(const ModelConfig& config, int64_t layer, const torch::TensorOptions& options);
  torch::Tensor forward(const torch::Tensor& h, LayerKVCache* cache, torch::Tensor* attention_out);

  torch::Tensor attn_norm, mlp_norm;
  torch::Tensor attn_norm_bias, mlp_norm_bias;  // norm "layer" only (MODEL.md §7)
  Attention attn{nullptr};
  torch::nn::Linear w_gate{nullptr}, w_up{nullptr}, w_down{nullptr};  // w_gate: swiglu only
  double eps;
  bool gelu;
};
TORCH_MODULE(Block);

// Incremental decoding state: one LayerKVCache per layer.
struct KVCache {
  std::vector<LayerKVCache> layers;
  int64_t length() const { return layers.empty() ? 0 : layers.front().length(); }
  int64_t bytes() const;  // bytes held by the cached tensors
};

// How a module that the model does not have yet is created by insert_module.
struct InsertOptions {
  KhaConfig kha_modes{KhaMode::Linear, KhaMode::Linear, KhaMode::Mlp};
  bool mea_group_norm = true;  // the group norm is not an identity: the app warns about it
};

struct ForwardOptions {
  bool return_attention = false;  // fill ForwardResult::attention
  KVCache* cache = nullptr;       // incremental decoding: tokens are the new positions only
};

struct ForwardResult {
  torch::Tensor logits;                  // [B, T, V]
  std::vector<torch::Tensor> attention;  // per layer [B, H, T, T_total] when asked for
};

class TransformerImpl : public torch::nn::Module {
 public:
  // Parameters are allocated at their MODEL.md init: normal(0, 0.02) weights (output
  // projections scaled by 1/sqrt(2 n_layers)), unit norms, identity interaction modules.
  // Call torch::manual_seed first for a reproducible initialization.
  explicit TransformerImpl(const ModelConfig& config, const torch::Device& device = torch::kCPU);

  ForwardResult forward(const torch::Tensor& tokens, const ForwardOptions& options = {});
  torch::Tensor logits(const torch::Tensor& tokens) { return forward(tokens).logits; }

  // The config of the function that is live now (module presence, bypassed list, heads).
  const ModelConfig& config() const { return config_; }
  torch::Device device() const;

  ModuleState module_state(int64_t layer, ModuleKind kind) const;
  // Active / Frozen / Bypassed of an existing module; throws InputError otherwise.
  void set_module_state(int64_t layer, ModuleKind kind, ModuleState state);
  // Adds the module at identity in the given layers (Active). A layer that carried no
  // modules joins interaction.layers and gets the model's other modules too, bypassed, so the
  // saved config still describes exactly the live function. `options` apply when the model
  // has no such module yet.
  void insert_module(ModuleKind kind, const std::vector<int64_t>& layers, const InsertOptions& options = {});
  // Runs fn(layer) for layers 0..n-1, in any order or concurrently (layers share nothing here).
  using LayerRunner = std::function<void(int64_t n, const std::function<void(int64_t)>& fn)>;
  // A training step in row shards builds each layer's fused QKV weight once for all shards
  // (AttentionImpl::share_qkv_weight); returns the leaves the shards' gradients go to.
  std::vector<torch::Tensor> share_qkv_weights(const LayerRunner& run = {});
  // Pushes the leaves' summed gradients into the parameters (or just drops the leaves).
  void release_shared_qkv_weights(bool backpropagate, const LayerRunner& run = {});
  // Every parameter name -> tensor, named as in MODEL.md §4.
  std::vector<std::pair<std::string, torch::Tensor>> named_tensors() const;
  // Called by fold/compress after they rewrote weights and head counts.
  ModelConfig& mutable_config() { return config_; }
  void sync_bypassed_list();

  torch::nn::Embedding tok_emb{nullptr};
  torch::nn::Embedding pos_emb{nullptr};  // positions "learned" only (MODEL.md §7)
  torch::nn::ModuleList layers{nullptr};
  torch::Tensor norm, norm_bias;
  torch::nn::Linear lm_head{nullptr};  // null when tied
  std::vector<Block> blocks;

 private:
  void ensure_layer_carries_modules(int64_t layer);
  ModelConfig config_;
};
TORCH_MODULE(Transformer);

}  // namespace headlab::model
