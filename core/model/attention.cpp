#include "model/attention.h"

#include "common/errors.h"
#include "common/torch_compat.h"
#include "model/attention_reference.h"
#include "model/attention_scores.h"
#include "model/tensor_ops.h"

namespace headlab::model {
namespace {

torch::nn::Linear make_linear(int64_t in, int64_t out, bool bias) {
  return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(bias));
}

}  // namespace

AttentionPaths& attention_paths(AttentionImpl& layer) { return layer.paths_; }
const AttentionPaths& attention_paths(const AttentionImpl& layer) { return layer.paths_; }

AttentionImpl::AttentionImpl(const ModelConfig& c, int64_t layer, const torch::TensorOptions& options)
    : n_heads(c.n_heads),
      kv_heads(c.kv_heads()),
      stored_kv_heads(c.stored_kv_heads()),
      head_dim(c.head_dim),
      rope_dims(c.rotary_dims()),
      gta(c.attention == AttentionLayout::Gta),
      use_qk_norm(c.qk_norm),
      eps(c.norm_eps),
      rope(c.rope()) {
  const int64_t d = c.d_model, dh = c.head_dim;
  const bool qkv_bias = c.qkv_bias();  // validate() refuses biases with gta
  wq = register_module("wq", make_linear(d, n_heads * dh, qkv_bias));
  if (gta) {
    wkv = register_module("wkv", make_linear(d, kv_heads * dh, false));
    wk_rope = register_module("wk_rope", make_linear(d, rope_dims, false));
  } else {
    wk = register_module("wk", make_linear(d, stored_kv_heads * dh, qkv_bias));
    wv = register_module("wv", make_linear(d, stored_kv_heads * dh, qkv_bias));
  }
  wo = register_module("wo", make_linear(n_heads * dh, d, c.other_bias()));
  if (use_qk_norm) {
    q_norm = register_module("q_norm", std::make_shared<torch::nn::Module>())->register_parameter("weight", torch::ones({dh}));
    k_norm = register_module("k_norm", std::make_shared<torch::nn::Module>())->register_parameter("weight", torch::ones({dh}));
  }
  for (ModuleKind kind : kAllModuleKinds) states_[kind] = ModuleState::Absent;
  for (ModuleKind kind : kAllModuleKinds) {
    if (!c.has_module(layer, kind)) continue;
    insert(kind, c);
    if (c.is_bypassed(layer, kind)) set_state(kind, ModuleState::Bypassed);
  }
  to(options.device(), options.dtype().toScalarType());
}

ModuleState AttentionImpl::state(ModuleKind kind) const { return states_.at(kind); }

bool AttentionImpl::in_forward(ModuleKind kind) const {
  const ModuleState s = states_.at(kind);
  return s == ModuleState::Active || s == ModuleState::Frozen;
}

void AttentionImpl::insert(ModuleKind kind, const ModelConfig& c) {
  if (states_[kind] != ModuleState::Absent) return;
  auto options = torch::TensorOptions().dtype(wq->weight.scalar_type()).device(wq->weight.device());
  switch (kind) {
    case ModuleKind::Kha:
      kha = register_module("kha", KnockingHeads(head_dim, c.interaction.kha, options));
      break;
    case ModuleKind::Mea:
      mea = register_module("mea", HeadMixing(stored_kv_heads, kv_heads, n_heads, head_dim,
                                              c.interaction.mea.group_norm, options));
      break;
    case ModuleKind::TalkingHeads:
      talking = register_module("talking", TalkingHeads(n_heads, options));
      break;
  }
  states_[kind] = ModuleState::Active;
}

std::vector<torch::Tensor> AttentionImpl::module_parameters(ModuleKind kind) {
  switch (kind) {
    case ModuleKind::Kha: return kha ? kha->parameters() : std::vector<torch::Tensor>{};
    case ModuleKind::Mea: return mea ? mea->parameters() : std::vector<torch::Tensor>{};
    case ModuleKind::TalkingHeads: return talking ? talking->parameters() : std::vector<torch::Tensor>{};
  }
  return {};
}

