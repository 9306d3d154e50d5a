#pragma once
// MODEL.md §2, one layer's attention, read line by line: the path every fast path is held to
// (test_attention_equivalence.cpp) and a debugging aid (AttentionPaths::reference). Plain
// differentiable torch ops only: no custom autograd, no cached tables, no BLAS calls of its
// own, no fused weights; autograd gives the gradients of x and of every parameter.
#include <torch/torch.h>

#include "model/attention.h"

namespace headlab::model {

// The layer's parameters, head counts and module states are read from `layer`; x is
// [B, T, d] -> [B, T, d]. With a cache, x holds the new positions only and the cache grows by
// T, holding exactly what the fast path keeps (LayerKVCache), so the two paths can take turns
// on one cache. attention_out, when given, receives p' (step 7), [B, H, T, T_total].
torch::Tensor attention_reference(const AttentionImpl& layer, const torch::Tensor& x, LayerKVCache* cache = nullptr,
                                  torch::Tensor* attention_out = nullptr);

}  // namespace headlab::model
