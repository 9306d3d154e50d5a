// run_probe on tiny random models: what it fills, and that it leaves the model untouched.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <stdexcept>

#include "common/errors.h"
#include "model_test_utils.h"
#include "probe/probe_runner.h"
#include "probe/scoped_bypass.h"

using namespace headlab;
using namespace headlab::model;
using namespace headlab::probe;
namespace tu = headlab::testutil;

namespace {

Transformer full_model(KhaMode v_mode = KhaMode::Mlp, bool talking = true,
                       AttentionLayout layout = AttentionLayout::Gqa) {
  auto cfg = tu::tiny_config(layout);
  tu::enable_all_modules(cfg, v_mode);
  cfg.interaction.talking_heads = talking;
  auto m = tu::make_model(cfg);
  tu::randomize_modules(m);
  return m;
}

std::vector<int64_t> probe_tokens(int64_t T, int64_t vocab) {
  auto t = tu::sample_tokens(1, T, vocab, 5);
  return std::vector<int64_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + T);
}

torch::Tensor as_batch(const std::vector<int64_t>& tokens) {
  return torch::tensor(tokens, torch::kLong).view({1, static_cast<int64_t>(tokens.size())});
}

double loss_by_hand(Transformer& m, const std::vector<int64_t>& tokens) {
  torch::NoGradGuard g;
  auto input = as_batch(tokens);
  const int64_t T = input.size(1);
  auto logits = m->logits(input);
  return torch::nn::functional::cross_entropy(logits[0].narrow(0, 0, T - 1), input[0].narrow(0, 1, T - 1))
      .item<double>();
}

TEST(ProbeRunner, FillsEveryPartWithTheRightShapes) {
  for (auto layout : {AttentionLayout::Gqa, AttentionLayout::Gta}) {
    auto m = full_model(KhaMode::Mlp, true, layout);
    const auto tokens = probe_tokens(10, m->config().vocab_size);
    std::vector<std::string> labels;
    for (size_t i = 0; i < tokens.size(); ++i) labels.push_back("tok" + std::to_string(i));
    auto snap = run_probe(m, tokens, labels, 123, {});
    EXPECT_EQ(snap.step, 123);
    EXPECT_EQ(snap.n_layers, 2);
    EXPECT_EQ(snap.n_heads, 4);
    EXPECT_EQ(snap.seq_len, 10);
    EXPECT_EQ(snap.token_labels, labels);
    EXPECT_EQ(snap.attention.size(), 2u * 4 * 10 * 10);
    ASSERT_EQ(snap.heads.size(), 8u);
    for (int i = 0; i < 8; ++i) {
      EXPECT_EQ(snap.heads[i].layer, i / 4);
      EXPECT_EQ(snap.heads[i].head, i % 4);
      EXPECT_FALSE(snap.heads[i].role.empty());
      EXPECT_TRUE(std::isfinite(snap.heads[i].entropy));
    }
    ASSERT_EQ(snap.head_similarity.size(), 2u);
    for (const auto& s : snap.head_similarity) {
      ASSERT_EQ(s.rows, 4);
      ASSERT_EQ(s.cols, 4);
      for (int a = 0; a < 4; ++a) {
        EXPECT_EQ(s.at(a, a), 1.0f);
        for (int b = 0; b < 4; ++b) EXPECT_EQ(s.at(a, b), s.at(b, a));
      }
    }
    EXPECT_EQ(snap.matrices.size(), 2u * (5 + 2 + 2));  // kha t_q t_k v_up v_gate v_down, mea, talking
    ASSERT_EQ(snap.ablations.size(), 6u);
    for (const auto& a : snap.ablations) {
      EXPECT_TRUE(std::isfinite(a.loss_bypassed));
      EXPECT_EQ(a.loss_live, snap.ablations[0].loss_live);
    }
    EXPECT_EQ(snap.ablations[0].module, "kha");
    EXPECT_EQ(snap.ablations[2].module, "talking_heads");
    EXPECT_EQ(snap.ablations[5].layer, 1);
    // The attention is the model's own, copied.
    ForwardOptions opts;
    opts.return_attention = true;
    torch::NoGradGuard g;
    auto expected = torch::cat(m->forward(as_batch(tokens), opts).attention, 0);
    auto copied = torch::tensor(snap.attention).view({2, 4, 10, 10});
    EXPECT_TRUE(torch::equal(copied, expected));
  }
}

