#include <gtest/gtest.h>

#include <QAction>
#include <QApplication>
#include <QMainWindow>
#include <QProgressBar>
#include <QTest>
#include <vector>

#include "run_controls.h"

using headlab::RunControls;
using headlab::session::Command;
using headlab::session::RunState;
using headlab::session::SessionStatus;
namespace cmd = headlab::session::cmd;

// The run controls' commands by name, in the order they were sent.
enum class Kind { Start, Pause, Resume, Step, SaveCheckpoint, Stop, Other };

namespace {

struct Recorder {
  std::vector<Command> commands;
  explicit Recorder(RunControls& c) {
    QObject::connect(&c, &RunControls::commandRequested, [this](const Command& cmd) { commands.push_back(cmd); });
  }
  std::vector<Kind> kinds() const {
    std::vector<Kind> k;
    for (const auto& c : commands)
      k.push_back(c.is<cmd::Start>()            ? Kind::Start
                  : c.is<cmd::Pause>()          ? Kind::Pause
                  : c.is<cmd::Resume>()         ? Kind::Resume
                  : c.is<cmd::Step>()           ? Kind::Step
                  : c.is<cmd::SaveCheckpoint>() ? Kind::SaveCheckpoint
                  : c.is<cmd::Stop>()           ? Kind::Stop
                                                : Kind::Other);
    return k;
  }
};

SessionStatus status(RunState state, int64_t step = 50, int64_t total = 200) {
  SessionStatus s;
  s.state = state;
  s.step = step;
  s.total_steps = total;
  s.tokens_per_second = 12345;
  s.eta_seconds = 65;
  s.lr = 2.5e-3;
  return s;
}

}  // namespace

TEST(RunControls, ButtonsFollowTheStateAndEmitCommands) {
  RunControls controls;
  Recorder rec(controls);
  EXPECT_TRUE(controls.startAction()->isEnabled());
  for (QAction* a : {controls.pauseAction(), controls.stepAction(), controls.stopAction(), controls.saveAction()})
    EXPECT_FALSE(a->isEnabled()) << a->text().toStdString();
  controls.setStartAllowed(false);
  EXPECT_FALSE(controls.startAction()->isEnabled());
  controls.setStartAllowed(true);
  controls.startAction()->trigger();

  controls.setStatus(status(RunState::Running));
  EXPECT_FALSE(controls.startAction()->isEnabled());
  EXPECT_EQ(controls.pauseAction()->text(), "Pause");
  EXPECT_FALSE(controls.stepAction()->isEnabled());
  controls.pauseAction()->trigger();
  controls.setStatus(status(RunState::Paused));
  EXPECT_EQ(controls.pauseAction()->text(), "Resume");
  EXPECT_TRUE(controls.stepAction()->isEnabled());
  controls.pauseAction()->trigger();
  controls.stepAction()->trigger();
  controls.saveAction()->trigger();
  controls.stopAction()->trigger();
  controls.setStatus(status(RunState::Stopped));
  EXPECT_TRUE(controls.startAction()->isEnabled());
  EXPECT_FALSE(controls.stopAction()->isEnabled());

  EXPECT_EQ(rec.kinds(), (std::vector<Kind>{Kind::Start, Kind::Pause, Kind::Resume, Kind::Step, Kind::SaveCheckpoint,
                                            Kind::Stop}));
  EXPECT_EQ(rec.commands[4].get<cmd::SaveCheckpoint>()->path, "");  // the run directory's checkpoints/step-N
}

TEST(RunControls, ProgressShowsStepThroughputAndEta) {
  RunControls controls;
  controls.setStatus(status(RunState::Running, 50, 200));
  EXPECT_EQ(controls.progressBar()->maximum(), 200);
  EXPECT_EQ(controls.progressBar()->value(), 50);
  EXPECT_EQ(controls.progressBar()->text(), "step 50 / 200");
  const QString text = controls.progressText();
  EXPECT_TRUE(text.contains("12.3k tok/s")) << text.toStdString();
  EXPECT_TRUE(text.contains("ETA 1m05s")) << text.toStdString();
  EXPECT_TRUE(text.contains("lr 0.0025")) << text.toStdString();
  controls.setStatus(status(RunState::Paused, 60, 200));
  EXPECT_EQ(controls.progressBar()->value(), 60);
  EXPECT_TRUE(controls.progressText().endsWith("paused")) << controls.progressText().toStdString();
  EXPECT_FALSE(controls.progressText().contains("ETA"));
  auto failed = status(RunState::Error, 61, 200);
  failed.message = "loss is NaN";
  controls.setStatus(failed);
  EXPECT_TRUE(controls.progressText().endsWith("error: loss is NaN")) << controls.progressText().toStdString();
  controls.clearStatus();
  EXPECT_EQ(controls.progressBar()->value(), 0);
  EXPECT_FALSE(controls.pauseAction()->isEnabled());
}

TEST(RunControls, FormatsDurationsAndRates) {
  EXPECT_EQ(RunControls::formatDuration(42), "42s");
  EXPECT_EQ(RunControls::formatDuration(185), "3m05s");
  EXPECT_EQ(RunControls::formatDuration(3720), "1h02m");
  EXPECT_EQ(RunControls::formatDuration(-1), "?");
  EXPECT_EQ(RunControls::formatRate(950), "950 tok/s");
  EXPECT_EQ(RunControls::formatRate(2.5e6), "2.50M tok/s");
}

TEST(RunControls, KeyboardShortcutsEmitTheSameCommands) {
  QMainWindow window;
  auto* controls = new RunControls(&window);
  window.setCentralWidget(controls);
  window.show();
  window.activateWindow();
  ASSERT_TRUE(QTest::qWaitForWindowActive(&window));
  Recorder rec(*controls);

  controls->setStatus(status(RunState::Finished, 200, 200));
  QTest::keyClick(&window, Qt::Key_Return, Qt::ControlModifier);
  controls->setStatus(status(RunState::Running));
  QTest::keyClick(&window, Qt::Key_Space);
  controls->setStatus(status(RunState::Paused));
  QTest::keyClick(&window, Qt::Key_Space);
  QTest::keyClick(&window, Qt::Key_F10);
  QTest::keyClick(&window, Qt::Key_S, Qt::ControlModifier);
  QTest::keyClick(&window, Qt::Key_F5, Qt::ShiftModifier);
  // Disabled actions ignore their shortcut: no Start while paused.
  QTest::keyClick(&window, Qt::Key_Return, Qt::ControlModifier);
  EXPECT_EQ(rec.kinds(), (std::vector<Kind>{Kind::Start, Kind::Pause, Kind::Resume, Kind::Step, Kind::SaveCheckpoint,
                                            Kind::Stop}));
}
