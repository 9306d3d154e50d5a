// The Head Atlas and the evolution timeline in the main window, on a real training session:
// the atlas follows the live probe, the timeline scrubs the session's probe history in every
// view, Live returns, the atlas opens heads in the attention map, and the replay exports.
#include <gif_lib.h>
#include <gtest/gtest.h>

#include <QAction>
#include <QDir>
#include <QDockWidget>
#include <QFile>
#include <QImage>
#include <QMenu>
#include <QMenuBar>
#include <QTemporaryDir>
#include <QTest>

#include "attention_map_view.h"
#include "experiment_panel.h"
#include "export_controller.h"
#include "head_atlas_view.h"
#include "loss_chart.h"
#include "main_window.h"
#include "matrix_view.h"
#include "replay_export_controller.h"
#include "run_controls.h"
#include "session_feed.h"
#include "timeline_bar.h"
#include "tiny_run.h"

using headlab::gui::MainWindow;
using headlab::gui::ReplayExportController;
using headlab::session::RunState;

namespace {

RunState state(const MainWindow& w) {
  const auto snap = w.feed()->snapshot();
  return snap ? snap->status.state : RunState::Idle;
}

int gifFrameCount(const QString& path, QSize* size) {
  int error = 0;
  GifFileType* gif = DGifOpenFileName(QFile::encodeName(path).constData(), &error);
  if (!gif) return -1;
  const int count = DGifSlurp(gif) == GIF_OK ? gif->ImageCount : -1;
  *size = QSize(gif->SWidth, gif->SHeight);
  DGifCloseFile(gif, &error);
  return count;
}

bool menuHas(QMenu* menu, QAction* action) { return menu->actions().contains(action); }

}  // namespace

TEST(AtlasTimeline, ScrubsTheRealHistoryInEveryViewAndExportsItsReplay) {
  QTemporaryDir dir;
  MainWindow w;
  w.setRunsFolder(dir.filePath("runs"));
  w.show();
  w.experimentPanel()->setConfig(headlab::testing::tinyExperiment(400));
  w.runControls()->startAction()->trigger();

  // Probes (every 5 steps) fill the session's history; Live, every view shows the newest.
  ASSERT_TRUE(QTest::qWaitFor([&] { return w.timeline()->history().size() >= 4; }, 60000));
  w.runControls()->pauseAction()->trigger();
  // The window shows Paused from the snapshot published after the pause: nothing newer comes.
  ASSERT_TRUE(QTest::qWaitFor([&] { return state(w) == RunState::Paused; }, 10000));
  w.feed()->poll();
  EXPECT_TRUE(w.timeline()->isLive());
  const auto history = w.timeline()->history();
  ASSERT_GE(history.size(), 4u);
  for (size_t i = 1; i < history.size(); ++i) EXPECT_GT(history[i]->step, history[i - 1]->step);
  const auto newest = w.feed()->snapshot()->probe;
  EXPECT_EQ(history.back(), newest);
  EXPECT_EQ(w.headAtlas()->model().snapshot(), newest);
  EXPECT_EQ(w.attentionView()->snapshot(), newest);
  ASSERT_TRUE(w.headAtlas()->model().hasMaps());
  EXPECT_EQ(w.headAtlas()->model().layers(), 2);
  EXPECT_EQ(w.headAtlas()->model().heads(), 2);
  EXPECT_EQ(w.headAtlas()->renderer(), headlab::HeadAtlasView::Renderer::Software);  // offscreen: no GL

  // Scrub to an early probe: the attention map, the matrices and the atlas all show it.
  const auto early = history[1];
  ASSERT_TRUE(w.timeline()->showStep(early->step));
  EXPECT_FALSE(w.timeline()->isLive());
  EXPECT_EQ(w.attentionView()->snapshot(), early);
  EXPECT_EQ(w.matrixView()->snapshot(), early);
  EXPECT_EQ(w.headAtlas()->model().snapshot(), early);
  EXPECT_EQ(w.timeline()->current(), w.feed()->session()->probe_at(early->step));
  // The loss chart marks the replayed step.
  EXPECT_TRUE(w.lossChart()->cursorShown());
  EXPECT_DOUBLE_EQ(w.lossChart()->cursorX(), double(early->step));

  // A new probe while scrubbing lengthens the history but leaves the views where they are.
  const auto before = w.feed()->snapshot()->probe;
  w.feed()->post(headlab::session::Command::probe_now());
  ASSERT_TRUE(QTest::qWaitFor([&] { return w.feed()->snapshot()->probe != before; }, 10000));
  EXPECT_EQ(w.attentionView()->snapshot(), early);
  EXPECT_EQ(w.headAtlas()->model().snapshot(), early);
  EXPECT_EQ(w.timeline()->history().back(), w.feed()->snapshot()->probe);

  // Live again: back to the newest probe, and no replay cursor.
  w.timeline()->setLive(true);
  EXPECT_FALSE(w.lossChart()->cursorShown());
  EXPECT_EQ(w.attentionView()->snapshot(), w.feed()->snapshot()->probe);
  EXPECT_EQ(w.matrixView()->snapshot(), w.feed()->snapshot()->probe);
  EXPECT_EQ(w.headAtlas()->model().snapshot(), w.feed()->snapshot()->probe);

  // The atlas opens a head in the attention map (End: the last head, layer 1 head 1), and a
  // head picked in the attention map is highlighted in the atlas.
  QTest::keyClick(w.headAtlas(), Qt::Key_End);
  EXPECT_EQ(w.attentionView()->layer(), 1);
  EXPECT_EQ(w.attentionView()->head(), 1);
  w.attentionView()->setLayerHead(0, 1);
  EXPECT_EQ(w.headAtlas()->model().selected(), 1);

  // Replay: one GIF frame and one PNG per history entry.
  const auto replay_history = w.timeline()->history();
  const size_t n = replay_history.size();
  auto result = w.replayExporter()->exportGif(dir.filePath("replay.gif"), ReplayExportController::View::Atlas,
                                              QSize(400, 300), 5.0);
  ASSERT_TRUE(result.ok) << result.error.toStdString();
  QSize gif_size;
  EXPECT_EQ(gifFrameCount(dir.filePath("replay.gif"), &gif_size), int(n));
  EXPECT_EQ(gif_size, QSize(400, 300));
  result = w.replayExporter()->exportPngs(dir.filePath("frames"), ReplayExportController::View::AttentionMap,
                                          QSize(320, 240));
  ASSERT_TRUE(result.ok) << result.error.toStdString();
  const QStringList frames = QDir(dir.filePath("frames")).entryList(QDir::Files, QDir::Name);
  ASSERT_EQ(frames.size(), int(n));
  EXPECT_EQ(frames.front(), "frame_0000.png");
  EXPECT_EQ(QImage(QDir(dir.filePath("frames")).filePath(frames.back())).size(), QSize(320, 240));
}

