#include <gtest/gtest.h>

#include <QAction>
#include <QSignalSpy>
#include <algorithm>
#include <vector>

#include "module_panel.h"

using headlab::ModulePanel;
using headlab::session::Command;
using headlab::model::ModuleAction;
using headlab::model::ModuleKind;
using headlab::model::ModuleState;
using headlab::session::ModuleCell;

namespace {

struct Recorder {
  std::vector<Command> commands;
  QStringList notices;
  explicit Recorder(ModulePanel& p) {
    QObject::connect(&p, &ModulePanel::commandRequested, [this](const Command& c) { commands.push_back(c); });
    QObject::connect(&p, &ModulePanel::notice, [this](const QString& n) { notices << n; });
  }
};

void expectModuleCommand(const Command& c, ModuleAction action, ModuleKind module, std::vector<int64_t> layers) {
  ASSERT_TRUE(c.is<headlab::session::cmd::ModuleAction>());
  const auto& r = c.get<headlab::session::cmd::ModuleAction>()->request;
  EXPECT_EQ(r.action, action);
  EXPECT_EQ(r.module, module);
  EXPECT_EQ(r.layers, layers);
}

void fill(ModulePanel& panel) {
  panel.setModules(3, {{0, ModuleKind::Kha, ModuleState::Active}, {1, ModuleKind::Kha, ModuleState::Bypassed}, {2, ModuleKind::Kha, ModuleState::Frozen},
                       {0, ModuleKind::TalkingHeads, ModuleState::Active}});
}

}  // namespace

TEST(ModulePanel, ShowsStatesAndAblations) {
  ModulePanel panel;
  fill(panel);
  EXPECT_EQ(panel.layerCount(), 3);
  EXPECT_EQ(panel.state(0, ModuleKind::Kha), ModuleState::Active);
  EXPECT_EQ(panel.state(1, ModuleKind::Kha), ModuleState::Bypassed);
  EXPECT_EQ(panel.state(2, ModuleKind::Mea), ModuleState::Absent);
  EXPECT_EQ(panel.cellText(0, ModuleKind::Kha), "active");
  auto ablation = [](const char* module, double bypassed, double live, double se) {
    headlab::ModuleAblation a;
    a.layer = 0;
    a.module = module;
    a.loss_bypassed = bypassed;
    a.loss_live = live;
    a.delta = bypassed - live;
    a.standard_error = se;
    a.samples = 32;
    a.measured_on = "validation";
    return a;
  };
  // kha: +0.2 at SE 0.05 is resolved; talking heads: -0.05 at SE 0.04 is not.
  panel.setAblations({ablation("kha", 2.5, 2.3, 0.05), ablation("talking_heads", 2.25, 2.3, 0.04)});
  EXPECT_EQ(panel.cellText(0, ModuleKind::Kha), QString("active  Δ 0.200"));
  EXPECT_EQ(panel.cellText(0, ModuleKind::TalkingHeads), QString("active  Δ ≈0"));
  const QString tip = panel.cellToolTip(0, ModuleKind::Kha);
  EXPECT_TRUE(tip.contains("0.2000 ± 0.0500 (standard error over 32 rows of the validation)")) << tip.toStdString();
  EXPECT_TRUE(tip.contains("loss bypassed 2.5000, live 2.3000")) << tip.toStdString();
  EXPECT_TRUE(panel.cellToolTip(0, ModuleKind::TalkingHeads).contains("not resolved"));
}

TEST(ModulePanel, EachActionSendsItsCommandForTheCellsItApplies) {
  ModulePanel panel;
  fill(panel);
  Recorder rec(panel);
  panel.selectCells(ModuleKind::Kha, {0, 1, 2});
  panel.trigger(ModuleAction::Bypass);    // active and frozen cells
  panel.trigger(ModuleAction::Activate);  // bypassed and frozen cells
  panel.trigger(ModuleAction::Freeze);    // active cells
  panel.trigger(ModuleAction::Fold);      // active and frozen
  panel.trigger(ModuleAction::Insert);    // none absent: nothing sent
  ASSERT_EQ(rec.commands.size(), 4u);
  expectModuleCommand(rec.commands[0], ModuleAction::Bypass, ModuleKind::Kha, {0, 2});
  expectModuleCommand(rec.commands[1], ModuleAction::Activate, ModuleKind::Kha, {1, 2});
  expectModuleCommand(rec.commands[2], ModuleAction::Freeze, ModuleKind::Kha, {0});
  expectModuleCommand(rec.commands[3], ModuleAction::Fold, ModuleKind::Kha, {0, 2});
  EXPECT_FALSE(panel.action(ModuleAction::Insert)->isEnabled());
  EXPECT_TRUE(panel.action(ModuleAction::Bypass)->isEnabled());

  // The buttons are the same actions.
  rec.commands.clear();
  panel.selectCells(ModuleKind::Kha, {1});
  EXPECT_FALSE(panel.action(ModuleAction::Bypass)->isEnabled());
  panel.action(ModuleAction::Activate)->trigger();
  ASSERT_EQ(rec.commands.size(), 1u);
  expectModuleCommand(rec.commands[0], ModuleAction::Activate, ModuleKind::Kha, {1});
}

