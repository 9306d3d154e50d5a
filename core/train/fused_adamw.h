#pragma once
// The AdamW step as one fused kernel per parameter group (at::_fused_adamw_), for the CUDA
// training path: one launch updates every weight of a group, instead of torch::optim::AdamW's
// half a dozen element-wise kernels per parameter. The moments live where the eager optimizer
// keeps them (its AdamWParamState, the same tensors), so checkpoints, resume and a switch
// between the two steps all see one state. Only the step counts get a device-side twin, which
// the kernel reads for its bias corrections: no host synchronization inside the step.
#include <torch/torch.h>

#include <cstdint>
#include <map>

namespace headlab::train {

// Whether this LibTorch has a fused AdamW kernel for the device: CUDA from LibTorch 2.0, the
// CPU from 2.4. Debian 12's LibTorch 1.13 has none.
bool fused_adamw_available(const torch::Device& device);

class FusedAdamW {
 public:
  // One step of `adamw`'s update rule over every parameter with a gradient, with each group's
  // own lr, betas, eps and weight decay. Parameters without a gradient (frozen, bypassed) are
  // skipped and keep their state, as in torch::optim::AdamW::step.
  void step(torch::optim::AdamW& adamw);

 private:
  struct StepCount {
    torch::Tensor on_device;  // float32 scalar, the count the kernel reads
    int64_t value = -1;       // what on_device holds
  };
  // Keyed by the parameter's TensorImpl: a count whose value no longer matches the eager
  // state's (a loaded checkpoint, an eager step in between) is refilled from it.
  std::map<const void*, StepCount> counts_;
};

}  // namespace headlab::train
