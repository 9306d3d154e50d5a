#pragma once
// The one place that knows the differences between Debian's LibTorch 1.13 (CPU) and the
// LibTorch 2.x (CUDA) of the GPU machine. Everything else calls these helpers.
#include <torch/torch.h>
#include <ATen/autocast_mode.h>

#if defined(TORCH_VERSION_MAJOR) && TORCH_VERSION_MAJOR >= 2
#define HEADLAB_TORCH2 1
#else
#define HEADLAB_TORCH2 0
#endif

namespace headlab::compat {

// bf16 autocast on CUDA only; CPU stays float32.
inline void set_cuda_autocast(bool enabled) {
#if HEADLAB_TORCH2
  at::autocast::set_autocast_enabled(at::kCUDA, enabled);
  at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
#else
  at::autocast::set_enabled(enabled);
  at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
#endif
}

// Frozen and bypassed parameters must have an undefined gradient so that AdamW skips them
// entirely (a zero gradient would still move them through the moment estimates).
inline void clear_grad(torch::Tensor& param) {
  if (param.grad().defined()) param.mutable_grad().reset();
}

}  // namespace headlab::compat
