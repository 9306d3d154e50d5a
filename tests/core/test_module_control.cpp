// The module-control vocabulary and the one function every front end acts through.
#include <gtest/gtest.h>

#include "common/errors.h"
#include "model/module_control.h"
#include "session/session.h"

using namespace headlab;
using model::ModuleAction;
using model::ModuleKind;
using model::ModuleState;

namespace {

model::Transformer tiny_model() {
  model::ModelConfig c;
  c.vocab_size = 16;
  c.d_model = 16;
  c.n_layers = 3;
  c.n_heads = 2;
  c.n_kv_heads = 2;
  c.head_dim = 8;
  c.d_ff = 32;
  c.max_seq_len = 16;
  c.interaction.layers = {0, 1};
  c.interaction.kha = {model::KhaMode::Linear, model::KhaMode::Linear, model::KhaMode::Linear};
  torch::manual_seed(1);
  return model::Transformer(c);
}

}  // namespace

TEST(ModuleTypes, NamesRoundTripAndUnknownNamesAreErrors) {
  for (auto a : model::kAllModuleActions) EXPECT_EQ(model::module_action_from_string(model::to_string(a)), a);
  for (auto s : model::kAllModuleStates) EXPECT_EQ(model::module_state_from_string(model::to_string(s)), s);
  EXPECT_THROW(model::module_action_from_string("explode"), InputError);  // never a silent "activate"
  EXPECT_THROW(model::module_action_from_string(""), InputError);
  EXPECT_THROW(model::module_state_from_string("on"), InputError);
  for (auto k : kAllEventKinds) EXPECT_EQ(event_kind_from_string(to_string(k)), k);
  EXPECT_FALSE(event_kind_from_string("party"));
}

TEST(ModuleTypes, AllowedActionsPerState) {
  using V = std::vector<ModuleAction>;
  EXPECT_EQ(model::allowed_actions(ModuleKind::Kha, ModuleState::Absent), V{ModuleAction::Insert});
  EXPECT_EQ(model::allowed_actions(ModuleKind::Kha, ModuleState::Active),
            (V{ModuleAction::Bypass, ModuleAction::Freeze, ModuleAction::Fold}));
  EXPECT_EQ(model::allowed_actions(ModuleKind::Mea, ModuleState::Frozen),
            (V{ModuleAction::Activate, ModuleAction::Bypass, ModuleAction::Fold}));
  EXPECT_EQ(model::allowed_actions(ModuleKind::Kha, ModuleState::Bypassed), V{ModuleAction::Activate});
  // Talking heads never fold (MODEL.md §2).
  EXPECT_EQ(model::allowed_actions(ModuleKind::TalkingHeads, ModuleState::Active),
            (V{ModuleAction::Bypass, ModuleAction::Freeze}));
  EXPECT_EQ(model::state_after(ModuleAction::Fold, ModuleState::Frozen), ModuleState::Frozen);
  EXPECT_EQ(model::state_after(ModuleAction::Insert, ModuleState::Absent), ModuleState::Active);
}

TEST(ModuleControl, DefaultLayersAreThoseWhereTheActionIsAllowed) {
  auto m = tiny_model();
  auto r = model::apply_module_action(m, {ModuleAction::Bypass, ModuleKind::Kha, {}});
  EXPECT_EQ(r.layers, (std::vector<int64_t>{0, 1}));  // layer 2 carries no KHA
  EXPECT_EQ(r.message, "bypass kha in layers 0,1");
  EXPECT_EQ(m->module_state(1, ModuleKind::Kha), ModuleState::Bypassed);
  r = model::apply_module_action(m, {ModuleAction::Activate, ModuleKind::Kha, {1}});
  EXPECT_EQ(m->module_state(1, ModuleKind::Kha), ModuleState::Active);
  // Insert with no layers: every layer that lacks the module.
  r = model::apply_module_action(m, {ModuleAction::Insert, ModuleKind::TalkingHeads, {}});
  EXPECT_EQ(r.layers, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_TRUE(r.new_parameters);
}

TEST(ModuleControl, AnImpossibleRequestChangesNothingAndNamesTheCell) {
  auto m = tiny_model();
  model::apply_module_action(m, {ModuleAction::Freeze, ModuleKind::Kha, {0}});
  // Layer 0 is frozen (freeze not allowed), so the whole request fails: layer 1 stays active.
  try {
    model::apply_module_action(m, {ModuleAction::Freeze, ModuleKind::Kha, {1, 0}});
    FAIL() << "freezing a frozen module was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("kha in layer 0 is frozen"), std::string::npos) << e.what();
  }
  EXPECT_EQ(m->module_state(1, ModuleKind::Kha), ModuleState::Active);
  EXPECT_THROW(model::apply_module_action(m, {ModuleAction::Bypass, ModuleKind::Kha, {7}}), InputError);
  EXPECT_THROW(model::apply_module_action(m, {ModuleAction::Bypass, ModuleKind::Mea, {}}), InputError);  // no MEA
  EXPECT_THROW(model::apply_module_action(m, {ModuleAction::Fold, ModuleKind::TalkingHeads, {}}), InputError);
}

TEST(ModuleControl, FoldKeepsTheStateAndTheLogits) {
  auto m = tiny_model();
  {
    torch::NoGradGuard no_grad;
    for (auto& [name, p] : m->named_tensors())
      if (name.find("kha") != std::string::npos) p.add_(torch::randn_like(p) * 0.1);
  }
  model::apply_module_action(m, {ModuleAction::Freeze, ModuleKind::Kha, {0}});
  auto tokens = torch::randint(0, 16, {1, 12}, torch::kLong);
  torch::NoGradGuard no_grad;
  const auto before = m->logits(tokens);
  const auto r = model::apply_module_action(m, {ModuleAction::Fold, ModuleKind::Kha, {}});
  EXPECT_EQ(r.layers, (std::vector<int64_t>{0, 1}));
  EXPECT_NE(r.message.find("folded 6 matrices"), std::string::npos) << r.message;
  EXPECT_EQ(m->module_state(0, ModuleKind::Kha), ModuleState::Frozen);
  EXPECT_TRUE(torch::allclose(m->logits(tokens), before, 1e-4, 1e-5));
}

TEST(SessionCommand, IsATypedRequest) {
  const auto c = session::Command::module_action(ModuleAction::Fold, ModuleKind::Mea, {1});
  ASSERT_TRUE(c.is<session::cmd::ModuleAction>());
  EXPECT_FALSE(c.is<session::cmd::Start>());
  EXPECT_EQ(c.get<session::cmd::ModuleAction>()->request.describe(), "fold mea in layer 1");
  EXPECT_DOUBLE_EQ(session::Command::set_lr(2e-3).get<session::cmd::SetLearningRate>()->lr, 2e-3);
}
