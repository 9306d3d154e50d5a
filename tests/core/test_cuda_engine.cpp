// The CUDA training path (issue #13) against the CPU and against its own explicit paths:
// float32 logits on both devices, SDPA = the explicit attention, the fused AdamW step = the
// eager one, bf16 training near float32, resume and module actions mid-run on the device.
// Every test skips, saying why, where LibTorch sees no CUDA device (every CPU machine, CI);
// packaging/gpu-check.sh runs them first on a GPU machine (their names contain "Cuda").
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <numeric>
#include <string>
#include <vector>

#include "model/attention_paths.h"
#include "model/attention_scores.h"
#include "model_test_utils.h"
#include "train/fused_adamw.h"
#include "train/optimizer.h"
#include "train/trainer.h"
#include "train_test_util.h"

using namespace headlab;
namespace tu = headlab::testutil;

#define HEADLAB_REQUIRE_CUDA()                                                                       \
  do {                                                                                              \
    if (!torch::cuda::is_available()) {                                                             \
      GTEST_SKIP() << "no CUDA device (LibTorch " << TORCH_VERSION << ", torch::cuda::is_available() is false)"; \
    }                                                                                               \
  } while (false)

namespace {

model::Transformer model_on(const model::ModelConfig& c, const torch::Device& device) {
  auto m = tu::make_model(c);
  tu::randomize_modules(m);
  m->to(device);
  return m;
}

// Mean loss of the last `n` steps of a run to `steps` on `device`.
double late_loss(nlohmann::json j, const std::string& device, bool bf16, int64_t steps, size_t n) {
  j["train"]["device"] = device;
  j["train"]["bf16"] = bf16;
  j["train"]["steps"] = steps;
  train::Trainer t(tu::experiment(j));
  while (!t.finished()) t.step();
  const auto& m = t.metrics();
  double sum = 0;
  for (size_t i = m.size() - n; i < m.size(); ++i) sum += m[i].loss;
  return sum / double(n);
}

}  // namespace

TEST(CudaEngine, Float32LogitsMatchTheCpuWithAndWithoutTalkingHeads) {
  HEADLAB_REQUIRE_CUDA();
  for (bool talking : {false, true}) {
    auto c = tu::tiny_config();
    tu::enable_all_modules(c);
    c.interaction.talking_heads = talking;  // without: SDPA on the device; with: the explicit path
    auto cpu = model_on(c, torch::kCPU);
    auto gpu = model_on(c, torch::kCUDA);
    const auto tokens = tu::sample_tokens(2, 40, c.vocab_size);
    const auto a = tu::logits_of(cpu, tokens);
    const auto b = tu::logits_of(gpu, tokens.to(torch::kCUDA)).cpu();
    EXPECT_LT(tu::max_rel_diff(b, a), 1e-4) << (talking ? "talking heads" : "SDPA");
  }
}

TEST(CudaEngine, SdpaMatchesTheExplicitPathValuesAndGradients) {
  HEADLAB_REQUIRE_CUDA();
  if (!model::sdpa_available()) GTEST_SKIP() << "LibTorch " << TORCH_VERSION << " has no SDPA";
  auto c = tu::tiny_config(model::AttentionLayout::Gqa, 4, 2);
  tu::enable_all_modules(c);
  c.interaction.talking_heads = false;
  auto m = model_on(c, torch::kCUDA);
  auto& layer = *m->blocks[0]->attn;
  torch::manual_seed(3);
  const auto x = torch::randn({2, 48, c.d_model}, torch::kCUDA);
  const auto cotangent = torch::randn_like(x);
  auto run = [&](bool sdpa) {
    model::attention_paths(layer).sdpa = sdpa;
    for (auto& p : layer.parameters())
      if (p.grad().defined()) p.mutable_grad().reset();
    auto xi = x.clone().requires_grad_(true);
    auto y = layer.forward(xi, nullptr, nullptr);
    (y * cotangent).sum().backward();
    std::vector<torch::Tensor> out{y.detach(), xi.grad()};
    for (auto& p : layer.parameters()) out.push_back(p.grad().defined() ? p.grad().clone() : torch::Tensor());
    return out;
  };
  const int64_t before = model::attention_paths(layer).sdpa_forwards;
  const auto fast = run(true);
  EXPECT_EQ(model::attention_paths(layer).sdpa_forwards, before + 1);
  const auto explicit_path = run(false);
  ASSERT_EQ(fast.size(), explicit_path.size());
  for (size_t i = 0; i < fast.size(); ++i) {
    ASSERT_EQ(fast[i].defined(), explicit_path[i].defined()) << i;
    if (fast[i].defined()) {
      EXPECT_LT(tu::max_rel_diff(fast[i], explicit_path[i]), 1e-4) << "output " << i;
    }
  }
}

