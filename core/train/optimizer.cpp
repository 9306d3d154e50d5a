#include "train/optimizer.h"

#include <cmath>

#include "common/errors.h"
#include "common/torch_compat.h"

namespace headlab::train {

std::string parameter_group_of(const std::string& name) {
  if (name.find(".attn.kha.") != std::string::npos) return "kha";
  if (name.find(".attn.mea.") != std::string::npos) return "mea";
  if (name.find(".attn.talking.") != std::string::npos) return "talking_heads";
  if (name.find("norm") != std::string::npos || name.rfind("tok_emb", 0) == 0) return "no_decay";
  return "decay";
}

TrainingOptimizer::TrainingOptimizer(model::Transformer& model, const TrainSettings& settings)
    : model_(model), settings_(settings) {
  register_new_parameters();
  // On CUDA the fused step is the fast path; on the CPU the eager step stays the default, so
  // that CPU runs keep their numbers across LibTorch versions.
  const auto device = model_->parameters().front().device();
  fused_ = device.is_cuda() && fused_adamw_available(device);
}

void TrainingOptimizer::step() {
  if (fused_)
    fused_adamw_.step(*adamw_);
  else
    adamw_->step();
}

void TrainingOptimizer::set_fused_step(bool on) {
  const auto device = model_->parameters().front().device();
  if (on && !fused_adamw_available(device))
    throw InputError("no fused AdamW kernel for " + device.str() + " in this LibTorch (" TORCH_VERSION ")");
  fused_ = on;
}

void TrainingOptimizer::register_new_parameters() {
  std::map<std::string, std::vector<torch::Tensor>> fresh;
  for (auto& [name, p] : model_->named_tensors()) {
    if (by_name_.count(name)) continue;
    by_name_[name] = p;
    fresh[parameter_group_of(name)].push_back(p);
  }
  for (auto& [group, params] : fresh) {
    auto it = group_index_.find(group);
    if (it != group_index_.end()) {
      auto& g = adamw_->param_groups()[it->second];
      for (auto& p : params) g.params().push_back(p);
      continue;
    }
    auto options = std::make_unique<torch::optim::AdamWOptions>(settings_.lr);
    options->betas(std::make_tuple(settings_.beta1, settings_.beta2)).eps(settings_.adam_eps);
    options->weight_decay(group == "decay" ? settings_.weight_decay : 0.0);
    torch::optim::OptimizerParamGroup param_group(params, std::move(options));
    if (!adamw_) {
      adamw_ = std::make_unique<torch::optim::AdamW>(std::vector<torch::optim::OptimizerParamGroup>{param_group});
    } else {
      adamw_->add_param_group(param_group);
    }
    group_index_[group] = adamw_->param_groups().size() - 1;
  }
}

void TrainingOptimizer::set_learning_rate(double base_lr) {
  for (const auto& [group, index] : group_index_) {
    double multiplier = 1.0;
    if (auto it = settings_.module_lr_multiplier.find(group); it != settings_.module_lr_multiplier.end())
      multiplier = it->second;
    static_cast<torch::optim::AdamWOptions&>(adamw_->param_groups()[index].options()).lr(base_lr * multiplier);
  }
}

void TrainingOptimizer::zero_grad() {
  for (auto& [name, p] : by_name_) compat::clear_grad(p);
}

double TrainingOptimizer::grad_norm() {
  double total = 0.0;
  for (auto& [name, p] : by_name_)
    if (p.grad().defined()) total += p.grad().to(torch::kFloat64).pow(2).sum().item<double>();
  return std::sqrt(total);
}

void TrainingOptimizer::clip_grad_norm(double max_norm, double norm) {
  if (max_norm <= 0 || norm <= max_norm) return;
  const double scale = max_norm / (norm + 1e-6);
  torch::NoGradGuard no_grad;
  for (auto& [name, p] : by_name_)
    if (p.grad().defined()) p.mutable_grad().mul_(scale);
}

std::vector<std::pair<std::string, torch::Tensor>> TrainingOptimizer::state_tensors() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  auto& state = adamw_->state();
  for (const auto& [name, p] : by_name_) {
    auto it = state.find(compat::optimizer_state_key(p));
    if (it == state.end()) continue;
    const auto& s = static_cast<const torch::optim::AdamWParamState&>(*it->second);
    out.emplace_back("exp_avg." + name, s.exp_avg());
    out.emplace_back("exp_avg_sq." + name, s.exp_avg_sq());
  }
  return out;
}

nlohmann::json TrainingOptimizer::state_json() const {
  nlohmann::json steps = nlohmann::json::object();
  auto& state = adamw_->state();
  for (const auto& [name, p] : by_name_) {
    auto it = state.find(compat::optimizer_state_key(p));
    if (it != state.end()) steps[name] = static_cast<const torch::optim::AdamWParamState&>(*it->second).step();
  }
  return {{"steps", steps}};
}

void TrainingOptimizer::load_state(const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                                   const nlohmann::json& json) {
  std::map<std::string, torch::Tensor> by(tensors.begin(), tensors.end());
  auto& state = adamw_->state();
  state.clear();
  if (!json.contains("steps") || !json["steps"].is_object()) throw InputError("optimizer state: missing 'steps'");
  for (auto it = json["steps"].begin(); it != json["steps"].end(); ++it) {
    const std::string& name = it.key();
    auto param = by_name_.find(name);
    if (param == by_name_.end()) throw InputError("optimizer state names unknown parameter '" + name + "'");
    auto m = by.find("exp_avg." + name), v = by.find("exp_avg_sq." + name);
    if (m == by.end() || v == by.end()) throw InputError("optimizer state: moments of '" + name + "' are missing");
    if (m->second.sizes() != param->second.sizes() || v->second.sizes() != param->second.sizes())
      throw InputError("optimizer state: moments of '" + name + "' have the wrong shape");
    // Corrupt moments would turn every weight into NaN on the first resumed step.
    if (!torch::isfinite(m->second).all().item<bool>() || !torch::isfinite(v->second).all().item<bool>() ||
        (v->second < 0).any().item<bool>())
      throw InputError("optimizer state: moments of '" + name + "' hold NaN, Inf or a negative second moment");
    auto s = std::make_unique<torch::optim::AdamWParamState>();
    s->step(it.value().get<int64_t>());
    s->exp_avg(m->second.to(param->second.device()).clone());
    s->exp_avg_sq(v->second.to(param->second.device()).clone());
    state[compat::optimizer_state_key(param->second)] = std::move(s);
  }
}

}  // namespace headlab::train
