#pragma once
// Copies of tensors into plain float memory, for snapshots that must not hold a tensor and
// must not care where the model lives (CUDA tensors come back to the CPU, bf16 to float).
#include <torch/torch.h>

#include <vector>

#include "probe/snapshot.h"

namespace headlab::probe {

inline std::vector<float> to_plain_vector(const torch::Tensor& t) {
  auto cpu = t.detach().to(torch::kCPU, torch::kFloat).contiguous();
  const float* data = cpu.data_ptr<float>();
  return std::vector<float>(data, data + cpu.numel());
}

// A 2-D tensor as a row-major PlainMatrix.
inline PlainMatrix to_plain_matrix(const torch::Tensor& t) {
  TORCH_CHECK(t.dim() == 2, "to_plain_matrix needs a 2-D tensor");
  return PlainMatrix{static_cast<int>(t.size(0)), static_cast<int>(t.size(1)), to_plain_vector(t)};
}

}  // namespace headlab::probe