void AttentionImpl::set_state(ModuleKind kind, ModuleState state) {
  if (states_[kind] == ModuleState::Absent)
    throw InputError("cannot set " + to_string(kind) + " to " + to_string(state) + ": the module is absent (insert it first)");
  if (state == ModuleState::Absent) throw InputError("a module cannot be removed, only bypassed");
  states_[kind] = state;
  // Only active parameters train; the others get no gradient at all, so the optimizer skips them.
  for (auto& p : module_parameters(kind)) {
    p.set_requires_grad(state == ModuleState::Active);
    compat::clear_grad(p);
  }
}

AttentionImpl::Heads AttentionImpl::project_rows(const torch::Tensor& x, LayerKVCache* cache) {
  const int64_t B = x.size(0), T = x.size(1), dh = head_dim;
  Heads out;
  auto q = wq(x).view({B, T, n_heads, dh});
  torch::Tensor first, second;  // what the cache keeps: see LayerKVCache
  if (gta) {
    first = wkv(x).view({B, T, kv_heads, dh});
    second = wk_rope(x).view({B, T, 1, rope_dims});
  } else {
    first = wk(x).view({B, T, stored_kv_heads, dh});
    second = wv(x).view({B, T, stored_kv_heads, dh});
  }
  if (cache) {
    out.q_start = cache->length();
    if (out.q_start > 0) {
      first = torch::cat({cache->first, first}, 1);
      second = torch::cat({cache->second, second}, 1);
    }
    cache->first = first;
    cache->second = second;
  }
  torch::Tensor k, v;
  if (gta) {
    const int64_t Tk = first.size(1);
    v = first;
    k = torch::cat({first.narrow(-1, 0, dh - rope_dims), second.expand({B, Tk, kv_heads, rope_dims})}, -1);
  } else {
    k = first;
    v = second;
  }
  if (in_forward(ModuleKind::Kha)) {
    q = kha->apply_q(q);
    k = kha->apply_k(k);
    v = kha->apply_v(v);
  }
  if (in_forward(ModuleKind::Mea)) {
    k = HeadMixingImpl::mix(k, mea->mix_k);
    v = HeadMixingImpl::mix(v, mea->mix_v);
  }
  if (use_qk_norm) {
    q = rms_norm(q, q_norm, eps);
    k = rms_norm(k, k_norm, eps);
  }
  out.q = apply_rope(q, out.q_start, rope_dims, rope);
  out.k = apply_rope(k, 0, rope_dims, rope);
  out.v = v;
  return out;
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, LayerKVCache* cache, torch::Tensor* attention_out) {
  if (paths_.reference) return attention_reference(*this, x, cache, attention_out);
  const int64_t B = x.size(0), T = x.size(1), dh = head_dim;
  // The fused projection needs every row at once (no cache) and one projection per kind (not gta).
  const Heads h = !cache && !gta && B * T >= paths_.fused_projection_min_rows ? fused_qkv(x) : project_rows(x, cache);
  const TalkingHeadsImpl* talk = in_forward(ModuleKind::TalkingHeads) ? talking.get() : nullptr;
  const bool sdpa = paths_.sdpa && !talk && !attention_out && sdpa_available();
  // The sharded training step runs one layer's forward on several threads at once.
  if (sdpa) __atomic_fetch_add(&paths_.sdpa_forwards, 1, __ATOMIC_RELAXED);
  auto o = (sdpa ? sdpa_attention(h.q, h.k, h.v, h.q_start) : grouped_attention(h.q, h.k, h.v, h.q_start, talk, attention_out))
               .permute({0, 2, 1, 3});  // [B, T, H, dh]
  if (in_forward(ModuleKind::Mea) && mea->has_group_norm())
    o = rms_norm(o, mea->out_norm_weight.view({n_heads, dh}), eps);  // contiguous: no copy below
  return wo(o.reshape({B, T, n_heads * dh}));
}

}  // namespace headlab::model
