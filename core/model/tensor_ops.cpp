#include "model/tensor_ops.h"

namespace headlab::model {

torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps) {
  return x * torch::rsqrt(x.pow(2).mean(-1, /*keepdim=*/true) + eps) * weight;
}

torch::Tensor apply_rope(const torch::Tensor& x, int64_t start, int64_t rotary_dims, double theta) {
  const int64_t T = x.size(1), dh = x.size(-1), half = rotary_dims / 2, pass = dh - rotary_dims;
  // Angles in double so that positions far along the sequence keep full float precision.
  auto dopts = torch::TensorOptions().dtype(torch::kFloat64).device(x.device());
  auto j = torch::arange(half, dopts);
  auto freq = torch::pow(torch::full({}, theta, dopts), -2.0 * j / static_cast<double>(rotary_dims));
  auto pos = torch::arange(start, start + T, dopts);
  auto angles = torch::outer(pos, freq);  // [T, half]
  auto cos = angles.cos().to(x.scalar_type()).view({1, T, 1, half});
  auto sin = angles.sin().to(x.scalar_type()).view({1, T, 1, half});
  auto rot = x.narrow(-1, pass, rotary_dims);
  auto x1 = rot.narrow(-1, 0, half), x2 = rot.narrow(-1, half, half);
  auto rotated = torch::cat({x1 * cos - x2 * sin, x2 * cos + x1 * sin}, -1);
  return pass > 0 ? torch::cat({x.narrow(-1, 0, pass), rotated}, -1) : rotated;
}

torch::Tensor identity_like(int64_t n, const torch::Tensor& like) {
  return torch::eye(n, torch::TensorOptions().dtype(like.scalar_type()).device(like.device()));
}

}  // namespace headlab::model
