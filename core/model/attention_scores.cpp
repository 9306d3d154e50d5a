#include "model/attention_scores.h"

#include <cmath>

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

}  // namespace headlab::model