TEST(CudaEngine, FusedAdamWMatchesTheEagerStep) {
  HEADLAB_REQUIRE_CUDA();
  auto c = tu::tiny_config();
  tu::enable_all_modules(c);
  auto eager_model = model_on(c, torch::kCUDA), fused_model = model_on(c, torch::kCUDA);
  train::TrainSettings s;
  train::TrainingOptimizer eager(eager_model, s), fused(fused_model, s);
  EXPECT_TRUE(fused.fused_step()) << "the default on CUDA";
  eager.set_fused_step(false);
  eager.set_learning_rate(1e-2);
  fused.set_learning_rate(1e-2);
  for (int step = 0; step < 6; ++step) {
    for (auto* pair : {&eager, &fused}) pair->zero_grad();
    const auto tokens = tu::sample_tokens(2, 12, c.vocab_size, 50 + step).to(torch::kCUDA);
    for (auto* m : {&eager_model, &fused_model}) {
      auto logits = (*m)->logits(tokens.slice(1, 0, 11));
      torch::nn::functional::cross_entropy(logits.reshape({-1, c.vocab_size}), tokens.slice(1, 1, 12).reshape({-1}))
          .backward();
    }
    eager.step();
    fused.step();
  }
  for (auto& item : fused_model->named_parameters())
    EXPECT_LT(tu::max_rel_diff(item.value(), eager_model->named_parameters()[item.key()]), 1e-5) << item.key();
  EXPECT_EQ(fused.state_json(), eager.state_json());
}

TEST(CudaEngine, Bf16TrainingStaysNearFloat32Over100Steps) {
  HEADLAB_REQUIRE_CUDA();
  const auto j = tu::tiny_experiment("grammar", 100);
  const double f32 = late_loss(j, "cuda", false, 100, 10), bf16 = late_loss(j, "cuda", true, 100, 10);
  EXPECT_LT(std::abs(bf16 - f32), 0.05 * f32 + 0.02) << "float32 " << f32 << ", bf16 " << bf16;
  // And float32 on the device learns what the CPU learns.
  const double cpu = late_loss(j, "cpu", false, 100, 10);
  EXPECT_LT(std::abs(f32 - cpu), 0.02 * cpu) << "CUDA " << f32 << ", CPU " << cpu;
}

TEST(CudaEngine, ResumeAndModuleActionsMidRunFollowTheUninterruptedRun) {
  HEADLAB_REQUIRE_CUDA();
  auto j = tu::tiny_experiment("induction", 24);
  j["train"]["device"] = "cuda";
  j["train"]["bf16"] = false;
  j["schedule"] = nlohmann::json::parse(R"([{"step": 4, "action": "freeze", "module": "mea", "layers": [0]},
                                            {"step": 6, "action": "insert", "module": "talking_heads", "layers": [1]},
                                            {"step": 9, "action": "bypass", "module": "kha", "layers": [0]}])");
  const auto whole_dir = tu::scratch_dir("cuda-whole"), half_dir = tu::scratch_dir("cuda-half");
  train::Trainer whole(tu::experiment(j), whole_dir);
  ASSERT_TRUE(whole.device().is_cuda());
  while (!whole.finished()) whole.step();
  {
    train::Trainer half(tu::experiment(j), half_dir);
    while (half.step_count() < 12) half.step();
    half.save_checkpoint();
  }
  auto resumed = train::Trainer::resume(half_dir);
  ASSERT_TRUE(resumed->device().is_cuda());
  EXPECT_EQ(resumed->model()->module_state(0, model::ModuleKind::Mea), model::ModuleState::Frozen);
  EXPECT_EQ(resumed->model()->module_state(1, model::ModuleKind::TalkingHeads), model::ModuleState::Active);
  EXPECT_EQ(resumed->model()->module_state(0, model::ModuleKind::Kha), model::ModuleState::Bypassed);
  while (!resumed->finished()) resumed->step();
  const auto& a = whole.metrics();
  const auto& b = resumed->metrics();
  ASSERT_EQ(a.size(), b.size());
  // CUDA's atomic adds (the embedding's backward) make the bits differ run to run; the
  // trajectories may not.
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_TRUE(std::isfinite(b[i].loss)) << "step " << b[i].step;
    EXPECT_NEAR(b[i].loss, a[i].loss, 1e-3 * a[i].loss) << "step " << a[i].step;
  }
  std::filesystem::remove_all(whole_dir);
  std::filesystem::remove_all(half_dir);
}
