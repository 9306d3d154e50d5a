#include "train/fused_adamw.h"

#include <vector>

#include "common/torch_compat.h"

namespace headlab::train {

bool fused_adamw_available(const torch::Device& device) {
#if HEADLAB_TORCH2
  if (device.is_cuda()) return true;
  if (device.is_cpu()) return TORCH_VERSION_MAJOR > 2 || TORCH_VERSION_MINOR >= 4;
#endif
  (void)device;
  return false;
}

void FusedAdamW::step(torch::optim::AdamW& adamw) {
#if HEADLAB_TORCH2
  torch::NoGradGuard no_grad;
  auto& state = adamw.state();
  for (auto& group : adamw.param_groups()) {
    const auto& options = static_cast<const torch::optim::AdamWOptions&>(group.options());
    TORCH_CHECK(!options.amsgrad(), "the fused AdamW step has no amsgrad");
    std::vector<torch::Tensor> params, grads, exp_avgs, exp_avg_sqs, steps;
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      TORCH_CHECK(fused_adamw_available(p.device()), "no fused AdamW kernel for ", p.device());
      auto key = compat::optimizer_state_key(p);
      auto it = state.find(key);
      if (it == state.end()) {
        // What torch::optim::AdamW::step creates on a parameter's first update.
        auto fresh = std::make_unique<torch::optim::AdamWParamState>();
        fresh->step(0);
        fresh->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        fresh->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        it = state.emplace(key, std::move(fresh)).first;
      }
      auto& s = static_cast<torch::optim::AdamWParamState&>(*it->second);
      StepCount& count = counts_[p.unsafeGetTensorImpl()];
      if (!count.on_device.defined() || count.value != s.step() || count.on_device.device() != p.device())
        count.on_device = torch::full({}, double(s.step()), torch::TensorOptions().dtype(torch::kFloat32).device(p.device()));
      // The kernel reads the count after this step's increment, as the eager step does.
      s.step(s.step() + 1);
      count.value = s.step();
      params.push_back(p);
      grads.push_back(p.grad());
      exp_avgs.push_back(s.exp_avg());
      exp_avg_sqs.push_back(s.exp_avg_sq());
      steps.push_back(count.on_device);
    }
    if (params.empty()) continue;
    at::_foreach_add_(steps, 1);
    at::_fused_adamw_(params, grads, exp_avgs, exp_avg_sqs, {}, steps, options.lr(), std::get<0>(options.betas()),
                      std::get<1>(options.betas()), options.weight_decay(), options.eps(), /*amsgrad=*/false,
                      /*maximize=*/false, c10::nullopt, c10::nullopt);
  }
#else
  (void)adamw;
  TORCH_CHECK(false, "the fused AdamW step needs LibTorch 2.0 or later");
#endif
}

}  // namespace headlab::train
