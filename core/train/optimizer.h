#pragma once
// AdamW with parameter groups: weight decay only on projection and MLP weights (not on norms,
// embeddings or interaction matrices), a learning-rate multiplier per interaction module, and
// state saved by parameter NAME so that checkpoints survive modules inserted mid-run.
#include <torch/torch.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/transformer.h"
#include "train/fused_adamw.h"
#include "train/experiment_config.h"

namespace headlab::train {

// "decay", "no_decay", "kha", "mea" or "talking_heads" for a MODEL.md tensor name.
std::string parameter_group_of(const std::string& name);

class TrainingOptimizer {
 public:
  TrainingOptimizer(model::Transformer& model, const TrainSettings& settings);

  // Adds parameters the optimizer has not seen (after a module was inserted).
  void register_new_parameters();
  // Every group's lr = base_lr x its module multiplier.
  void set_learning_rate(double base_lr);
  void zero_grad();
  // Global grad norm over the trainable parameters in name order (a fixed summation order,
  // so a resumed run computes the same bits). Non-finite when a gradient is.
  double grad_norm();
  void clip_grad_norm(double max_norm, double norm);
  // AdamW's update: one fused kernel per group on CUDA where LibTorch has it (2.x), else
  // torch::optim::AdamW's own step. Both read and write the same state.
  void step();
  bool fused_step() const { return fused_; }
  // Tests compare the two steps (on the CPU where LibTorch >= 2.4 has the fused kernel);
  // turning it on where the kernel is missing throws.
  void set_fused_step(bool on);

  // exp_avg.<name> / exp_avg_sq.<name> tensors, and {"steps": {name: n}} JSON.
  std::vector<std::pair<std::string, torch::Tensor>> state_tensors() const;
  nlohmann::json state_json() const;
  void load_state(const std::vector<std::pair<std::string, torch::Tensor>>& tensors, const nlohmann::json& json);
  torch::optim::AdamW& adamw() { return *adamw_; }

 private:
  model::Transformer& model_;
  TrainSettings settings_;
  std::unique_ptr<torch::optim::AdamW> adamw_;
  FusedAdamW fused_adamw_;
  bool fused_ = false;
  std::map<std::string, size_t> group_index_;     // group name -> index in param_groups()
  std::map<std::string, torch::Tensor> by_name_;  // every registered parameter
};

}  // namespace headlab::train
