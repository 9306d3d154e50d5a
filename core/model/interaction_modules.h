#pragma once
// The cross-head interaction modules of MODEL.md §2, each identity-initialized so that
// inserting one leaves the model's function unchanged (except the MEA group norm).
#include <torch/torch.h>

#include "model/model_config.h"

namespace headlab::model {

// Knocking heads: dh x dh matrices shared by all heads of a layer, right-multiplied on the
// feature axis of each head's q / k / v. The v path may be a gated MLP instead.
class KnockingHeadsImpl : public torch::nn::Module {
 public:
  KnockingHeadsImpl(int64_t head_dim, KhaConfig modes, const torch::TensorOptions& options);
  // x: [..., dh]
  torch::Tensor apply_q(const torch::Tensor& q) const;
  torch::Tensor apply_k(const torch::Tensor& k) const;
  torch::Tensor apply_v(const torch::Tensor& v) const;
  KhaConfig modes() const { return modes_; }

  torch::Tensor t_q, t_k, t_v;             // linear modes
  torch::Tensor v_up, v_gate, v_down;      // mlp mode on v

 private:
  KhaConfig modes_;
};
TORCH_MODULE(KnockingHeads);

// MEA: head-level linear composition of K and V (mix_* : [G', G], k'_j = sum_i mix[i,j] k_i)
// plus an optional per-head RMS "group norm" on the attention output.
class HeadMixingImpl : public torch::nn::Module {
 public:
  HeadMixingImpl(int64_t stored_heads, int64_t kv_heads, int64_t n_heads, int64_t head_dim, bool group_norm,
                 const torch::TensorOptions& options);
  // x: [B, T, G', dh] -> [B, T, G, dh]
  static torch::Tensor mix(const torch::Tensor& x, const torch::Tensor& matrix);
  bool has_group_norm() const { return out_norm_weight.defined(); }

  torch::Tensor mix_k, mix_v;
  torch::Tensor out_norm_weight;  // [H * dh], registered as out_norm.weight
};
TORCH_MODULE(HeadMixing);

// Talking heads: mixes attention logits before the softmax (pre) and the probabilities
// after it (post) across heads: s'[h'] = sum_h pre[h, h'] s[h].
class TalkingHeadsImpl : public torch::nn::Module {
 public:
  TalkingHeadsImpl(int64_t n_heads, const torch::TensorOptions& options);
  // s: [B, H, Tq, Tk]
  static torch::Tensor mix(const torch::Tensor& s, const torch::Tensor& matrix);

  torch::Tensor pre, post;
};
TORCH_MODULE(TalkingHeads);

}  // namespace headlab::model