TEST(ModulePanel, TalkingHeadsCannotBeFolded) {
  ModulePanel panel;
  fill(panel);
  panel.selectCells(ModuleKind::TalkingHeads, {0});
  EXPECT_FALSE(panel.action(ModuleAction::Fold)->isEnabled());
  EXPECT_TRUE(panel.action(ModuleAction::Bypass)->isEnabled());
  EXPECT_TRUE(panel.commandsFor(ModuleAction::Fold).empty());
}

TEST(ModulePanel, InsertingMeaShowsTheGroupNormCaveat) {
  ModulePanel panel;
  fill(panel);
  Recorder rec(panel);
  EXPECT_TRUE(panel.warningText().isEmpty());
  panel.selectCells(ModuleKind::Kha, {0});  // no warning for other modules
  panel.trigger(ModuleAction::Bypass);
  EXPECT_TRUE(rec.notices.isEmpty());
  panel.selectCells(ModuleKind::Mea, {0, 2});
  EXPECT_TRUE(panel.action(ModuleAction::Insert)->isEnabled());
  panel.trigger(ModuleAction::Insert);
  ASSERT_EQ(rec.commands.size(), 2u);
  expectModuleCommand(rec.commands[1], ModuleAction::Insert, ModuleKind::Mea, {0, 2});
  ASSERT_EQ(rec.notices.size(), 1);
  EXPECT_TRUE(rec.notices[0].contains("group norm is not an identity")) << rec.notices[0].toStdString();
  EXPECT_EQ(panel.warningText(), ModulePanel::meaInsertWarning());
  EXPECT_TRUE(panel.action(ModuleAction::Insert)->toolTip().contains("MEA"));
}

TEST(ModulePanel, OffersExactlyCoresAllowedActionsPerCell) {
  // The panel asks core (model::allowed_actions), so every state x module combination enables
  // exactly the actions core allows: one cell at a time, every action checked.
  for (ModuleKind module : headlab::model::kAllModuleKinds) {
    for (ModuleState state : headlab::model::kAllModuleStates) {
      ModulePanel panel;
      std::vector<ModuleCell> cells;
      if (state != ModuleState::Absent) cells.push_back({0, module, state});
      panel.setModules(1, cells);
      panel.selectCells(module, {0});
      const auto allowed = headlab::model::allowed_actions(module, state);
      for (ModuleAction action : headlab::model::kAllModuleActions) {
        const bool expected = std::find(allowed.begin(), allowed.end(), action) != allowed.end();
        EXPECT_EQ(panel.action(action)->isEnabled(), expected)
            << headlab::model::to_string(module) << " " << headlab::model::to_string(state) << " "
            << headlab::model::to_string(action);
      }
    }
  }
}

