// Function-level properties of the model: identity inits, layout aliases, states, gradients.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "common/errors.h"
#include "common/torch_compat.h"
#include "model_test_utils.h"

using namespace headlab;
using namespace headlab::model;
namespace tu = headlab::testutil;

namespace {

using tu::logits_of;

TEST(ModelIdentity, FreshInteractionModulesComputeTheIdentity) {
  auto base_cfg = tu::tiny_config();
  auto base = tu::make_model(base_cfg);
  auto tokens = tu::sample_tokens(2, 12, base_cfg.vocab_size);
  auto expected = logits_of(base, tokens);
  const KhaMode modes[] = {KhaMode::None, KhaMode::Linear};
  for (KhaMode q : modes)
    for (KhaMode k : modes)
      for (KhaMode v : {KhaMode::None, KhaMode::Linear, KhaMode::Mlp})
        for (bool talking : {false, true}) {
          auto cfg = base_cfg;
          cfg.interaction.layers = {0, 1};
          cfg.interaction.kha = {q, k, v};
          cfg.interaction.talking_heads = talking;
          auto m = tu::make_model(cfg);
          tu::copy_shared_weights(base, m);
          EXPECT_TRUE(torch::allclose(logits_of(m, tokens), expected, 1e-6, 1e-7))
              << to_string(q) << to_string(k) << to_string(v) << talking;
        }
}

TEST(ModelIdentity, MeaAtIdentityEqualsTheModelWithOnlyTheGroupNorm) {
  auto cfg = tu::tiny_config();
  cfg.interaction.layers = {0, 1};
  cfg.interaction.mea = {true, false, 0};
  auto no_norm = tu::make_model(cfg);
  auto base = tu::make_model(tu::tiny_config());
  tu::copy_shared_weights(base, no_norm);
  auto tokens = tu::sample_tokens(2, 10, cfg.vocab_size);
  EXPECT_TRUE(torch::allclose(logits_of(no_norm, tokens), logits_of(base, tokens), 1e-6, 1e-7));

  // With the group norm: equal to the plain model whose output projection sees RMS-normalized
  // heads, i.e. wo applied to per-head unit-RMS vectors. Check through the attention layer.
  cfg.interaction.mea.group_norm = true;
  auto with_norm = tu::make_model(cfg);
  tu::copy_shared_weights(base, with_norm);
  torch::manual_seed(9);
  auto x = torch::randn(std::vector<int64_t>{1, 6, cfg.d_model});
  torch::NoGradGuard g;
  auto& a = *base->blocks[0]->attn;
  // Plain attention output before wo: recover it by solving with an identity wo.
  auto saved_wo = a.wo->weight.clone();
  a.wo->weight.copy_(torch::eye(cfg.d_model));
  auto heads = a.forward(x).view({1, 6, cfg.n_heads, cfg.head_dim});
  a.wo->weight.copy_(saved_wo);
  auto normed = heads * torch::rsqrt(heads.pow(2).mean(-1, true) + cfg.norm_eps);
  auto expected = torch::matmul(normed.reshape({1, 6, -1}), saved_wo.t());
  EXPECT_TRUE(torch::allclose(with_norm->blocks[0]->attn->forward(x), expected, 1e-5, 1e-6));
}

TEST(ModelLayouts, MqaEqualsGqaWithOneKvHead) {
  auto gqa_cfg = tu::tiny_config(AttentionLayout::Gqa, 4, 1);
  auto mqa_cfg = tu::tiny_config(AttentionLayout::Mqa, 4, 4);  // n_kv_heads is ignored for mqa
  auto gqa = tu::make_model(gqa_cfg), mqa = tu::make_model(mqa_cfg);
  tu::copy_shared_weights(gqa, mqa);
  auto tokens = tu::sample_tokens(2, 11, gqa_cfg.vocab_size);
  EXPECT_TRUE(torch::equal(logits_of(mqa, tokens), logits_of(gqa, tokens)));
  EXPECT_EQ(mqa->blocks[0]->attn->wk->weight.size(0), gqa_cfg.head_dim);
}

TEST(ModelLayouts, MhaEqualsGqaWithAllHeads) {
  auto gqa_cfg = tu::tiny_config(AttentionLayout::Gqa, 4, 4);
  auto mha_cfg = tu::tiny_config(AttentionLayout::Mha, 4, 1);
  auto gqa = tu::make_model(gqa_cfg), mha = tu::make_model(mha_cfg);
  tu::copy_shared_weights(gqa, mha);
  auto tokens = tu::sample_tokens(2, 11, gqa_cfg.vocab_size);
  EXPECT_TRUE(torch::equal(logits_of(mha, tokens), logits_of(gqa, tokens)));
}

TEST(ModelStates, BypassedEqualsAbsent) {
  auto plain = tu::make_model(tu::tiny_config());
  auto cfg = tu::tiny_config();
  tu::enable_all_modules(cfg, KhaMode::Mlp);
  auto full = tu::make_model(cfg);
  tu::copy_shared_weights(plain, full);
  tu::randomize_modules(full);
  auto tokens = tu::sample_tokens(2, 9, cfg.vocab_size);
  const auto before = logits_of(full, tokens);
  for (int64_t l = 0; l < cfg.n_layers; ++l)
    for (ModuleKind k : kAllModuleKinds) full->set_module_state(l, k, ModuleState::Bypassed);
  // q/k norms were randomized too: copy them into the plain model so only the modules differ.
  tu::copy_shared_weights(full, plain);
  EXPECT_TRUE(torch::equal(logits_of(full, tokens), logits_of(plain, tokens)));
  EXPECT_EQ(full->config().interaction.bypassed.size(), 6u);
  // Activating again restores the exact function.
  for (int64_t l = 0; l < cfg.n_layers; ++l)
    for (ModuleKind k : kAllModuleKinds) full->set_module_state(l, k, ModuleState::Active);
  EXPECT_TRUE(torch::equal(logits_of(full, tokens), before));
}

TEST(ModelStates, FrozenParametersDoNotMoveUnderAdamW) {
  auto cfg = tu::tiny_config();
  tu::enable_all_modules(cfg, KhaMode::Mlp);
  cfg.interaction.talking_heads = false;
  auto m = tu::make_model(cfg);
  // Train one step first so AdamW has moments for every parameter, then freeze.
  torch::optim::AdamW opt(m->parameters(), torch::optim::AdamWOptions(1e-2).weight_decay(0.1));
  auto tokens = tu::sample_tokens(2, 9, cfg.vocab_size);
  auto step = [&] {
    for (auto& p : m->parameters()) compat::clear_grad(p);
    auto logits = m->logits(tokens);
    torch::nn::functional::cross_entropy(logits.view({-1, cfg.vocab_size}), tokens.view({-1})).backward();
    opt.step();
  };
  step();
  m->set_module_state(0, ModuleKind::Kha, ModuleState::Frozen);
  m->set_module_state(1, ModuleKind::Mea, ModuleState::Bypassed);
  auto frozen = m->blocks[0]->attn->kha->t_q.clone();
  auto bypassed = m->blocks[1]->attn->mea->mix_k.clone();
  auto trained = m->blocks[1]->attn->kha->t_q.clone();
  step();
  EXPECT_TRUE(torch::equal(m->blocks[0]->attn->kha->t_q, frozen));
  EXPECT_TRUE(torch::equal(m->blocks[1]->attn->mea->mix_k, bypassed));
  EXPECT_FALSE(torch::equal(m->blocks[1]->attn->kha->t_q, trained));
  EXPECT_THROW(m->set_module_state(0, ModuleKind::TalkingHeads, ModuleState::Active), headlab::InputError);
}

TEST(ModelGradients, ReachEveryParameterOfEveryModule) {
  for (auto layout : {AttentionLayout::Gqa, AttentionLayout::Gta}) {
    for (KhaMode v : {KhaMode::Linear, KhaMode::Mlp}) {
      auto cfg = tu::tiny_config(layout);
      tu::enable_all_modules(cfg, v);
      auto m = tu::make_model(cfg);
      tu::randomize_modules(m);
      auto tokens = tu::sample_tokens(2, 10, cfg.vocab_size);
      auto logits = m->logits(tokens);
      torch::nn::functional::cross_entropy(logits.view({-1, cfg.vocab_size}), tokens.view({-1})).backward();
      for (const auto& [name, p] : m->named_tensors()) {
        ASSERT_TRUE(p.grad().defined()) << name;
        EXPECT_GT(p.grad().abs().sum().item<double>(), 0.0) << name << " " << to_string(layout);
      }
    }
  }
}

TEST(ModelInsert, InsertingMidRunKeepsTheFunctionAndTheConfigHonest) {
  auto cfg = tu::tiny_config();
  cfg.interaction.layers = {0};
  cfg.interaction.mea = {true, true, 0};
  auto m = tu::make_model(cfg);
  tu::randomize_modules(m);
  auto tokens = tu::sample_tokens(1, 8, cfg.vocab_size);
  auto before = logits_of(m, tokens);
  m->insert_module(ModuleKind::Kha, {1});
  m->insert_module(ModuleKind::TalkingHeads, {0});
  EXPECT_TRUE(torch::allclose(logits_of(m, tokens), before, 1e-6, 1e-7));
  const auto& c = m->config();
  EXPECT_EQ(c.interaction.layers, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(m->module_state(1, ModuleKind::Kha), ModuleState::Active);
  EXPECT_EQ(m->module_state(0, ModuleKind::Kha), ModuleState::Bypassed);
  EXPECT_EQ(m->module_state(1, ModuleKind::Mea), ModuleState::Bypassed);  // group norm is not an identity
  EXPECT_EQ(m->module_state(1, ModuleKind::TalkingHeads), ModuleState::Bypassed);
  // The config describes the live function: a model built from it has the same tensors.
  auto rebuilt = Transformer(ModelConfig::from_json(c.to_json()));
  EXPECT_EQ(rebuilt->named_tensors().size(), m->named_tensors().size());
  tu::copy_shared_weights(m, rebuilt);
  EXPECT_TRUE(torch::equal(logits_of(rebuilt, tokens), logits_of(m, tokens)));
}

TEST(ModelForward, AttentionOutputIsWhatTheTrainingPathUses) {
  auto cfg = tu::tiny_config();
  tu::enable_all_modules(cfg);
  auto m = tu::make_model(cfg);
  tu::randomize_modules(m);
  auto tokens = tu::sample_tokens(2, 7, cfg.vocab_size);
  ForwardOptions opts;
  opts.return_attention = true;
  auto with = m->forward(tokens, opts);
  EXPECT_TRUE(torch::equal(with.logits, m->logits(tokens)));
  ASSERT_EQ(with.attention.size(), 2u);
  EXPECT_EQ(with.attention[0].sizes(), (std::vector<int64_t>{2, 4, 7, 7}));
  EXPECT_THROW(m->logits(tu::sample_tokens(1, cfg.max_seq_len + 1, cfg.vocab_size)), headlab::InputError);
}

}  // namespace
