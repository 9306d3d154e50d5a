// End to end: the main window on the real Session, as a user drives it.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include <QAction>
#include <QApplication>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QMimeData>
#include <QSettings>
#include <QUrl>
#include <QDir>
#include <QDockWidget>
#include <QMenu>
#include <QMenuBar>
#include <QFile>
#include <QFileInfo>
#include <QMessageBox>
#include <QImage>
#include <QProgressBar>
#include <QSpinBox>
#include <QStatusBar>
#include <QTemporaryDir>
#include <QTest>

#include "attention_map_view.h"
#include "common/json_file.h"
#include "experiment_panel.h"
#include "export_controller.h"
#include "loss_chart.h"
#include "main_window.h"
#include "matrix_view.h"
#include "module_panel.h"
#include "probe_input_bar.h"
#include "recent_files.h"
#include "run_controls.h"
#include "session_feed.h"
#include "session_launcher.h"
#include "tiny_run.h"
#include "window_status.h"

using headlab::gui::MainWindow;
using headlab::model::ModuleAction;
using headlab::model::ModuleKind;
using headlab::model::ModuleState;
using headlab::session::RunState;

namespace {

bool chartHasMarker(const headlab::LossChart& chart, const QString& text) {
  for (int i = 0; i < chart.eventMarkerCount(); ++i)
    if (chart.eventMarkerLabel(i).contains(text)) return true;
  return false;
}

}  // namespace

