#include <gtest/gtest.h>

#include <QAction>
#include <QSignalSpy>
#include <vector>

#include "module_panel.h"

using headlab::ModulePanel;
using headlab::session::Command;
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

void expectModuleCommand(const Command& c, const std::string& action, const std::string& module,
                         std::vector<int64_t> layers) {
  EXPECT_EQ(c.kind, Command::Kind::ModuleAction);
  EXPECT_EQ(c.action, action);
  EXPECT_EQ(c.module, module);
  EXPECT_EQ(c.layers, layers);
}

void fill(ModulePanel& panel) {
  panel.setModules(3, {{0, "kha", "active"}, {1, "kha", "bypassed"}, {2, "kha", "frozen"},
                       {0, "talking_heads", "active"}});
}

}  // namespace

TEST(ModulePanel, ShowsStatesAndAblations) {
  ModulePanel panel;
  fill(panel);
  EXPECT_EQ(panel.layerCount(), 3);
  EXPECT_EQ(panel.state(0, "kha"), "active");
  EXPECT_EQ(panel.state(1, "kha"), "bypassed");
  EXPECT_EQ(panel.state(2, "mea"), "absent");
  EXPECT_EQ(panel.cellText(0, "kha"), "active");
  panel.setAblations({{0, "kha", 2.5, 2.3}, {0, "talking_heads", 2.25, 2.3}});
  EXPECT_EQ(panel.cellText(0, "kha"), QString("active  Δ 0.200"));
  EXPECT_EQ(panel.cellText(0, "talking_heads"), QString("active  Δ -0.050"));
  EXPECT_TRUE(panel.cellToolTip(0, "kha").contains("2.5000 (live: 2.3000)")) << panel.cellToolTip(0, "kha").toStdString();
}

TEST(ModulePanel, EachActionSendsItsCommandForTheCellsItApplies) {
  ModulePanel panel;
  fill(panel);
  Recorder rec(panel);
  panel.selectCells("kha", {0, 1, 2});
  panel.trigger("bypass");    // active and frozen cells
  panel.trigger("activate");  // bypassed and frozen cells
  panel.trigger("freeze");    // active cells
  panel.trigger("fold");      // active and frozen
  panel.trigger("insert");    // none absent: nothing sent
  ASSERT_EQ(rec.commands.size(), 4u);
  expectModuleCommand(rec.commands[0], "bypass", "kha", {0, 2});
  expectModuleCommand(rec.commands[1], "activate", "kha", {1, 2});
  expectModuleCommand(rec.commands[2], "freeze", "kha", {0});
  expectModuleCommand(rec.commands[3], "fold", "kha", {0, 2});
  EXPECT_FALSE(panel.action("insert")->isEnabled());
  EXPECT_TRUE(panel.action("bypass")->isEnabled());

  // The buttons are the same actions.
  rec.commands.clear();
  panel.selectCells("kha", {1});
  EXPECT_FALSE(panel.action("bypass")->isEnabled());
  panel.action("activate")->trigger();
  ASSERT_EQ(rec.commands.size(), 1u);
  expectModuleCommand(rec.commands[0], "activate", "kha", {1});
}

TEST(ModulePanel, TalkingHeadsCannotBeFolded) {
  ModulePanel panel;
  fill(panel);
  panel.selectCells("talking_heads", {0});
  EXPECT_FALSE(panel.action("fold")->isEnabled());
  EXPECT_TRUE(panel.action("bypass")->isEnabled());
  EXPECT_TRUE(panel.commandsFor("fold").empty());
}

TEST(ModulePanel, InsertingMeaShowsTheGroupNormCaveat) {
  ModulePanel panel;
  fill(panel);
  Recorder rec(panel);
  EXPECT_TRUE(panel.warningText().isEmpty());
  panel.selectCells("kha", {0});  // no warning for other modules
  panel.trigger("bypass");
  EXPECT_TRUE(rec.notices.isEmpty());
  panel.selectCells("mea", {0, 2});
  EXPECT_TRUE(panel.action("insert")->isEnabled());
  panel.trigger("insert");
  ASSERT_EQ(rec.commands.size(), 2u);
  expectModuleCommand(rec.commands[1], "insert", "mea", {0, 2});
  ASSERT_EQ(rec.notices.size(), 1);
  EXPECT_TRUE(rec.notices[0].contains("group norm is not an identity")) << rec.notices[0].toStdString();
  EXPECT_EQ(panel.warningText(), ModulePanel::meaInsertWarning());
  EXPECT_TRUE(panel.action("insert")->toolTip().contains("MEA"));
}

TEST(ModulePanel, StateRules) {
  EXPECT_TRUE(ModulePanel::actionAllowed("insert", "mea", "absent"));
  EXPECT_FALSE(ModulePanel::actionAllowed("insert", "mea", "active"));
  EXPECT_FALSE(ModulePanel::actionAllowed("bypass", "kha", "bypassed"));
  EXPECT_FALSE(ModulePanel::actionAllowed("freeze", "kha", "frozen"));
  EXPECT_TRUE(ModulePanel::actionAllowed("fold", "mea", "frozen"));
  EXPECT_FALSE(ModulePanel::actionAllowed("fold", "kha", "bypassed"));
  EXPECT_FALSE(ModulePanel::actionAllowed("activate", "kha", "absent"));
}
