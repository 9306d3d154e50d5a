#include "model/interaction_modules.h"

#include "model/tensor_ops.h"

namespace headlab::model {

KnockingHeadsImpl::KnockingHeadsImpl(int64_t dh, KhaConfig modes, const torch::TensorOptions& options)
    : modes_(modes) {
  auto eye = [&] { return torch::eye(dh, options); };
  if (modes.q == KhaMode::Linear) t_q = register_parameter("t_q", eye());
  if (modes.k == KhaMode::Linear) t_k = register_parameter("t_k", eye());
  if (modes.v == KhaMode::Linear) t_v = register_parameter("t_v", eye());
  if (modes.v == KhaMode::Mlp) {
    v_up = register_parameter("v_up", eye());
    v_gate = register_parameter("v_gate", torch::zeros({dh, dh}, options));
    v_down = register_parameter("v_down", eye());
  }
}

torch::Tensor KnockingHeadsImpl::apply_q(const torch::Tensor& q) const {
  return t_q.defined() ? torch::matmul(q, t_q) : q;
}

torch::Tensor KnockingHeadsImpl::apply_k(const torch::Tensor& k) const {
  return t_k.defined() ? torch::matmul(k, t_k) : k;
}

torch::Tensor KnockingHeadsImpl::apply_v(const torch::Tensor& v) const {
  if (t_v.defined()) return torch::matmul(v, t_v);
  if (v_up.defined())  // 2 * ((v U) ⊙ sigmoid(v Gt)) D: identity at init since sigmoid(0) = 1/2
    return torch::matmul(2.0 * torch::matmul(v, v_up) * torch::sigmoid(torch::matmul(v, v_gate)), v_down);
  return v;
}

HeadMixingImpl::HeadMixingImpl(int64_t stored_heads, int64_t kv_heads, int64_t n_heads, int64_t head_dim,
                               bool group_norm, const torch::TensorOptions& options) {
  // [G', G] identity: with G' < G (virtual heads) the compress step overwrites it.
  auto eye = [&] { return torch::eye(stored_heads, kv_heads, options); };
  mix_k = register_parameter("mix_k", eye());
  mix_v = register_parameter("mix_v", eye());
  if (group_norm) {
    auto norm = register_module("out_norm", std::make_shared<torch::nn::Module>());
    out_norm_weight = norm->register_parameter("weight", torch::ones({n_heads * head_dim}, options));
  }
}

torch::Tensor HeadMixingImpl::mix(const torch::Tensor& x, const torch::Tensor& matrix) {
  // [B, T, G', dh] -> [B, T, dh, G'] @ [G', G] -> [B, T, G, dh]
  return torch::matmul(x.transpose(-1, -2), matrix).transpose(-1, -2);
}

TalkingHeadsImpl::TalkingHeadsImpl(int64_t n_heads, const torch::TensorOptions& options) {
  pre = register_parameter("pre", torch::eye(n_heads, options));
  post = register_parameter("post", torch::eye(n_heads, options));
}

torch::Tensor TalkingHeadsImpl::mix(const torch::Tensor& s, const torch::Tensor& matrix) {
  // s'[b, h'] = sum_h matrix[h, h'] s[b, h] as ONE GEMM: matrix^T [H', H] @ s as [H, B*Tq*Tk].
  // The result keeps the head-major layout [H', B, Tq, Tk] behind a [B, H', Tq, Tk] view, so
  // the post-softmax mixing of a pre-mixed score tensor reads it without a copy. (A GEMM per
  // batch, or one over [B*Tq*Tk, H] rows, is 1.5-3x slower here.)
  const int64_t B = s.size(0), H = s.size(1), Tq = s.size(2), Tk = s.size(3);
  return torch::mm(matrix.t(), s.transpose(0, 1).reshape({H, B * Tq * Tk}))
      .view({matrix.size(1), B, Tq, Tk})
      .transpose(0, 1);
}

}  // namespace headlab::model
