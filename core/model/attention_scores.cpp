#include "model/attention_scores.h"

#include <cmath>

#include "common/torch_compat.h"
#include "model/tensor_ops.h"

namespace headlab::model {

torch::Tensor grouped_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                int64_t q_start, const TalkingHeadsImpl* talking, torch::Tensor* attention_out) {
  const int64_t B = q.size(0), Tq = q.size(1), H = q.size(2), dh = q.size(3), Tk = k.size(1), G = k.size(2);
  TORCH_CHECK(H % G == 0, "attention: ", H, " query heads over ", G, " key/value heads");
  const int64_t rep = H / G;
  const double scale = 1.0 / std::sqrt(static_cast<double>(dh));
  // Head h reads kv group g(h) = h / rep: view the H query heads as [G, rep] and batch over
  // B * G, so that each group's keys and values are used by one GEMM.
  auto qg = q.permute({0, 2, 1, 3}).reshape({B * G, rep * Tq, dh});
  auto kt = k.permute({0, 2, 3, 1}).reshape({B * G, dh, Tk});
  auto vg = v.permute({0, 2, 1, 3}).reshape({B * G, Tk, dh});
  torch::Tensor probs;
  if (!talking) {
    // Scale and causal mask inside the GEMM: C = mask + scale * Q K^T.
    probs = torch::softmax(causal_scores(qg, kt, scale, q_start, rep).view({B, H, Tq, Tk}), -1);
  } else {
    // The scale rides on the [H, H] pre-mixing matrix instead of the [B, H, T, T] scores. The
    // mixed scores live head-major ([H, B, Tq, Tk] storage): mask and softmax them in that
    // frame, where they are contiguous, so that no copy is made until the values' GEMM.
    auto mixed = TalkingHeadsImpl::mix(batched_matmul(qg, kt).view({B, H, Tq, Tk}), talking->pre * scale).transpose(0, 1);
    probs = TalkingHeadsImpl::mix(torch::softmax(mask_future(mixed, q_start), -1).transpose(0, 1), talking->post);
  }
  if (attention_out) *attention_out = probs;
  auto o = batched_matmul(probs.reshape({B * G, rep * Tq, Tk}), vg);  // [B*G, rep*Tq, dh]
  return o.view({B, H, Tq, dh});
}

bool sdpa_available() { return HEADLAB_TORCH2 != 0; }

torch::Tensor sdpa_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, int64_t q_start) {
#if HEADLAB_TORCH2
  const int64_t B = q.size(0), Tq = q.size(1), H = q.size(2), dh = q.size(3), Tk = k.size(1), G = k.size(2);
  TORCH_CHECK(H % G == 0, "attention: ", H, " query heads over ", G, " key/value heads");
  const int64_t rep = H / G;
  // Head h reads kv group h / rep. SDPA's own GQA switch (enable_gqa) came in 2.5; expanding
  // the groups works from 2.0 on, and costs a copy of k and v only, not of the scores.
  auto per_head = [&](const torch::Tensor& t) {
    auto g = t.transpose(1, 2);  // [B, G, Tk, dh]
    return rep == 1 ? g : g.unsqueeze(2).expand({B, G, rep, Tk, dh}).reshape({B, H, Tk, dh});
  };
  const auto qh = q.transpose(1, 2);  // [B, H, Tq, dh]
  // Query row t is position q_start + t and sees keys 0..q_start + t. SDPA's is_causal aligns
  // the mask top-left, right only for a whole sequence; a cached chunk gets an explicit mask,
  // and a single new token (the last position) needs none.
  c10::optional<torch::Tensor> mask;
  bool is_causal = false;
  if (q_start == 0 && Tq == Tk) {
    is_causal = Tq > 1;
  } else if (!(Tq == 1 && q_start == Tk - 1)) {
    const auto opts = torch::TensorOptions().dtype(torch::kLong).device(q.device());
    mask = torch::arange(Tk, opts).view({1, Tk}) <= torch::arange(q_start, q_start + Tq, opts).view({Tq, 1});
  }
  // The default scale is 1 / sqrt(dh), MODEL.md's.
  return at::scaled_dot_product_attention(qh, per_head(k), per_head(v), mask, 0.0, is_causal);
#else
  (void)q, (void)k, (void)v, (void)q_start;
  TORCH_CHECK(false, "scaled_dot_product_attention needs LibTorch 2.0 or later");
#endif
}

}  // namespace headlab::model