TEST(MainWindow, TrainTogglePauseExportSaveAndReopen) {
  QTemporaryDir dir;
  MainWindow w;
  w.setRunsFolder(dir.filePath("runs"));
  w.show();
  w.experimentPanel()->setConfig(headlab::testing::tinyExperiment(400));
  ASSERT_TRUE(w.experimentPanel()->isValid()) << w.experimentPanel()->problem().toStdString();
  ASSERT_TRUE(w.runControls()->startAction()->isEnabled());
  w.runControls()->startAction()->trigger();
  ASSERT_TRUE(QTest::qWaitFor([&] { return w.feed()->hasSession(); }, 30000));  // built off the GUI thread
  EXPECT_TRUE(w.runDirectory().startsWith(dir.filePath("runs/custom-")));

  // A few dozen steps through the real session, with probes arriving in the views.
  ASSERT_TRUE(QTest::qWaitFor([&] { return headlab::testing::windowStatus(w).step >= 12 && w.attentionView()->snapshot(); }, 30000));
  EXPECT_EQ(w.attentionView()->snapshot()->n_layers, 2);
  EXPECT_EQ(w.modulePanel()->layerCount(), 2);
  EXPECT_EQ(w.modulePanel()->state(0, ModuleKind::Kha), ModuleState::Active);
  EXPECT_EQ(w.modulePanel()->state(1, ModuleKind::Mea), ModuleState::Absent);
  EXPECT_FALSE(w.matrixView()->matrixKeys().isEmpty());
  EXPECT_GE(w.lossChart()->metrics().size(), 12u);
  EXPECT_GE(w.runControls()->progressBar()->value(), 12);
  EXPECT_EQ(w.runControls()->progressBar()->maximum(), 400);

  // Toggle a module from the module panel.
  w.modulePanel()->selectCells(ModuleKind::Kha, {0});
  w.modulePanel()->action(ModuleAction::Bypass)->trigger();
  ASSERT_TRUE(QTest::qWaitFor([&] { return w.modulePanel()->state(0, ModuleKind::Kha) == ModuleState::Bypassed; }, 10000));
  ASSERT_TRUE(QTest::qWaitFor([&] { return chartHasMarker(*w.lossChart(), "bypass kha"); }, 5000));
  EXPECT_EQ(w.modulePanel()->state(1, ModuleKind::Kha), ModuleState::Active);

  // Pause: the step stops moving, the button offers Resume.
  w.runControls()->pauseAction()->trigger();
  ASSERT_TRUE(QTest::qWaitFor([&] { return headlab::testing::windowStatus(w).state == RunState::Paused; }, 10000));
  const int64_t paused_at = headlab::testing::windowStatus(w).step;
  // A barrier, not a sleep: once the window shows this probe, the worker has handled every
  // command before it, and a step after the pause would have shown too.
  const auto probe_before = w.feed()->snapshot()->probe;
  w.feed()->post(headlab::session::Command::probe_now());
  ASSERT_TRUE(QTest::qWaitFor([&] { return w.feed()->snapshot()->probe != probe_before; }, 10000));
  EXPECT_EQ(headlab::testing::windowStatus(w).step, paused_at);
  EXPECT_EQ(w.runControls()->pauseAction()->text(), "Resume");
  EXPECT_EQ(w.lossChart()->metrics().size(), size_t(paused_at));  // log_every 1: every step drawn

  // One step at a time while paused.
  w.runControls()->stepAction()->trigger();
  ASSERT_TRUE(QTest::qWaitFor([&] { return headlab::testing::windowStatus(w).step == paused_at + 1; }, 10000));

  // Re-probe on a text typed by the user (the induction task's symbols are a-h).
  w.probeInput()->setText("abcdabcd");
  emit w.probeInput()->probeTextSubmitted("abcdabcd");
  ASSERT_TRUE(QTest::qWaitFor([&] { return w.attentionView()->snapshot()->seq_len == 8; }, 10000));
  EXPECT_EQ(w.attentionView()->tokenLabels().front(), "a");

  // Export every figure of the run.
  headlab::ExportOptions options;
  options.width_px = 500;
  options.height_px = 400;
  w.exporter()->setOptions(options, {headlab::FigureFormat::Png, headlab::FigureFormat::Pdf});
  QString error;
  const QStringList files = w.exporter()->exportAll(dir.filePath("figs"), &error);
  EXPECT_TRUE(error.isEmpty()) << error.toStdString();
  // loss, 4 maps, 2 layers of matrices, the Heads chart and similarity; png + pdf
  EXPECT_EQ(files.size(), (1 + 2 * 2 + 2 + 2) * 2);
  EXPECT_TRUE(files.contains(dir.filePath("figs/heads_induction.pdf")));
  EXPECT_EQ(QImage(dir.filePath("figs/attention_layer1_head1.png")).size(), QSize(500, 400));
  EXPECT_TRUE(w.exporter()->exportCurvesCsv(dir.filePath("curves.csv"), &error));
  const QStringList npy = w.exporter()->exportProbeNpy(dir.filePath("npy"), &error);
  EXPECT_TRUE(error.isEmpty()) << error.toStdString();
  EXPECT_TRUE(npy.contains(dir.filePath("npy/attention.npy")));
  EXPECT_EQ(QFileInfo(dir.filePath("npy/attention.npy")).size(), 128 + 2 * 2 * 8 * 8 * 4);

  // Save a checkpoint (Ctrl+S's action), into the run directory.
  const int64_t saved_step = headlab::testing::windowStatus(w).step;
  w.runControls()->saveAction()->trigger();
  const QString checkpoint = w.runDirectory() + QStringLiteral("/checkpoints/step-%1").arg(saved_step);
  ASSERT_TRUE(QTest::qWaitFor([&] { return QFileInfo::exists(checkpoint + "/model.safetensors"); }, 10000))
      << checkpoint.toStdString();
  ASSERT_TRUE(QTest::qWaitFor([&] { return chartHasMarker(*w.lossChart(), "checkpoint") ||
                                           w.statusBar()->currentMessage().contains("checkpoint"); }, 5000));

  // Reopen it: inspection mode, with the run's curves and the saved module states.
  ASSERT_TRUE(w.openPath(checkpoint, &error)) << error.toStdString();
  ASSERT_TRUE(QTest::qWaitFor([&] { return w.feed()->snapshot() && !headlab::testing::windowStatus(w).training; }, 10000));
  EXPECT_EQ(w.modulePanel()->state(0, ModuleKind::Kha), ModuleState::Bypassed);
  EXPECT_EQ(w.modulePanel()->state(1, ModuleKind::Kha), ModuleState::Active);
  EXPECT_EQ(w.lossChart()->metrics().size(), size_t(saved_step));
  ASSERT_TRUE(w.attentionView()->snapshot());
  EXPECT_EQ(w.attentionView()->snapshot()->step, saved_step);  // the checkpoint's step, not 0
  EXPECT_FALSE(w.runControls()->pauseAction()->isEnabled());
}

