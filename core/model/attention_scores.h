#pragma once
// Steps 6-8 of MODEL.md §2 on the fast path: scores, (talking heads,) causal softmax and the
// values, batched per key/value group so that each group's keys and values feed one GEMM.
#include <torch/torch.h>

#include "model/interaction_modules.h"

namespace headlab::model {

// q [B, Tq, H, dh], k and v [B, Tk, G, dh] (after QK norm and RoPE); query row t is position
// q_start + t. talking: the layer's talking heads when they act, else null. Returns the
// per-head outputs [B, H, Tq, dh]; attention_out, when given, receives the probabilities
// applied to the values, [B, H, Tq, Tk].
torch::Tensor grouped_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                int64_t q_start, const TalkingHeadsImpl* talking, torch::Tensor* attention_out);

// Whether this LibTorch has at::scaled_dot_product_attention (2.0 on; not Debian 12's 1.13).
bool sdpa_available();

// What grouped_attention(q, k, v, q_start, nullptr, nullptr) computes, through SDPA: no
// probabilities come out, so no talking heads and no probe. Only where sdpa_available().
torch::Tensor sdpa_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, int64_t q_start);

}  // namespace headlab::model