TEST(AtlasTimeline, MenusCarryTheSettingAndTheReplayExports) {
  MainWindow w;
  QMenu* view = nullptr;
  QMenu* exports = w.exporter()->menu();
  for (QAction* a : w.menuBar()->actions())
    if (a->text() == "&View") view = a->menu();
  ASSERT_NE(view, nullptr);
  EXPECT_TRUE(menuHas(view, w.headAtlas()->softwareAction()));
  EXPECT_EQ(w.headAtlas()->softwareAction()->text(), "Head Atlas: software rendering");
  EXPECT_TRUE(menuHas(exports, w.replayExporter()->gifAction()));
  EXPECT_TRUE(menuHas(exports, w.replayExporter()->pngAction()));
  // The Head atlas dock is there and explains itself.
  auto* dock = w.findChild<QDockWidget*>("atlas");
  ASSERT_NE(dock, nullptr);
  EXPECT_EQ(dock->windowTitle(), "Head atlas");
  EXPECT_FALSE(dock->toolTip().isEmpty());

  // Nothing trained yet: no history, a clear error and no file.
  QTemporaryDir dir;
  const auto result = w.replayExporter()->exportGif(dir.filePath("none.gif"), ReplayExportController::View::Atlas,
                                                    QSize(200, 200), 4.0);
  EXPECT_FALSE(result.ok);
  EXPECT_TRUE(result.error.contains("no probe history")) << result.error.toStdString();
  EXPECT_FALSE(QFile::exists(dir.filePath("none.gif")));
}

TEST(AtlasTimeline, ARunDirectoryFromDiskReplaysOnlyWhatItsModelShows) {
  // An opened run directory is probed on its newest model: one probe, and the timeline says so
  // by holding exactly that (File > Follow run directory replays its probes.jsonl instead).
  QTemporaryDir dir;
  const QString run = dir.filePath("run");
  headlab::testing::makeTinyRun(run.toStdString(), 10);
  MainWindow w;
  QString error;
  ASSERT_TRUE(w.openPath(run, &error)) << error.toStdString();
  ASSERT_TRUE(QTest::qWaitFor([&] { return w.headAtlas()->model().hasMaps(); }, 10000));
  EXPECT_EQ(w.timeline()->history().size(), 1u);
  EXPECT_EQ(w.timeline()->history().front(), w.attentionView()->snapshot());
  EXPECT_TRUE(w.timeline()->isLive());
}