TEST(MainWindow, StartIsRefusedWithTheEngineMessageForABadConfig) {
  QTemporaryDir dir;
  MainWindow w;
  w.setRunsFolder(dir.filePath("runs"));
  auto bad = headlab::testing::tinyExperiment(10);
  bad["model"]["attention"] = "gqa";
  bad["model"]["n_kv_heads"] = 3;  // 2 heads
  w.experimentPanel()->setConfig(bad);
  EXPECT_FALSE(w.runControls()->startAction()->isEnabled());
  QString error;
  EXPECT_FALSE(w.startExperiment(bad, &error));
  EXPECT_EQ(error.toStdString(), "model config: n_heads (2) is not a multiple of n_kv_heads (3)");
  EXPECT_FALSE(w.feed()->hasSession());
  EXPECT_FALSE(QFileInfo::exists(dir.filePath("runs")));
}

TEST(MainWindow, OpensARunDirectoryWithItsCurvesEventsAndNewestModel) {
  QTemporaryDir dir;
  const QString run = dir.filePath("run");
  headlab::testing::makeTinyRun(run.toStdString(), 10);
  MainWindow w;
  QString error;
  ASSERT_TRUE(w.openPath(run, &error)) << error.toStdString();
  ASSERT_TRUE(QTest::qWaitFor([&] { return !w.launcher()->busy(); }, 10000));  // the model loads off the GUI thread
  EXPECT_EQ(w.runDirectory(), run);
  EXPECT_EQ(w.lossChart()->metrics().size(), 10u);
  EXPECT_TRUE(chartHasMarker(*w.lossChart(), "checkpoint"));
  ASSERT_TRUE(QTest::qWaitFor([&] { return w.attentionView()->snapshot() != nullptr; }, 10000));
  EXPECT_FALSE(headlab::testing::windowStatus(w).training);
  EXPECT_FALSE(w.openPath(dir.filePath("nothing-here"), &error));
  EXPECT_TRUE(error.contains("does not exist"));
}