TEST(ProbeRunner, AttentionRowsSumToOneWithoutTalkingHeads) {
  auto m = full_model(KhaMode::Linear, /*talking=*/false);
  auto snap = run_probe(m, probe_tokens(12, m->config().vocab_size), {}, 0, {});
  auto att = torch::tensor(snap.attention).view({2, 4, 12, 12});
  EXPECT_TRUE(torch::allclose(att.sum(-1), torch::ones({2, 4, 12}), 1e-5, 1e-6));
  EXPECT_EQ(att.triu(1).abs().max().item<float>(), 0.0f);  // causal
  EXPECT_EQ(snap.token_labels.size(), 12u);                 // ids when no labels are given
  EXPECT_EQ(snap.matrices.size(), 2u * (3 + 2));
  EXPECT_EQ(snap.ablations.size(), 4u);
  for (const auto& h : snap.heads) {
    EXPECT_GE(h.entropy, 0.0f);
    EXPECT_LE(h.entropy, std::log(12.0f));
  }
}

struct ParamRecord {
  torch::Tensor value, grad, grad_copy;
  bool requires_grad;
};

std::map<std::string, ParamRecord> record(const Transformer& m) {
  std::map<std::string, ParamRecord> out;
  for (const auto& [name, p] : m->named_tensors())
    out[name] = {p.detach().clone(), p.grad(), p.grad().defined() ? p.grad().clone() : torch::Tensor(),
                 p.requires_grad()};
  return out;
}

void expect_unchanged(const Transformer& m, const std::map<std::string, ParamRecord>& before) {
  const auto now = m->named_tensors();
  ASSERT_EQ(now.size(), before.size());
  for (const auto& [name, p] : now) {
    const auto& r = before.at(name);
    EXPECT_TRUE(torch::equal(p, r.value)) << name;
    EXPECT_EQ(p.requires_grad(), r.requires_grad) << name;
    ASSERT_EQ(p.grad().defined(), r.grad.defined()) << name;
    if (!r.grad.defined()) continue;
    EXPECT_TRUE(p.grad().is_same(r.grad)) << name << ": the gradient tensor was replaced";
    EXPECT_TRUE(torch::equal(p.grad(), r.grad_copy)) << name;
  }
}

TEST(ProbeRunner, LeavesTheModelExactlyAsItWas) {
  auto m = full_model();
  m->set_module_state(0, ModuleKind::Kha, ModuleState::Frozen);
  m->set_module_state(1, ModuleKind::Mea, ModuleState::Bypassed);
  const auto tokens = probe_tokens(9, m->config().vocab_size);
  // Between a backward pass and the optimizer step: every trained parameter holds a gradient.
  auto input = as_batch(tokens);
  torch::nn::functional::cross_entropy(m->logits(input).view({-1, m->config().vocab_size}), input.view({-1}))
      .backward();
  // A frozen module's parameter with a gradient set by hand: set_module_state would drop it.
  m->blocks[0]->attn->kha->t_q.mutable_grad() = torch::full({8, 8}, 0.25);
  // And a requires_grad that the state does not imply (set by the caller): it must survive too.
  m->blocks[0]->attn->kha->t_k.set_requires_grad(true);
  const auto before = record(m);
  const auto logits_before = m->logits(input).detach();
  const auto config_before = m->config().to_json();
  std::map<std::pair<int64_t, ModuleKind>, ModuleState> states;
  for (int64_t l = 0; l < 2; ++l)
    for (ModuleKind k : kAllModuleKinds) states[{l, k}] = m->module_state(l, k);

  auto snap = run_probe(m, tokens, {}, 7, {});
  EXPECT_EQ(snap.ablations.size(), 5u);  // mea@1 is bypassed already

  expect_unchanged(m, before);
  EXPECT_TRUE(torch::equal(m->logits(input), logits_before));
  EXPECT_EQ(m->config().to_json(), config_before);
  for (const auto& [key, state] : states) EXPECT_EQ(m->module_state(key.first, key.second), state);
  EXPECT_TRUE(torch::GradMode::is_enabled());
}

