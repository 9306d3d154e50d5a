#include "model/attention.h"

#include <cmath>

#include "common/torch_compat.h"
#include "common/errors.h"
#include "model/tensor_ops.h"

namespace headlab::model {
namespace {

torch::nn::Linear make_linear(int64_t in, int64_t out) {
  return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(false));
}

}  // namespace

AttentionImpl::AttentionImpl(const ModelConfig& c, int64_t layer, const torch::TensorOptions& options)
    : n_heads(c.n_heads),
      kv_heads(c.kv_heads()),
      stored_kv_heads(c.stored_kv_heads()),
      head_dim(c.head_dim),
      rope_dims(c.rotary_dims()),
      gta(c.attention == AttentionLayout::Gta),
      use_qk_norm(c.qk_norm),
      eps(c.norm_eps),
      rope_theta(c.rope_theta) {
  const int64_t d = c.d_model, dh = c.head_dim;
  wq = register_module("wq", make_linear(d, n_heads * dh));
  if (gta) {
    wkv = register_module("wkv", make_linear(d, kv_heads * dh));
    wk_rope = register_module("wk_rope", make_linear(d, rope_dims));
  } else {
    wk = register_module("wk", make_linear(d, stored_kv_heads * dh));
    wv = register_module("wv", make_linear(d, stored_kv_heads * dh));
  }
  wo = register_module("wo", make_linear(n_heads * dh, d));
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

namespace {

// Per-head right-multiplication of a projection's output, moved onto its weight:
// x W_h^T T = x (T^T W_h)^T for each head's [dh, d] block W_h.
// One GEMM for all heads, [dh, dh] x [dh, heads * d] with the heads' blocks side by side:
// a broadcast matmul would run `heads` small GEMMs forward and twice as many backward, each
// forking the BLAS threads, and sum an expanded copy of T for its gradient.
torch::Tensor per_head_weight(const torch::Tensor& t, const torch::Tensor& w, int64_t heads, int64_t dh) {
  const int64_t d = w.size(1);
  auto side_by_side = w.view({heads, dh, d}).transpose(0, 1).reshape({dh, heads * d});
  return t.t().mm(side_by_side).view({dh, heads, d}).transpose(0, 1).reshape({heads * dh, d});
}

// Head-axis mixing moved onto the weight: W'_j = sum_i mix[i, j] W_i, [G', dh*d] -> [G, dh*d].
torch::Tensor mixed_heads_weight(const torch::Tensor& mix, const torch::Tensor& w) {
  return torch::matmul(mix.t(), w.view({mix.size(0), -1})).view({-1, w.size(1)});
}

}  // namespace

AttentionImpl::QkvWeight AttentionImpl::qkv_weight(bool into_weights) {
  const int64_t dh = head_dim;
  const bool kha_live = in_forward(ModuleKind::Kha), mea_live = in_forward(ModuleKind::Mea);
  const bool v_mlp = kha_live && kha->v_up.defined();
  auto wq_e = wq->weight, wk_e = wk->weight, wv_e = wv->weight;
  QkvWeight out;
  if (into_weights) {
    if (kha_live) {
      if (kha->t_q.defined()) wq_e = per_head_weight(kha->t_q, wq_e, n_heads, dh);
      if (kha->t_k.defined()) wk_e = per_head_weight(kha->t_k, wk_e, stored_kv_heads, dh);
      if (kha->t_v.defined()) wv_e = per_head_weight(kha->t_v, wv_e, stored_kv_heads, dh);
      out.kha_done = true;
    }
    if (mea_live) {
      wk_e = mixed_heads_weight(mea->mix_k, wk_e);
      out.mix_k_done = true;
      if (!v_mlp) {  // mix_v acts after the (nonlinear) v mlp otherwise
        wv_e = mixed_heads_weight(mea->mix_v, wv_e);
        out.mix_v_done = true;
      }
    }
  }
  out.k_heads = wk_e.size(0) / dh;
  out.v_heads = wv_e.size(0) / dh;
  out.weight = torch::cat({wq_e, wk_e, wv_e}, 0);
  return out;
}

torch::Tensor AttentionImpl::share_qkv_weight() {
  release_shared_qkv(false);
  if (gta) return {};
  shared_qkv_ = qkv_weight(true);
  shared_built_ = shared_qkv_.weight;
  shared_qkv_.weight = shared_built_.detach().requires_grad_(shared_built_.requires_grad());
  return shared_qkv_.weight;
}

void AttentionImpl::release_shared_qkv(bool backpropagate) {
  if (backpropagate && shared_built_.defined() && shared_built_.requires_grad() && shared_qkv_.weight.grad().defined())
    torch::autograd::backward({shared_built_}, {shared_qkv_.weight.grad()});
  shared_qkv_ = QkvWeight{};
  shared_built_ = torch::Tensor();
}

void AttentionImpl::fused_qkv(const torch::Tensor& x, torch::Tensor& q, torch::Tensor& k, torch::Tensor& v) {
  const int64_t B = x.size(0), T = x.size(1), dh = head_dim;
  const bool kha_live = in_forward(ModuleKind::Kha), mea_live = in_forward(ModuleKind::Mea);
  const int64_t threshold = module_fusion_min_rows > 0 ? module_fusion_min_rows : x.size(2);
  const bool into_weights = B * T >= threshold;
  const bool v_mlp = kha_live && kha->v_up.defined();
  // The shared weight has the modules folded in: usable when this forward would fold them too.
  const bool use_shared = shared_qkv_.weight.defined() && (into_weights || (!kha_live && !mea_live));
  const QkvWeight w = use_shared ? shared_qkv_ : qkv_weight(into_weights);
  const bool kha_done = w.kha_done, mix_k_done = w.mix_k_done, mix_v_done = w.mix_v_done;
  const int64_t kh = w.k_heads, vh = w.v_heads;
  // split (not narrow): its backward writes the gradients into one buffer, where each
  // narrow's backward would allocate a zero-filled full-size buffer of its own.
  auto qkv = torch::nn::functional::linear(x, w.weight);
  torch::Tensor qk;  // q and k side by side: one QK norm and one RoPE for both
  if ((!kha_live || kha_done) && (!mea_live || mix_k_done)) {
    auto parts = qkv.split_with_sizes({(n_heads + kh) * dh, vh * dh}, -1);
    qk = parts[0].view({B, T, n_heads + kh, dh});
    v = parts[1].view({B, T, vh, dh});
  } else {
    auto parts = qkv.split_with_sizes({n_heads * dh, kh * dh, vh * dh}, -1);
    q = parts[0].view({B, T, n_heads, dh});
    k = parts[1].view({B, T, kh, dh});
    v = parts[2].view({B, T, vh, dh});
    if (kha_live) {
      q = kha->apply_q(q);
      k = kha->apply_k(k);
    }
    if (mea_live) k = HeadMixingImpl::mix(k, mea->mix_k);
    qk = torch::cat({q, k}, 2);
  }
  if (kha_live && (!kha_done || v_mlp)) v = kha->apply_v(v);
  if (mea_live && !mix_v_done) v = HeadMixingImpl::mix(v, mea->mix_v);
  const int64_t G = qk.size(2) - n_heads;
  if (use_qk_norm) qk = rms_norm(qk, torch::cat({q_norm.expand({n_heads, dh}), k_norm.expand({G, dh})}), eps);
  auto qk_parts = apply_rope(qk, 0, rope_dims, rope_theta).split_with_sizes({n_heads, G}, 2);
  q = qk_parts[0];
  k = qk_parts[1];
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, LayerKVCache* cache, torch::Tensor* attention_out) {
  const int64_t B = x.size(0), T = x.size(1), dh = head_dim;
  torch::Tensor q, k, v;
  int64_t q_start = 0;
  if (!cache && !gta && B * T >= fused_projection_min_rows) {
    fused_qkv(x, q, k, v);
  } else {
    q = wq(x).view({B, T, n_heads, dh});
    torch::Tensor first, second;
    if (gta) {
      first = wkv(x).view({B, T, kv_heads, dh});
      second = wk_rope(x).view({B, T, 1, rope_dims});
    } else {
      first = wk(x).view({B, T, stored_kv_heads, dh});
      second = wv(x).view({B, T, stored_kv_heads, dh});
    }
    if (cache) {
      q_start = cache->length();
      if (q_start > 0) {
        first = torch::cat({cache->first, first}, 1);
        second = torch::cat({cache->second, second}, 1);
      }
      cache->first = first;
      cache->second = second;
    }
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
    q = apply_rope(q, q_start, rope_dims, rope_theta);
    k = apply_rope(k, 0, rope_dims, rope_theta);
  }
  auto o = attend(q, k, v, q_start, attention_out).permute({0, 2, 1, 3});  // [B, T, H, dh]
  if (in_forward(ModuleKind::Mea) && mea->has_group_norm())
    o = rms_norm(o, mea->out_norm_weight.view({n_heads, dh}), eps);  // contiguous: no copy below
  return wo(o.reshape({B, T, n_heads * dh}));
}

torch::Tensor AttentionImpl::attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                    int64_t q_start, torch::Tensor* attention_out) const {
  const int64_t B = q.size(0), Tq = q.size(1), Tk = k.size(1), G = kv_heads, rep = n_heads / kv_heads;
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));
  // Head h reads kv group g(h) = h / rep: view the H query heads as [G, rep] and batch over
  // B * G, so that each group's keys and values are used by one GEMM.
  auto qg = q.permute({0, 2, 1, 3}).reshape({B * G, rep * Tq, head_dim});
  auto kt = k.permute({0, 2, 3, 1}).reshape({B * G, head_dim, Tk});
  auto vg = v.permute({0, 2, 1, 3}).reshape({B * G, Tk, head_dim});
  const bool talk = in_forward(ModuleKind::TalkingHeads);
  torch::Tensor probs;
  if (!talk) {
    // Scale and causal mask inside the GEMM: C = mask + scale * Q K^T.
    probs = torch::softmax(causal_scores(qg, kt, scale, q_start, rep).view({B, n_heads, Tq, Tk}), -1);
  } else {
    // The scale rides on the [H, H] pre-mixing matrix instead of the [B, H, T, T] scores. The
    // mixed scores live head-major ([H, B, Tq, Tk] storage): mask and softmax them in that
    // frame, where they are contiguous, so that no copy is made until the values' GEMM.
    auto mixed = TalkingHeadsImpl::mix(batched_matmul(qg, kt).view({B, n_heads, Tq, Tk}), talking->pre * scale)
                     .transpose(0, 1);
    probs = TalkingHeadsImpl::mix(torch::softmax(mask_future(mixed, q_start), -1).transpose(0, 1), talking->post);
  }
  if (attention_out) *attention_out = probs;
  auto o = batched_matmul(probs.reshape({B * G, rep * Tq, Tk}), vg);  // [B*G, rep*Tq, dh]
  return o.view({B, n_heads, Tq, head_dim});
}

}  // namespace headlab::model