TEST(MainWindow, DropsAndRecentFilesOpenRunDirectories) {
  QTemporaryDir dir;
  const QString run = dir.filePath("run");
  headlab::testing::makeTinyRun(run.toStdString(), 6);
  MainWindow w;
  w.show();
  QMimeData mime;
  mime.setUrls({QUrl::fromLocalFile(run)});
  QDragEnterEvent enter(QPoint(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
  QApplication::sendEvent(&w, &enter);
  EXPECT_TRUE(enter.isAccepted());
  QDropEvent drop(QPointF(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
  QApplication::sendEvent(&w, &drop);
  ASSERT_TRUE(QTest::qWaitFor([&] { return !w.launcher()->busy(); }, 10000));  // the model loads off the GUI thread
  EXPECT_EQ(w.runDirectory(), run);
  EXPECT_EQ(w.lossChart()->metrics().size(), 6u);
  EXPECT_EQ(w.recentFiles()->paths().value(0), QFileInfo(run).absoluteFilePath());
}

TEST(MainWindow, DemoStartsTheDefaultPresetAndSettingsAreRemembered) {
  QTemporaryDir dir;
  {
    MainWindow w;
    w.setRunsFolder(dir.filePath("runs"));
    w.show();
    QString error;
    ASSERT_TRUE(w.startDemo(3, &error)) << error.toStdString();
    EXPECT_EQ(w.experimentPanel()->presetName(), "induction-kha");
    EXPECT_TRUE(QFileInfo(w.runDirectory()).fileName().startsWith("induction-kha-"));
    ASSERT_TRUE(QTest::qWaitFor([&] { return headlab::testing::windowStatus(w).state == RunState::Finished; }, 30000));
    EXPECT_EQ(headlab::testing::windowStatus(w).total_steps, 3);
    EXPECT_TRUE(QFileInfo::exists(w.runDirectory() + "/model/model.safetensors"));
    w.experimentPanel()->selectPreset("recall-mea");
    w.close();
  }
  MainWindow again;
  EXPECT_EQ(again.experimentPanel()->presetName(), "recall-mea");
  EXPECT_EQ(again.runsFolder(), dir.filePath("runs"));
  EXPECT_TRUE(QSettings().contains("window/state"));
}

TEST(MainWindow, StartBuildsTheRunOffTheGuiThreadAndReportsAFailureWithoutBlocking) {
  QTemporaryDir dir;
  MainWindow w;
  w.setRunsFolder(dir.filePath("runs"));
  QString error;
  // Accepted at once: the data, model and first probe are built by the launcher.
  ASSERT_TRUE(w.startExperiment(headlab::testing::tinyExperiment(3), &error)) << error.toStdString();
  EXPECT_TRUE(w.launcher()->busy());
  EXPECT_FALSE(w.startExperiment(headlab::testing::tinyExperiment(3), &error));  // one launch at a time
  ASSERT_TRUE(QTest::qWaitFor([&] { return headlab::testing::windowStatus(w).state == RunState::Finished; }, 60000));
  EXPECT_FALSE(w.launcher()->busy());

  // A corpus that is not UTF-8 passes the structural check and fails in the launcher: the
  // message comes back to the window, no session replaces the finished one.
  const QString corpus = dir.filePath("bad.txt");
  {
    QFile f(corpus);
    ASSERT_TRUE(f.open(QIODevice::WriteOnly));
    f.write("\xff\xfe\xfd not text at all");
  }
  auto bad = headlab::testing::tinyExperiment(3);
  bad["data"] = {{"task", "text"}, {"path", corpus.toStdString()}};
  const auto session_before = w.feed()->session();
  ASSERT_TRUE(w.startExperiment(bad, &error)) << error.toStdString();
  ASSERT_TRUE(QTest::qWaitFor([&] { return !w.launcher()->busy(); }, 60000));
  auto* box = w.findChild<QMessageBox*>("launchFailure");
  ASSERT_NE(box, nullptr);
  EXPECT_TRUE(box->text().contains("bad.txt")) << box->text().toStdString();
  EXPECT_EQ(w.feed()->session(), session_before);
  box->close();
}

TEST(MainWindow, ResumingTheRunItJustFinishedReleasesItsOwnLockFirst) {
  QTemporaryDir dir;
  MainWindow w;
  w.setRunsFolder(dir.filePath("runs"));
  QString error;
  ASSERT_TRUE(w.startExperiment(headlab::testing::tinyExperiment(5), &error)) << error.toStdString();
  ASSERT_TRUE(QTest::qWaitFor([&] { return headlab::testing::windowStatus(w).state == RunState::Finished; }, 60000));
  const QString run = w.runDirectory();
  // The finished session holds the run's lock; resuming that run in the same window works.
  ASSERT_TRUE(w.resumeRun(run, &error)) << error.toStdString();
  ASSERT_TRUE(QTest::qWaitFor([&] { return !w.launcher()->busy(); }, 30000));
  EXPECT_EQ(w.findChild<QMessageBox*>("launchFailure"), nullptr);
  ASSERT_TRUE(w.feed()->hasSession());
  const auto& events = w.feed()->events();
  EXPECT_TRUE(std::any_of(events.begin(), events.end(), [](const auto& e) { return e.kind == headlab::EventKind::Resume; }));
  EXPECT_EQ(headlab::testing::windowStatus(w).step, 5);
  EXPECT_EQ(w.runDirectory(), run);
}

// File > Train from this model: the opened model's weights and config, the form's data and
// training settings; the new run records where its model came from.
TEST(MainWindow, TrainFromThisModelStartsARunInitializedFromTheOpenedModel) {
  QTemporaryDir dir;
  const QString source = dir.filePath("source");
  headlab::testing::makeTinyRun(source.toStdString(), 6);
  MainWindow w;
  w.setRunsFolder(dir.filePath("runs"));
  w.experimentPanel()->setConfig(headlab::testing::tinyExperiment(4));
  EXPECT_FALSE(w.trainFromModelAction()->isEnabled());  // nothing opened yet
  EXPECT_FALSE(w.trainFromModelAction()->toolTip().isEmpty());
  EXPECT_EQ(w.trainFromModelAction()->shortcut(), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_T));
  QString error;
  EXPECT_FALSE(w.trainFromInspectedModel(&error));
  EXPECT_TRUE(error.contains("Open a model")) << error.toStdString();

  ASSERT_TRUE(w.openPath(source, &error)) << error.toStdString();  // a run directory: its model/
  ASSERT_TRUE(QTest::qWaitFor([&] { return !w.launcher()->busy(); }, 30000));
  EXPECT_EQ(w.inspectedModel(), source + "/model");
  ASSERT_TRUE(w.trainFromModelAction()->isEnabled());
  // The form shows the opened run's settings (#17 item 4); the user then sets the steps.
  EXPECT_EQ(w.experimentPanel()->stepsBox()->value(), 6);
  w.experimentPanel()->stepsBox()->setValue(4);
  w.trainFromModelAction()->trigger();
  ASSERT_TRUE(QTest::qWaitFor([&] { return headlab::testing::windowStatus(w).state == RunState::Finished; }, 60000))
      << (w.findChild<QMessageBox*>("launchFailure") ? w.findChild<QMessageBox*>("launchFailure")->text().toStdString()
                                                     : std::string());
  EXPECT_EQ(headlab::testing::windowStatus(w).total_steps, 4);
  EXPECT_NE(w.runDirectory(), source);
  const auto config = headlab::read_json_file((w.runDirectory() + "/config.json").toStdString());
  EXPECT_EQ(config.value("initialized_from", ""),
            std::filesystem::absolute((source + "/model").toStdString()).lexically_normal().string());
  EXPECT_FALSE(config.contains("init_from"));
  EXPECT_EQ(config["model"]["d_model"], 32);  // the source model's config
  EXPECT_FALSE(w.trainFromModelAction()->isEnabled());  // a training run is not a model to start from

  // Data with another tokenizer: the engine's message comes back like any launch failure.
  ASSERT_TRUE(w.openModel(source + "/model", &error)) << error.toStdString();
  ASSERT_TRUE(QTest::qWaitFor([&] { return !w.launcher()->busy(); }, 30000));
  auto other = headlab::testing::tinyExperiment(4);
  other["data"]["n_symbols"] = 12;
  w.experimentPanel()->setConfig(other);
  ASSERT_TRUE(w.trainFromInspectedModel(&error)) << error.toStdString();
  ASSERT_TRUE(QTest::qWaitFor([&] { return !w.launcher()->busy(); }, 30000));
  auto* box = w.findChild<QMessageBox*>("launchFailure");
  ASSERT_NE(box, nullptr);
  EXPECT_TRUE(box->text().contains("tokenizer")) << box->text().toStdString();
  box->close();
}

// Help: the Learn panel, the keyboard shortcuts (read from the menus) and the README.
TEST(MainWindow, HelpMenuOffersLearnShortcutsAndTheReadme) {
  MainWindow w;
  w.show();
  const QStringList shortcuts = w.shortcutList();
  const auto has = [&](const QString& prefix) {
    return std::any_of(shortcuts.begin(), shortcuts.end(), [&](const QString& s) { return s.startsWith(prefix); });
  };
  EXPECT_TRUE(has("Edit > Undo: ")) << shortcuts.join('\n').toStdString();
  EXPECT_TRUE(has("File > Open model or checkpoint...: ")) << shortcuts.join('\n').toStdString();
  EXPECT_TRUE(has("Help > Learn panel: ")) << shortcuts.join('\n').toStdString();
  EXPECT_FALSE(MainWindow::readmePath().isEmpty());  // the source tree's, in a build tree
  QStringList help;
  for (QAction* top : w.menuBar()->actions())
    if (top->text() == "&Help")
      for (QAction* a : top->menu()->actions())
        if (!a->isSeparator()) help << a->text();
  EXPECT_EQ(help, QStringList({"Learn panel", "Keyboard shortcuts", "README", "About HeadLab"}));
  auto* learn = w.findChild<QDockWidget*>("learn");
  ASSERT_NE(learn, nullptr);
  learn->hide();
  for (QAction* top : w.menuBar()->actions())
    if (top->text() == "&Help") top->menu()->actions().front()->trigger();
  EXPECT_TRUE(learn->isVisible());
}
