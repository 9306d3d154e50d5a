#include "model/attention_reference.h"

#include <cmath>
#include <limits>

namespace headlab::model {
namespace {

// y = x W^T (+ b with linear_bias, §7) (MODEL.md: weights are stored [out, in]).
torch::Tensor project(const torch::Tensor& x, const torch::nn::Linear& linear) {
  auto y = torch::matmul(x, linear->weight.t());
  return linear->bias.defined() ? y + linear->bias : y;
}

// RMSNorm(x; w) = x / sqrt(mean(x^2 over last dim) + eps) * w.
torch::Tensor rms_norm_plain(const torch::Tensor& x, const torch::Tensor& w, double eps) {
  return x / torch::sqrt(x.pow(2).mean(-1, /*keepdim=*/true) + eps) * w;
}

// Step 5: rotate-half RoPE over the last r features of x [B, T, N, dh], position p = start + t
// for row t: x = [pass, x1, x2], freq_j = theta^(-2j/r) (rescaled by §7's rope_scaling),
// a = p freq_j, rope(x) = [pass, x1 cos a - x2 sin a, x2 cos a + x1 sin a]. Angles in double,
// as the fast path's tables are, so that far positions keep float precision in both.
// r = 0 (learned positions): no rotation.
torch::Tensor rope_plain(const torch::Tensor& x, int64_t start, int64_t r, const RopeSpec& rope) {
  if (r == 0) return x;
  const int64_t T = x.size(1), dh = x.size(-1), half = r / 2;
  auto dopts = torch::TensorOptions().dtype(torch::kFloat64).device(x.device());
  auto freq = torch::tensor(rope_frequencies(rope, r), dopts);
  auto a = torch::outer(torch::arange(start, start + T, dopts), freq).view({1, T, 1, half});
  auto cos = a.cos().to(x.scalar_type()), sin = a.sin().to(x.scalar_type());
  auto pass = x.narrow(-1, 0, dh - r), x1 = x.narrow(-1, dh - r, half), x2 = x.narrow(-1, dh - r + half, half);
  return torch::cat({pass, x1 * cos - x2 * sin, x2 * cos + x1 * sin}, -1);
}

// x [B, T, heads_in, dh] -> [B, T, heads_out, dh]: out_j = sum_i m[i, j] x_i.
torch::Tensor mix_heads(const torch::Tensor& x, const torch::Tensor& m) { return torch::einsum("btid,ij->btjd", {x, m}); }

}  // namespace

torch::Tensor attention_reference(const AttentionImpl& a, const torch::Tensor& x, LayerKVCache* cache,
                                  torch::Tensor* attention_out) {
  const int64_t B = x.size(0), T = x.size(1), H = a.n_heads, G = a.kv_heads, dh = a.head_dim, dR = a.rope_dims;

  // 1. Projections. gqa/mha/mqa: q, k = x wk^T, v = x wv^T (G' heads stored with virtual
  //    heads); gta: the tied state c = x wkv^T is v, and k = [c[..., :dh-dR], x wk_rope^T
  //    broadcast over the G groups]. The cache keeps the raw projections of every earlier
  //    position (k and v, or c and the rotary key); all later steps run over the whole prefix.
  auto q = project(x, a.wq).view({B, T, H, dh});
  torch::Tensor first, second;
  if (a.gta) {
    first = project(x, a.wkv).view({B, T, G, dh});
    second = project(x, a.wk_rope).view({B, T, 1, dR});
  } else {
    first = project(x, a.wk).view({B, T, a.stored_kv_heads, dh});
    second = project(x, a.wv).view({B, T, a.stored_kv_heads, dh});
  }
  int64_t start = 0;  // position of x's first row
  if (cache) {
    start = cache->length();
    if (start > 0) {
      first = torch::cat({cache->first, first}, 1);
      second = torch::cat({cache->second, second}, 1);
    }
    cache->first = first;
    cache->second = second;
  }
  const int64_t Tk = first.size(1);
  torch::Tensor k, v;
  if (a.gta) {
    v = first;
    k = torch::cat({first.narrow(-1, 0, dh - dR), second.expand({B, Tk, G, dR})}, -1);
  } else {
    k = first;
    v = second;
  }

  // 2. KHA: per-head right-multiplication on the feature axis; the v mlp is
  //    2 ((v U) ⊙ sigmoid(v Gt)) D.
  if (a.in_forward(ModuleKind::Kha)) {
    const auto& m = *a.kha;
    if (m.t_q.defined()) q = torch::matmul(q, m.t_q);
    if (m.t_k.defined()) k = torch::matmul(k, m.t_k);
    if (m.t_v.defined()) v = torch::matmul(v, m.t_v);
    if (m.v_up.defined())
      v = torch::matmul(2.0 * torch::matmul(v, m.v_up) * torch::sigmoid(torch::matmul(v, m.v_gate)), m.v_down);
  }

  // 3. MEA-HLC: k'_j = sum_i mix_k[i, j] k_i, v'_j = sum_i mix_v[i, j] v_i ([G', G]: G' -> G).
  if (a.in_forward(ModuleKind::Mea)) {
    k = mix_heads(k, a.mea->mix_k);
    v = mix_heads(v, a.mea->mix_v);
  }
  TORCH_CHECK(k.size(2) == G && v.size(2) == G, "attention reference: ", k.size(2), " key/value heads where ", G,
              " are needed (virtual heads need MEA active)");

  // 4. QK norm, weights [dh] shared by all heads.
  if (a.use_qk_norm) {
    q = rms_norm_plain(q, a.q_norm, a.eps);
    k = rms_norm_plain(k, a.k_norm, a.eps);
  }

  // 5. RoPE: queries at positions start.., keys at 0..Tk-1.
  q = rope_plain(q, start, dR, a.rope);
  k = rope_plain(k, 0, dR, a.rope);

  // 6. Scores s[h, t, u] = q_h[t] . k_{g(h)}[u] / sqrt(dh), g(h) = floor(h / (H/G)).
  const int64_t rep = H / G;
  auto k_of_head = k.repeat_interleave(rep, 2);  // [B, Tk, H, dh]: head h holds k_{g(h)}
  auto v_of_head = v.repeat_interleave(rep, 2);
  auto s = torch::einsum("bthd,buhd->bhtu", {q, k_of_head}) / std::sqrt(static_cast<double>(dh));

  // 7. Talking heads: s'[h'] = sum_h pre[h, h'] s[h]; causal mask (key u after query
  //    position start + t: -inf); softmax over u; p'[h'] = sum_h post[h, h'] p[h].
  const bool talk = a.in_forward(ModuleKind::TalkingHeads);
  if (talk) s = torch::einsum("bhtu,hk->bktu", {s, a.talking->pre});
  auto iopts = torch::TensorOptions().dtype(torch::kLong).device(x.device());
  auto future = torch::arange(Tk, iopts).view({1, Tk}) > torch::arange(start, start + T, iopts).view({T, 1});
  auto p = torch::softmax(s.masked_fill(future, -std::numeric_limits<double>::infinity()), -1);
  if (talk) p = torch::einsum("bhtu,hk->bktu", {p, a.talking->post});
  if (attention_out) *attention_out = p;

  // 8. Values: o_h[t] = sum_u p[h, t, u] v_{g(h)}[u].
  auto o = torch::einsum("bhtu,buhd->bthd", {p, v_of_head});  // [B, T, H, dh]

  // 9. MEA group norm: o_h <- RMSNorm(o_h) * out_norm[h], out_norm stored flat [H*dh].
  if (a.in_forward(ModuleKind::Mea) && a.mea->has_group_norm())
    o = rms_norm_plain(o, a.mea->out_norm_weight.view({H, dh}), a.eps);

  // 10. y = concat_h(o_h) wo^T.
  return project(o.reshape({B, T, H * dh}), a.wo);
}

}  // namespace headlab::model
