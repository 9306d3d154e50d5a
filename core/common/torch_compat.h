#pragma once
// The one place that knows the differences between Debian's LibTorch 1.13 (CPU) and the
// LibTorch 2.x (CUDA) of the GPU machine. Everything else calls these helpers.
#include <torch/torch.h>
#include <ATen/autocast_mode.h>
#include <ATen/CPUGeneratorImpl.h>

#include <sstream>
#include <string>
#include <type_traits>

#if defined(TORCH_VERSION_MAJOR) && TORCH_VERSION_MAJOR >= 2
#define HEADLAB_TORCH2 1
#else
#define HEADLAB_TORCH2 0
#endif

// c10::Allocator (for allocators of our own, e.g. headlab-bench's counting one): LibTorch 2.3
// made allocate() non-const and added a pure virtual copy_data(); 1.13 has the const
// allocate() and no copy_data to override. Declare them as
//   c10::DataPtr allocate(size_t n) HEADLAB_ALLOCATE_CONST override;
//   void copy_data(void*, const void*, std::size_t) const HEADLAB_COPY_DATA_OVERRIDE;
#if defined(TORCH_VERSION_MAJOR) && (TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3))
#define HEADLAB_ALLOCATE_CONST
#define HEADLAB_COPY_DATA_OVERRIDE override
#else
#define HEADLAB_ALLOCATE_CONST const
#define HEADLAB_COPY_DATA_OVERRIDE
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

// The key of a parameter in Optimizer::state(): a string of the TensorImpl address in 1.13,
// a raw pointer in later versions. Derived from the map's own key type, so both build.
template <typename Optim = torch::optim::Optimizer>
auto optimizer_state_key(const torch::Tensor& param) {
  using Key = typename std::decay_t<decltype(std::declval<Optim&>().state())>::key_type;
  if constexpr (std::is_same_v<Key, std::string>) {
    // What 1.13's own c10::guts::to_string did (gone in 2.x, where this branch is discarded).
    std::ostringstream key;
    key << param.unsafeGetTensorImpl();
    return key.str();
  } else {
    return static_cast<Key>(param.unsafeGetTensorImpl());
  }
}

// The default CPU generator's state as a uint8 tensor, for exact resume.
inline torch::Tensor cpu_rng_state() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}

inline void set_cpu_rng_state(const torch::Tensor& state) {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

}  // namespace headlab::compat
