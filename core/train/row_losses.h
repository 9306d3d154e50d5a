#pragma once
// Per-row masked next-token losses: the unit of every loss HeadLab reports with an error bar.
// Rows, not tokens, are the independent samples (tokens of one row share its context), so
// validation losses and ablation deltas are means over rows' sums (stats::clustered_mean).
#include <torch/torch.h>

#include <vector>

namespace headlab::train {

struct RowLosses {
  std::vector<double> sums;    // per row: summed cross-entropy over its scored tokens
  std::vector<double> counts;  // per row: how many tokens are scored
};

// logits [B, T, V], targets [B, T] int64, mask [B, T] (1 = scored); any device.
RowLosses masked_row_losses(const torch::Tensor& logits, const torch::Tensor& targets, const torch::Tensor& mask);

}  // namespace headlab::train
