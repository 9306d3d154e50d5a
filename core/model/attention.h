#pragma once
// One layer's attention (MODEL.md §2): projections for every layout, then KHA, MEA-HLC,
// QK norm, RoPE, scores, talking heads, causal softmax, values, MEA group norm, output.
// The step-by-step reading of the spec is attention_reference.h; forward() runs the fast
// paths (attention_fused_qkv.cpp, attention_scores.h), which the equivalence tests hold to it.
#include <torch/torch.h>

#include <map>

#include "model/attention_paths.h"
#include "model/interaction_modules.h"
#include "model/model_config.h"

namespace headlab::model {

// What a KV cache keeps for one layer: the raw projection outputs, so that G' heads per token
// are stored with virtual heads (gqa: k_raw and v_raw [B, T, G', dh]; gta: the tied state c
// [B, T, G, dh] and the shared rotary key [B, T, 1, dR]). Everything downstream of the
// projections is recomputed from them at each step.
struct LayerKVCache {
  torch::Tensor first, second;
  int64_t length() const { return first.defined() ? first.size(1) : 0; }
};

class AttentionImpl : public torch::nn::Module {
 public:
  AttentionImpl(const ModelConfig& config, int64_t layer, const torch::TensorOptions& options);

  // x: [B, T, d] -> [B, T, d]. With a cache, x holds the new positions only and the cache
  // grows by T. attention_out, when given, receives the probabilities applied to the values
  // ([B, H, T, T_total]) — the exact tensor the training path uses.
  torch::Tensor forward(const torch::Tensor& x, LayerKVCache* cache = nullptr, torch::Tensor* attention_out = nullptr);

  // Interaction modules: creation at identity, state changes.
  ModuleState state(ModuleKind kind) const;
  // Active or Frozen: the module acts in the forward pass.
  bool in_forward(ModuleKind kind) const;
  void set_state(ModuleKind kind, ModuleState state);
  void insert(ModuleKind kind, const ModelConfig& config);  // at identity, Active
  std::vector<torch::Tensor> module_parameters(ModuleKind kind);

  // Projections (gqa: wq, wk, wv; gta: wq, wkv, wk_rope) and norms.
  torch::nn::Linear wq{nullptr}, wk{nullptr}, wv{nullptr}, wkv{nullptr}, wk_rope{nullptr}, wo{nullptr};
  torch::Tensor q_norm, k_norm;
  KnockingHeads kha{nullptr};
  HeadMixing mea{nullptr};
  TalkingHeads talking{nullptr};

  // Head counts can change by compression: kept here, not re-read from the config.
  int64_t n_heads, kv_heads, stored_kv_heads, head_dim, rope_dims;
  bool gta, use_qk_norm;
  double eps;
  RopeSpec rope;

  // For a training step split into row shards (train/sharded_backward.h): builds the fused
  // QKV weight once, with KHA/MEA folded in, and makes every fused-path forward use a detached
  // leaf copy of it, so that the shards do not each rebuild it and backpropagate through the
  // fold. Returns the leaf (undefined where the layer has no fused path: gta). Once the
  // shards' gradients are summed into the leaf's .grad, release_shared_qkv(true) pushes them
  // through the build into the parameters; release_shared_qkv(false) just drops it.
  torch::Tensor share_qkv_weight();
  void release_shared_qkv(bool backpropagate);

 private:
  friend AttentionPaths& attention_paths(AttentionImpl& layer);
  friend const AttentionPaths& attention_paths(const AttentionImpl& layer);

  // q [B, T, H, dh] and k [B, Tk, G, dh] after QK norm and RoPE, v [B, Tk, G, dh]; q_start:
  // the position of q's first row (the cache's length before this call).
  struct Heads {
    torch::Tensor q, k, v;
    int64_t q_start = 0;
  };
  // Each projection on its own, the modules on the rows; grows the cache. (attention.cpp)
  Heads project_rows(const torch::Tensor& x, LayerKVCache* cache);

  // The fused path (attention_fused_qkv.cpp): the concatenated [wq; wk; wv] weight, and which
  // modules are in it.
  struct QkvWeight {
    torch::Tensor weight, bias;  // bias: undefined without linear_bias
    bool kha_done = false, mix_k_done = false, mix_v_done = false;
    int64_t k_heads = 0, v_heads = 0;
  };
  QkvWeight qkv_weight(bool modules_into_weights);
  Heads fused_qkv(const torch::Tensor& x);
  QkvWeight shared_qkv_;      // weight: the leaf the shards use, when shared
  torch::Tensor shared_built_;  // the same values, with their graph to the parameters

  AttentionPaths paths_;
  std::map<ModuleKind, ModuleState> states_;
};
TORCH_MODULE(Attention);

}  // namespace headlab::model
