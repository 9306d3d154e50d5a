#pragma once
// Small pure tensor functions of MODEL.md: RMSNorm and rotate-half RoPE.
#include <torch/torch.h>

namespace headlab::model {

// x / sqrt(mean(x^2 over last dim) + eps) * weight (weight broadcasts against x).
torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps);

// Rotate-half RoPE over the LAST `rotary_dims` features of x [B, T, N, dh], positions
// start, start+1, ... along dim 1. The first dh - rotary_dims features pass through.
torch::Tensor apply_rope(const torch::Tensor& x, int64_t start, int64_t rotary_dims, double theta);

// Fills a [n, n] identity on the device and dtype of `like`.
torch::Tensor identity_like(int64_t n, const torch::Tensor& like);

}  // namespace headlab::model
