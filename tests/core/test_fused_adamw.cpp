// The fused AdamW step (train/fused_adamw.h, the CUDA path's optimizer) updates weights and
// state as torch::optim::AdamW's eager step does, per group (weight decay, module lr
// multipliers), skips parameters without a gradient, and resumes from saved state exactly.
// The kernel runs on the CPU from LibTorch 2.4 (Debian 13), where these tests check it; on
// CUDA it is the default step.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "common/errors.h"
#include "model_test_utils.h"
#include "train/fused_adamw.h"
#include "train/optimizer.h"

using namespace headlab;
namespace tu = headlab::testutil;

namespace {

train::TrainSettings settings() {
  train::TrainSettings s;
  s.lr = 1e-2;
  s.weight_decay = 0.1;
  s.module_lr_multiplier["kha"] = 3.0;
  return s;
}

model::Transformer model_with_modules() {
  auto c = tu::tiny_config();
  tu::enable_all_modules(c);
  auto m = tu::make_model(c);
  tu::randomize_modules(m);
  return m;
}

// A cross-entropy step on fixed tokens; `skip` keeps no gradient (as a frozen module has).
void backward(model::Transformer& m, int step, const std::string& skip) {
  auto tokens = tu::sample_tokens(2, 12, m->config().vocab_size, 100 + step);
  auto logits = m->logits(tokens.slice(1, 0, 11));
  auto loss = torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}),
                                                   tokens.slice(1, 1, 12).reshape({-1}));
  loss.backward();
  for (auto& item : m->named_parameters())
    if (item.key() == skip && item.value().grad().defined()) item.value().mutable_grad().reset();
}

void run_steps(model::Transformer& m, train::TrainingOptimizer& opt, int from, int to, const std::string& skip) {
  for (int step = from; step < to; ++step) {
    opt.zero_grad();
    backward(m, step, skip);
    opt.step();
  }
}

// Both optimizers step on the same gradients, the eager model's. Were each model to take its
// own, the forward of the next step would amplify the two steps' float rounding (on LibTorch
// 2.6: equal after one step, 1e-7 apart after two, 6e-6 after three, 4e-3 after eight): that
// measures the trajectory's chaos, not the optimizer.
void run_steps_on_shared_gradients(model::Transformer& eager_model, train::TrainingOptimizer& eager,
                                   model::Transformer& fused_model, train::TrainingOptimizer& fused, int steps,
                                   const std::string& skip) {
  for (int step = 0; step < steps; ++step) {
    eager.zero_grad();
    fused.zero_grad();
    backward(eager_model, step, skip);
    auto fused_parameters = fused_model->named_parameters();
    for (auto& item : eager_model->named_parameters())
      if (item.value().grad().defined()) fused_parameters[item.key()].mutable_grad() = item.value().grad().clone();
    eager.step();
    fused.step();
  }
}

}  // namespace

TEST(FusedAdamW, RefusedWhereThisLibTorchHasNoKernel) {
  auto m = model_with_modules();
  train::TrainingOptimizer opt(m, settings());
  EXPECT_FALSE(opt.fused_step()) << "the CPU keeps the eager step by default";
  if (train::fused_adamw_available(torch::kCPU)) {
    opt.set_fused_step(true);
    EXPECT_TRUE(opt.fused_step());
  } else {
    EXPECT_THROW(opt.set_fused_step(true), InputError);
    EXPECT_FALSE(opt.fused_step());
  }
}

TEST(FusedAdamW, SameWeightsAndStateAsTheEagerStep) {
  if (!train::fused_adamw_available(torch::kCPU))
    GTEST_SKIP() << "LibTorch " << TORCH_VERSION << " has no fused AdamW kernel for the CPU (2.4 on)";
  auto eager_model = model_with_modules();
  auto fused_model = model_with_modules();
  train::TrainingOptimizer eager(eager_model, settings()), fused(fused_model, settings());
  eager.set_learning_rate(1e-2);
  fused.set_learning_rate(1e-2);
  fused.set_fused_step(true);
  const std::string frozen = "layers.1.attn.kha.t_q";
  ASSERT_TRUE(eager_model->named_parameters().contains(frozen));
  run_steps_on_shared_gradients(eager_model, eager, fused_model, fused, 8, frozen);

  auto before = model_with_modules()->named_parameters();
  // Held in a variable: named_parameters() returns a new dict, and a reference into a
  // temporary one dangles (it crashed on LibTorch 2.6, the first to run this test).
  const auto eager_parameters = eager_model->named_parameters();
  for (auto& item : fused_model->named_parameters()) {
    const auto& e = eager_parameters[item.key()];
    EXPECT_LT(tu::max_rel_diff(item.value(), e), 1e-5) << item.key();
  }
  EXPECT_TRUE(torch::equal(fused_model->named_parameters()[frozen], before[frozen])) << "no gradient, no step";
  EXPECT_FALSE(torch::equal(fused_model->named_parameters()["layers.0.attn.wq.weight"], before["layers.0.attn.wq.weight"]));
  EXPECT_EQ(fused.state_json(), eager.state_json());
  EXPECT_EQ(fused.state_json()["steps"]["layers.0.attn.wq.weight"], 8);
  EXPECT_EQ(fused.state_json()["steps"].count(frozen), 0u);
  const auto e_state = eager.state_tensors(), f_state = fused.state_tensors();
  ASSERT_EQ(e_state.size(), f_state.size());
  for (size_t i = 0; i < e_state.size(); ++i) {
    ASSERT_EQ(e_state[i].first, f_state[i].first);
    EXPECT_LT(tu::max_rel_diff(f_state[i].second, e_state[i].second), 1e-4) << e_state[i].first;
  }
}

TEST(FusedAdamW, ResumedFromSavedStateMatchesTheUninterruptedRunBitForBit) {
  if (!train::fused_adamw_available(torch::kCPU))
    GTEST_SKIP() << "LibTorch " << TORCH_VERSION << " has no fused AdamW kernel for the CPU (2.4 on)";
  auto straight = model_with_modules();
  train::TrainingOptimizer straight_opt(straight, settings());
  straight_opt.set_fused_step(true);
  run_steps(straight, straight_opt, 0, 5, "");
  const auto tensors = straight_opt.state_tensors();
  const auto json = straight_opt.state_json();
  auto resumed = model_with_modules();
  tu::copy_shared_weights(straight, resumed);
  train::TrainingOptimizer resumed_opt(resumed, settings());
  resumed_opt.set_fused_step(true);
  resumed_opt.load_state(tensors, json);
  run_steps(straight, straight_opt, 5, 9, "");
  run_steps(resumed, resumed_opt, 5, 9, "");
  for (auto& item : resumed->named_parameters())
    EXPECT_TRUE(torch::equal(item.value(), straight->named_parameters()[item.key()])) << item.key();
  EXPECT_EQ(resumed_opt.state_json(), straight_opt.state_json());
}
