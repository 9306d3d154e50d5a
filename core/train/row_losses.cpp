#include "train/row_losses.h"

namespace headlab::train {

RowLosses masked_row_losses(const torch::Tensor& logits, const torch::Tensor& targets, const torch::Tensor& mask) {
  const int64_t B = targets.size(0), V = logits.size(-1);
  auto scored = mask.to(logits.device(), torch::kFloat32);
  auto ce = torch::nn::functional::cross_entropy(logits.to(torch::kFloat32).reshape({-1, V}),
                                                 targets.to(logits.device()).reshape({-1}),
                                                 torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
  auto sums = (ce.view({B, -1}) * scored).sum(1).to(torch::kCPU, torch::kFloat64).contiguous();
  auto counts = scored.sum(1).to(torch::kCPU, torch::kFloat64).contiguous();
  RowLosses out;
  out.sums.assign(sums.data_ptr<double>(), sums.data_ptr<double>() + B);
  out.counts.assign(counts.data_ptr<double>(), counts.data_ptr<double>() + B);
  return out;
}

}  // namespace headlab::train