// Ctrl+Z puts the cells of the last state change back, with the commands the rules allow.
TEST(ModulePanel, UndoRestoresTheStatesBeforeTheLastAction) {
  ModulePanel panel;
  fill(panel);  // kha: 0 active, 1 bypassed, 2 frozen
  Recorder rec(panel);
  EXPECT_FALSE(panel.undoAction()->isEnabled());
  EXPECT_EQ(panel.undoAction()->shortcut(), QKeySequence(QKeySequence::Undo));

  panel.selectCells(ModuleKind::Kha, {0, 2});
  panel.trigger(ModuleAction::Bypass);
  ASSERT_EQ(rec.commands.size(), 1u);
  // The session's echo: both bypassed now.
  panel.setModules(3, {{0, ModuleKind::Kha, ModuleState::Bypassed}, {1, ModuleKind::Kha, ModuleState::Bypassed},
                       {2, ModuleKind::Kha, ModuleState::Bypassed}, {0, ModuleKind::TalkingHeads, ModuleState::Active}});
  ASSERT_TRUE(panel.undoAction()->isEnabled());
  rec.commands.clear();
  panel.undoAction()->trigger();
  // Layer 0 was active: activate. Layer 2 was frozen: activate, then freeze.
  ASSERT_EQ(rec.commands.size(), 2u);
  expectModuleCommand(rec.commands[0], ModuleAction::Activate, ModuleKind::Kha, {0, 2});
  expectModuleCommand(rec.commands[1], ModuleAction::Freeze, ModuleKind::Kha, {2});
  EXPECT_FALSE(panel.canUndo());

  // Fold cannot be undone: nothing is remembered for it.
  fill(panel);
  panel.selectCells(ModuleKind::Kha, {0});
  panel.trigger(ModuleAction::Fold);
  EXPECT_FALSE(panel.canUndo());
  EXPECT_TRUE(panel.action(ModuleAction::Fold)->toolTip().contains("Cannot be undone"));

  // Undoing an insert bypasses the module and says it stays in the model.
  panel.setModules(3, {});
  panel.selectCells(ModuleKind::Mea, {1});
  panel.trigger(ModuleAction::Insert);
  panel.setModules(3, {{1, ModuleKind::Mea, ModuleState::Active}});
  rec.commands.clear();
  rec.notices.clear();
  panel.undo();
  ASSERT_EQ(rec.commands.size(), 1u);
  expectModuleCommand(rec.commands[0], ModuleAction::Bypass, ModuleKind::Mea, {1});
  ASSERT_FALSE(rec.notices.isEmpty());
  EXPECT_TRUE(rec.notices.back().contains("stays in the model, bypassed")) << rec.notices.back().toStdString();
}

// Inserting MEA in layer 0 of a model without MEA gives layer 1 a bypassed MEA too (one
// config per model): the table shows it and the panel says so instead of staying silent.
TEST(ModulePanel, AnInsertThatReachesOtherLayersIsReported) {
  ModulePanel panel;
  panel.setModules(2, {{0, ModuleKind::Kha, ModuleState::Active}, {1, ModuleKind::Kha, ModuleState::Active}});
  Recorder rec(panel);
  panel.selectCells(ModuleKind::Mea, {0});
  panel.trigger(ModuleAction::Insert);
  ASSERT_EQ(rec.commands.size(), 1u);
  expectModuleCommand(rec.commands[0], ModuleAction::Insert, ModuleKind::Mea, {0});
  panel.setModules(2, {{0, ModuleKind::Kha, ModuleState::Active}, {1, ModuleKind::Kha, ModuleState::Active},
                       {0, ModuleKind::Mea, ModuleState::Active}, {1, ModuleKind::Mea, ModuleState::Bypassed}});
  EXPECT_EQ(panel.cellText(1, ModuleKind::Mea), "bypassed");
  EXPECT_TRUE(panel.warningText().contains("bypassed, in layer 1")) << panel.warningText().toStdString();
  EXPECT_TRUE(rec.notices.back().contains("bypassed, in layer 1")) << rec.notices.back().toStdString();
}

// A module whose matrices are all the identity (a fold resets it) says so in its cell.
TEST(ModulePanel, AFoldedModuleIsShownAtIdentity) {
  ModulePanel panel;
  fill(panel);
  auto matrix = [](int layer, const char* name, float distance) {
    headlab::ModuleMatrix m;
    m.layer = layer;
    m.module = "kha";
    m.name = name;
    m.distance_from_identity = distance;
    return m;
  };
  panel.setModuleMatrices({matrix(2, "t_q", 0.4f), matrix(2, "t_k", 0.3f)});
  EXPECT_EQ(panel.cellText(2, ModuleKind::Kha), "frozen");
  panel.setModuleMatrices({matrix(2, "t_q", 0.f), matrix(2, "t_k", 0.f), matrix(0, "t_q", 0.f), matrix(0, "t_k", 0.2f)});
  EXPECT_EQ(panel.cellText(2, ModuleKind::Kha), "frozen · at identity");
  EXPECT_EQ(panel.cellText(0, ModuleKind::Kha), "active");  // one matrix of it moved
  EXPECT_TRUE(panel.cellToolTip(2, ModuleKind::Kha).contains("identity"));
}
