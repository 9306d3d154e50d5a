// The training fast path (one QKV GEMM, KHA-linear and MEA-HLC applied to the weights, one
// QK norm + RoPE for q and k, fused gate/up GEMM) computes the same function and the same
// gradients as the row-by-row path, which test_model_reference checks against the spec.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>

#include "model/attention_paths.h"
#include "model/fold.h"
#include "model/tensor_ops.h"
#include "model_test_utils.h"

using namespace headlab;
using namespace headlab::model;
namespace tu = headlab::testutil;

namespace {

enum class Path { RowByRow, OneGemmModulesOnRows, OneGemmModulesInWeights };

void use_path(Transformer& m, Path p) {
  for (auto& b : m->blocks) {
    auto& paths = attention_paths(*b->attn);
    paths.fused_projection_min_rows = p == Path::RowByRow ? (int64_t{1} << 40) : 1;
    paths.module_fusion_min_rows = p == Path::OneGemmModulesInWeights ? 1 : (int64_t{1} << 40);
  }
}

struct Outcome {
  torch::Tensor logits;
  std::map<std::string, torch::Tensor> grads;
};

Outcome run(Transformer& m, const torch::Tensor& tokens, Path p) {
  use_path(m, p);
  for (auto& [name, t] : m->named_tensors())
    if (t.grad().defined()) t.mutable_grad().reset();
  auto logits = m->logits(tokens);
  torch::manual_seed(17);
  (logits * torch::randn_like(logits)).sum().backward();
  Outcome o{logits.detach().clone(), {}};
  for (auto& [name, t] : m->named_tensors())
    if (t.grad().defined()) o.grads[name] = t.grad().clone();
  return o;
}

struct FastCase {
  std::string name;
  AttentionLayout layout;
  int64_t kv_heads;
  KhaMode q, k, v;
  bool mea, talking, group_norm, qk_norm;
  int64_t virtual_heads;
};

class FastPath : public ::testing::TestWithParam<FastCase> {};

TEST_P(FastPath, SameLogitsAndGradientsAsRowByRow) {
  const auto& tc = GetParam();
  auto cfg = tu::tiny_config(tc.layout, 4, tc.kv_heads);
  cfg.qk_norm = tc.qk_norm;
  cfg.interaction.layers = {0, 1};
  cfg.interaction.kha = {tc.q, tc.k, tc.v};
  cfg.interaction.mea = {tc.mea, tc.group_norm, 0};
  cfg.interaction.talking_heads = tc.talking;
  auto m = tu::make_model(cfg);
  tu::randomize_modules(m);
  if (tc.virtual_heads > 0) compress_kv_heads(m, tc.virtual_heads);
  auto tokens = tu::sample_tokens(3, 24, cfg.vocab_size);  // 72 rows: above every threshold
  const auto slow = run(m, tokens, Path::RowByRow);
  for (Path p : {Path::OneGemmModulesOnRows, Path::OneGemmModulesInWeights}) {
    const auto fast = run(m, tokens, p);
    const std::string path = p == Path::OneGemmModulesOnRows ? "modules on rows" : "modules in weights";
    EXPECT_LT(tu::max_rel_diff(fast.logits, slow.logits), 1e-5) << tc.name << ", " << path;
    ASSERT_EQ(fast.grads.size(), slow.grads.size()) << tc.name << ", " << path;
    for (const auto& [name, g] : slow.grads) {
      ASSERT_TRUE(fast.grads.count(name)) << name;
      EXPECT_LT(tu::max_rel_diff(fast.grads.at(name), g), 1e-4) << tc.name << ", " << path << ": " << name;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Layouts, FastPath,
    ::testing::Values(
        FastCase{"mha_plain", AttentionLayout::Mha, 4, KhaMode::None, KhaMode::None, KhaMode::None, false, false, true, true, 0},
        FastCase{"gqa_all", AttentionLayout::Gqa, 2, KhaMode::Linear, KhaMode::Linear, KhaMode::Linear, true, true, true, true, 0},
        FastCase{"gqa_vmlp_mea", AttentionLayout::Gqa, 2, KhaMode::Linear, KhaMode::None, KhaMode::Mlp, true, false, true, true, 0},
        FastCase{"mqa_no_qk_norm", AttentionLayout::Mqa, 1, KhaMode::None, KhaMode::Linear, KhaMode::None, false, true, false, false, 0},
        FastCase{"mha_kha_only", AttentionLayout::Mha, 4, KhaMode::Linear, KhaMode::Linear, KhaMode::Linear, false, false, false, true, 0},
        FastCase{"gqa_virtual", AttentionLayout::Gqa, 4, KhaMode::None, KhaMode::Linear, KhaMode::Linear, true, false, true, true, 2},
        FastCase{"gta_all", AttentionLayout::Gta, 2, KhaMode::Linear, KhaMode::Linear, KhaMode::Mlp, true, true, true, true, 0}),
    [](const auto& info) { return info.param.name; });

// Frozen and bypassed modules on the fast path: no gradient for frozen matrices, and a
// bypassed module is skipped exactly as on the row-by-row path.
TEST(FastPath, FrozenAndBypassedModules) {
  auto cfg = tu::tiny_config(AttentionLayout::Gqa, 4, 2);
  tu::enable_all_modules(cfg, KhaMode::Linear);
  auto m = tu::make_model(cfg);
  tu::randomize_modules(m);
  m->set_module_state(0, ModuleKind::Kha, ModuleState::Frozen);
  m->set_module_state(1, ModuleKind::Mea, ModuleState::Bypassed);
  auto tokens = tu::sample_tokens(2, 40, cfg.vocab_size);
  const auto slow = run(m, tokens, Path::RowByRow);
  const auto fast = run(m, tokens, Path::OneGemmModulesInWeights);
  EXPECT_LT(tu::max_rel_diff(fast.logits, slow.logits), 1e-5);
  EXPECT_EQ(fast.grads.count("layers.0.attn.kha.t_q"), 0u);
  EXPECT_EQ(fast.grads.count("layers.1.attn.mea.mix_k"), 0u);
  EXPECT_EQ(fast.grads.size(), slow.grads.size());
}

// RoPE and RMSNorm have hand-written backward passes: check them against autograd's.
TEST(TensorOps, HandWrittenGradientsMatchAutograd) {
  torch::manual_seed(3);
  for (int64_t rotary : {8, 4}) {  // all dims, and gta's last dims only
    auto x = torch::randn({2, 7, 3, 8}, torch::requires_grad());
    auto g = torch::randn({2, 7, 3, 8});
    auto dx = torch::autograd::grad({(apply_rope(x, 2, rotary, 10000.0) * g).sum()}, {x})[0];
    // Autograd through the plain formula.
    auto xd = x.detach().clone().requires_grad_(true);
    const int64_t half = rotary / 2, pass = 8 - rotary;
    auto j = torch::arange(half, torch::kFloat64);
    auto freq = torch::pow(torch::full({}, 10000.0, torch::kFloat64), -2.0 * j / double(rotary));
    auto ang = torch::outer(torch::arange(2, 9, torch::kFloat64), freq);
    auto c = ang.cos().to(torch::kFloat).view({1, 7, 1, half}), s = ang.sin().to(torch::kFloat).view({1, 7, 1, half});
    auto x1 = xd.narrow(-1, pass, half), x2 = xd.narrow(-1, pass + half, half);
    auto y = torch::cat({xd.narrow(-1, 0, pass), x1 * c - x2 * s, x2 * c + x1 * s}, -1);
    auto dx_ref = torch::autograd::grad({(y * g).sum()}, {xd})[0];
    EXPECT_LT(tu::max_rel_diff(apply_rope(x.detach(), 2, rotary, 10000.0), y.detach()), 1e-6) << rotary;
    EXPECT_LT(tu::max_rel_diff(dx, dx_ref), 1e-6) << rotary;
  }
  auto x = torch::randn({4, 5, 6}, torch::requires_grad());
  auto w = (1 + 0.3 * torch::randn({5, 6})).requires_grad_(true);
  auto g = torch::randn({4, 5, 6});
  auto grads = torch::autograd::grad({(rms_norm(x, w, 1e-6) * g).sum()}, {x, w});
  auto xd = x.detach().clone().requires_grad_(true), wd = w.detach().clone().requires_grad_(true);
  auto ref = xd / torch::sqrt(xd.pow(2).mean(-1, true) + 1e-6) * wd;
  auto ref_grads = torch::autograd::grad({(ref * g).sum()}, {xd, wd});
  EXPECT_LT(tu::max_rel_diff(grads[0], ref_grads[0]), 1e-5);
  EXPECT_LT(tu::max_rel_diff(grads[1], ref_grads[1]), 1e-5);
}

TEST(TensorOps, SwiGluMatchesAutograd) {
  torch::manual_seed(6);
  auto gu = torch::randn({3, 5, 8}, torch::requires_grad());
  auto g = torch::randn({3, 5, 4});
  auto out = swiglu(gu);
  auto ref = torch::silu(gu.narrow(-1, 0, 4)) * gu.narrow(-1, 4, 4);
  EXPECT_LT(tu::max_rel_diff(out, ref), 1e-6);
  auto d = torch::autograd::grad({(out * g).sum()}, {gu})[0];
  auto d_ref = torch::autograd::grad({(ref * g).sum()}, {gu})[0];
  EXPECT_LT(tu::max_rel_diff(d, d_ref), 1e-6);
}

TEST(TensorOps, BatchedMatmulMatchesBaddbmmWithGradients) {
  torch::manual_seed(4);
  for (bool big : {false, true}) {  // inline, and split over threads
    const int64_t N = big ? 24 : 3, M = big ? 64 : 2, K = big ? 32 : 5, P = big ? 48 : 4;
    auto a = torch::randn({N, M, K}, torch::requires_grad());
    auto bt = torch::randn({N, P, K}, torch::requires_grad());  // b as a transposed view
    auto bias = torch::randn({M, P});
    auto g = torch::randn({N, M, P});
    // An operand BLAS cannot take as it is (every other column): copied first.
    auto wide = torch::randn({N, M, 2 * K});
    EXPECT_LT(tu::max_rel_diff(batched_matmul(wide.slice(2, 0, 2 * K, 2), bt.detach().transpose(1, 2)),
                               torch::bmm(wide.slice(2, 0, 2 * K, 2), bt.detach().transpose(1, 2))), 1e-6);
    for (bool with_bias : {false, true}) {
      auto b = bt.transpose(1, 2);
      auto out = batched_matmul(a, b, 0.5, with_bias ? bias : torch::Tensor());
      auto ref = with_bias ? torch::baddbmm(bias, a, b, 1.0, 0.5) : 0.5 * torch::bmm(a, b);
      EXPECT_LT(tu::max_rel_diff(out, ref), 1e-6);
      auto grads = torch::autograd::grad({(out * g).sum()}, {a, bt});
      auto ref_grads = torch::autograd::grad({(ref * g).sum()}, {a, bt});
      EXPECT_LT(tu::max_rel_diff(grads[0], ref_grads[0]), 1e-6);
      EXPECT_LT(tu::max_rel_diff(grads[1], ref_grads[1]), 1e-6);
    }
  }
}

}  // namespace

namespace {

// Cached RoPE tables and causal masks never reach a caller: writing into a result leaves the
// next call's result unchanged, and a single-batch score GEMM (N == 1, as MQA runs at batch 1)
// does not write into the mask it reads. (It once did: every call added its scores to it.)
TEST(TensorOps, CachedTablesAndMasksStayUnwritten) {
  torch::manual_seed(12);
  auto x = torch::randn({1, 5, 2, 8});
  auto rotated = apply_rope(x, 3, 8, 10000.0);
  const auto rotated_before = rotated.clone();
  rotated.fill_(7.0f);
  EXPECT_TRUE(torch::equal(apply_rope(x, 3, 8, 10000.0), rotated_before));

  const int64_t repeat = 3, Tq = 4, Tk = 6, start = 2;  // query t at position start + t
  auto a = torch::randn({1, repeat * Tq, 8}), b = torch::randn({1, 8, Tk});
  auto future = (torch::arange(Tk).view({1, Tk}) > torch::arange(start, start + Tq).view({Tq, 1})).repeat({repeat, 1});
  const auto expected = (0.5 * torch::bmm(a, b)).masked_fill(future, -INFINITY);
  for (int call = 0; call < 3; ++call) {
    auto scores = causal_scores(a, b, 0.5, start, repeat);
    EXPECT_TRUE(torch::allclose(scores, expected, 1e-6, 1e-6)) << "call " << call;
    scores.add_(100.0);  // the caller owns its result
  }
  auto masked = mask_future(torch::zeros({2, Tq, Tk}), start);
  const auto masked_before = masked.clone();
  masked.fill_(3.0f);
  EXPECT_TRUE(torch::equal(mask_future(torch::zeros({2, Tq, Tk}), start), masked_before));
  EXPECT_TRUE(torch::equal(masked_before[1], torch::zeros({Tq, Tk}).masked_fill(future.narrow(0, 0, Tq), -INFINITY)));
}

// A caller's bias is read, never written, whatever the batch count.
TEST(TensorOps, BatchedMatmulLeavesTheBiasAlone) {
  torch::manual_seed(13);
  for (int64_t N : {1, 3}) {
    auto a = torch::randn({N, 4, 5}), b = torch::randn({N, 5, 6}), bias = torch::randn({4, 6});
    const auto bias_before = bias.clone();
    auto out = batched_matmul(a, b, 2.0, bias);
    EXPECT_TRUE(torch::equal(bias, bias_before)) << N;
    EXPECT_LT(tu::max_rel_diff(out, torch::baddbmm(bias, a, b, 1.0, 2.0)), 1e-6) << N;
  }
}

}  // namespace