TEST(ProbeRunner, AblationLossEqualsTheLossWithTheModuleBypassedByHand) {
  auto m = full_model();
  m->set_module_state(1, ModuleKind::Kha, ModuleState::Frozen);
  const auto tokens = probe_tokens(11, m->config().vocab_size);
  auto snap = run_probe(m, tokens, {}, 0, {});
  ASSERT_EQ(snap.ablations.size(), 6u);
  const double live = loss_by_hand(m, tokens);
  for (const auto& a : snap.ablations) {
    const ModuleKind kind = module_kind_from_string(a.module);
    const ModuleState original = m->module_state(a.layer, kind);
    m->set_module_state(a.layer, kind, ModuleState::Bypassed);
    const double bypassed = loss_by_hand(m, tokens);
    m->set_module_state(a.layer, kind, original);
    // The ablation sums per-token losses in double, the hand computation averages in float.
    EXPECT_NEAR(a.loss_bypassed, bypassed, 2e-6) << a.module << "@" << a.layer;
    EXPECT_NEAR(a.loss_live, live, 2e-6);
    EXPECT_NE(a.loss_bypassed, a.loss_live) << a.module << "@" << a.layer << " changed nothing";
  }
}

TEST(ProbeRunner, OptionsTurnPartsOff) {
  auto m = full_model();
  const auto tokens = probe_tokens(8, m->config().vocab_size);
  ProbeOptions no_attention;
  no_attention.attention = false;
  auto a = run_probe(m, tokens, {}, 0, no_attention);
  EXPECT_TRUE(a.attention.empty());
  EXPECT_TRUE(a.heads.empty());
  EXPECT_TRUE(a.head_similarity.empty());
  EXPECT_EQ(a.ablations.size(), 6u);
  EXPECT_EQ(a.matrices.size(), 18u);
  ProbeOptions nothing;
  nothing.attention = false;
  nothing.ablations = false;
  auto b = run_probe(m, tokens, {}, 0, nothing);
  EXPECT_TRUE(b.ablations.empty());
  EXPECT_EQ(b.matrices.size(), 18u);
}

TEST(ProbeRunner, RejectsBadInput) {
  auto m = full_model();
  const int64_t V = m->config().vocab_size;
  EXPECT_THROW(run_probe(m, {1}, {}, 0, {}), InputError);
  EXPECT_THROW(run_probe(m, {1, V}, {}, 0, {}), InputError);
  EXPECT_THROW(run_probe(m, {1, -1}, {}, 0, {}), InputError);
  EXPECT_THROW(run_probe(m, {1, 2}, {"a"}, 0, {}), InputError);
  EXPECT_THROW(run_probe(m, std::vector<int64_t>(m->config().max_seq_len + 1, 0), {}, 0, {}), InputError);
}

TEST(ProbeBypass, RestoresEverythingWhenAnExceptionIsThrown) {
  auto m = full_model();
  auto input = as_batch(probe_tokens(6, m->config().vocab_size));
  torch::nn::functional::cross_entropy(m->logits(input).view({-1, m->config().vocab_size}), input.view({-1}))
      .backward();
  const auto before = record(m);
  try {
    ScopedBypass bypass(m, 1, ModuleKind::TalkingHeads);
    EXPECT_EQ(m->module_state(1, ModuleKind::TalkingHeads), ModuleState::Bypassed);
    EXPECT_FALSE(m->blocks[1]->attn->talking->pre.grad().defined());
    throw std::runtime_error("mid-probe failure");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(m->module_state(1, ModuleKind::TalkingHeads), ModuleState::Active);
  EXPECT_TRUE(m->config().interaction.bypassed.empty());
  expect_unchanged(m, before);
  // An absent module cannot be bypassed, and trying leaves the model alone.
  auto plain = tu::make_model(tu::tiny_config());
  EXPECT_THROW({ ScopedBypass b(plain, 0, ModuleKind::Kha); }, InputError);
  EXPECT_EQ(plain->module_state(0, ModuleKind::Kha), ModuleState::Absent);
}

TEST(ProbeRunner, RunsOnCudaModels) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  auto cpu = full_model();
  auto cuda = full_model();
  cuda->to(torch::kCUDA);
  const auto tokens = probe_tokens(10, cpu->config().vocab_size);
  auto a = run_probe(cpu, tokens, {}, 0, {});
  auto b = run_probe(cuda, tokens, {}, 0, {});
  ASSERT_EQ(a.attention.size(), b.attention.size());
  for (size_t i = 0; i < a.attention.size(); ++i) EXPECT_NEAR(a.attention[i], b.attention[i], 1e-4);
  ASSERT_EQ(a.ablations.size(), b.ablations.size());
  for (size_t i = 0; i < a.ablations.size(); ++i) EXPECT_NEAR(a.ablations[i].loss_bypassed, b.ablations[i].loss_bypassed, 1e-4);
  ASSERT_EQ(a.matrices.size(), b.matrices.size());
  for (size_t i = 0; i < a.matrices.size(); ++i) EXPECT_EQ(a.matrices[i].matrix.values, b.matrices[i].matrix.values);
}

}  // namespace
