// The training fast path of one layer's projections (MODEL.md §2 steps 1-5): q, k and v from
// ONE GEMM over the concatenated weights, q and k through one QK norm and one RoPE call, and
// from module_fusion_min_rows rows on, KHA-linear and MEA-HLC folded into that weight once per
// forward instead of applied to every row. Same function as attention_reference.h, other
// rounding; test_attention_equivalence.cpp holds it to that.
#include "model/attention.h"
#include "model/tensor_ops.h"

namespace headlab::model {
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

// The same two moves on a projection's bias (MODEL.md §7: the modules act on x W^T + b).
torch::Tensor per_head_bias(const torch::Tensor& t, const torch::Tensor& b, int64_t heads, int64_t dh) {
  return b.view({heads, dh}).mm(t).view({-1});
}
torch::Tensor mixed_heads_bias(const torch::Tensor& mix, const torch::Tensor& b) {
  return torch::matmul(mix.t(), b.view({mix.size(0), -1})).view({-1});
}

}  // namespace

AttentionImpl::QkvWeight AttentionImpl::qkv_weight(bool into_weights) {
  const int64_t dh = head_dim;
  const bool kha_live = in_forward(ModuleKind::Kha), mea_live = in_forward(ModuleKind::Mea);
  const bool v_mlp = kha_live && kha->v_up.defined();
  auto wq_e = wq->weight, wk_e = wk->weight, wv_e = wv->weight;
  auto bq = wq->bias, bk = wk->bias, bv = wv->bias;  // all defined or none (linear_bias)
  const bool biased = bq.defined();
  QkvWeight out;
  if (into_weights) {
    if (kha_live) {
      if (kha->t_q.defined()) {
        wq_e = per_head_weight(kha->t_q, wq_e, n_heads, dh);
        if (biased) bq = per_head_bias(kha->t_q, bq, n_heads, dh);
      }
      if (kha->t_k.defined()) {
        wk_e = per_head_weight(kha->t_k, wk_e, stored_kv_heads, dh);
        if (biased) bk = per_head_bias(kha->t_k, bk, stored_kv_heads, dh);
      }
      if (kha->t_v.defined()) {
        wv_e = per_head_weight(kha->t_v, wv_e, stored_kv_heads, dh);
        if (biased) bv = per_head_bias(kha->t_v, bv, stored_kv_heads, dh);
      }
      out.kha_done = true;
    }
    if (mea_live) {
      wk_e = mixed_heads_weight(mea->mix_k, wk_e);
      if (biased) bk = mixed_heads_bias(mea->mix_k, bk);
      out.mix_k_done = true;
      if (!v_mlp) {  // mix_v acts after the (nonlinear) v mlp otherwise
        wv_e = mixed_heads_weight(mea->mix_v, wv_e);
        if (biased) bv = mixed_heads_bias(mea->mix_v, bv);
        out.mix_v_done = true;
      }
    }
  }
  out.k_heads = wk_e.size(0) / dh;
  out.v_heads = wv_e.size(0) / dh;
  out.weight = torch::cat({wq_e, wk_e, wv_e}, 0);
  if (biased) out.bias = torch::cat({bq, bk, bv}, 0);
  return out;
}

torch::Tensor AttentionImpl::share_qkv_weight() {
  release_shared_qkv(false);
  // Biased projections (imported models) build their fused weight per forward: the shared
  // leaf carries a weight only.
  if (gta || wq->bias.defined()) return {};
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

AttentionImpl::Heads AttentionImpl::fused_qkv(const torch::Tensor& x) {
  const int64_t B = x.size(0), T = x.size(1), dh = head_dim;
  const bool kha_live = in_forward(ModuleKind::Kha), mea_live = in_forward(ModuleKind::Mea);
  const int64_t threshold = paths_.module_fusion_min_rows > 0 ? paths_.module_fusion_min_rows : x.size(2);
  const bool into_weights = B * T >= threshold;
  const bool v_mlp = kha_live && kha->v_up.defined();
  // The shared weight has the modules folded in: usable when this forward would fold them too.
  const bool use_shared = shared_qkv_.weight.defined() && (into_weights || (!kha_live && !mea_live));
  const QkvWeight w = use_shared ? shared_qkv_ : qkv_weight(into_weights);
  const bool kha_done = w.kha_done, mix_k_done = w.mix_k_done, mix_v_done = w.mix_v_done;
  const int64_t kh = w.k_heads, vh = w.v_heads;
  // split (not narrow): its backward writes the gradients into one buffer, where each
  // narrow's backward would allocate a zero-filled full-size buffer of its own.
  auto qkv = torch::nn::functional::linear(x, w.weight, w.bias);
  Heads out;
  torch::Tensor qk;  // q and k side by side: one QK norm and one RoPE for both
  if ((!kha_live || kha_done) && (!mea_live || mix_k_done)) {
    auto parts = qkv.split_with_sizes({(n_heads + kh) * dh, vh * dh}, -1);
    qk = parts[0].view({B, T, n_heads + kh, dh});
    out.v = parts[1].view({B, T, vh, dh});
  } else {
    auto parts = qkv.split_with_sizes({n_heads * dh, kh * dh, vh * dh}, -1);
    auto q = parts[0].view({B, T, n_heads, dh});
    auto k = parts[1].view({B, T, kh, dh});
    out.v = parts[2].view({B, T, vh, dh});
    if (kha_live) {
      q = kha->apply_q(q);
      k = kha->apply_k(k);
    }
    if (mea_live) k = HeadMixingImpl::mix(k, mea->mix_k);
    qk = torch::cat({q, k}, 2);
  }
  if (kha_live && (!kha_done || v_mlp)) out.v = kha->apply_v(out.v);
  if (mea_live && !mix_v_done) out.v = HeadMixingImpl::mix(out.v, mea->mix_v);
  const int64_t G = qk.size(2) - n_heads;
  if (use_qk_norm) qk = rms_norm(qk, torch::cat({q_norm.expand({n_heads, dh}), k_norm.expand({G, dh})}), eps);
  auto qk_parts = apply_rope(qk, 0, rope_dims, rope).split_with_sizes({n_heads, G}, 2);
  out.q = qk_parts[0];
  out.k = qk_parts[1];
  return out;
}

}  // namespace headlab::model
