// The lab docks on the real engine: a comparison run in the background to the end and
// cancelled, text sampled from the live model, the Heads view fed from the probe history,
// and the guided experiments of the Learn panel.
#include <gtest/gtest.h>

#include <QFileInfo>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>

#include "compare_controller.h"
#include "compare_panel.h"
#include "experiment_panel.h"
#include "heads_view.h"
#include "learn_panel.h"
#include "loss_chart.h"
#include "main_window.h"
#include "sample_view.h"
#include "session_feed.h"
#include "tiny_run.h"
#include "window_status.h"

using headlab::gui::CompareController;
using headlab::gui::CompareRequest;
using headlab::gui::MainWindow;
using headlab::session::RunState;

namespace {

CompareRequest request(const QTemporaryDir& dir, int steps) {
  CompareRequest r;
  r.base = headlab::testing::tinyExperiment(steps);
  r.variants = {"baseline", "kha-linear"};
  r.out_dir = dir.filePath("cmp").toStdString();
  return r;
}

}  // namespace

TEST(CompareController, RunsTwoVariantsToTheEndOnTheSameData) {
  QTemporaryDir dir;
  CompareController controller;
  QSignalSpy progress(&controller, &CompareController::progress);
  QSignalSpy finished(&controller, &CompareController::finished);
  QSignalSpy failed(&controller, &CompareController::failed);
  ASSERT_TRUE(controller.start(request(dir, 6)));
  EXPECT_TRUE(controller.isRunning());
  QString error;
  EXPECT_FALSE(controller.start(request(dir, 6), &error));  // one at a time
  EXPECT_TRUE(error.contains("already running"));
  ASSERT_TRUE(finished.wait(60000)) << (failed.isEmpty() ? "" : failed.at(0).at(0).toString().toStdString());
  EXPECT_FALSE(controller.isRunning());
  EXPECT_EQ(finished.at(0).at(0).toString(), dir.filePath("cmp"));
  const auto& summaries = controller.summaries();
  ASSERT_EQ(summaries.size(), 2u);
  EXPECT_EQ(summaries[0].name, "baseline");
  EXPECT_EQ(summaries[1].name, "kha-linear");
  EXPECT_EQ(summaries[0].first_batch_hash, summaries[1].first_batch_hash);
  EXPECT_NE(summaries[0].first_batch_hash, 0u);
  EXPECT_GT(summaries[1].parameters, summaries[0].parameters);
  EXPECT_TRUE(QFileInfo::exists(dir.filePath("cmp/summary.json")));
  // Every variant's last step is reported, whatever the throttle dropped in between.
  ASSERT_FALSE(progress.isEmpty());
  const auto last = progress.last();
  EXPECT_EQ(last.at(0).toInt(), 1);
  EXPECT_EQ(last.at(1).toInt(), 2);
  EXPECT_EQ(last.at(2).toString(), "kha-linear");
  EXPECT_EQ(last.at(3).toLongLong(), 6);
  EXPECT_EQ(last.at(4).toLongLong(), 6);
}

TEST(CompareController, CancelStopsTheRunAndWritesNoSummary) {
  QTemporaryDir dir;
  CompareController controller;
  QSignalSpy progress(&controller, &CompareController::progress);
  QSignalSpy cancelled(&controller, &CompareController::cancelled);
  QSignalSpy finished(&controller, &CompareController::finished);
  ASSERT_TRUE(controller.start(request(dir, 100000)));
  ASSERT_TRUE(progress.wait(30000));
  controller.cancel();
  ASSERT_TRUE(cancelled.wait(30000));
  EXPECT_TRUE(cancelled.at(0).at(0).toString().contains("cancelled"));
  EXPECT_TRUE(finished.isEmpty());
  EXPECT_FALSE(controller.isRunning());
  EXPECT_FALSE(QFileInfo::exists(dir.filePath("cmp/summary.json")));
  EXPECT_TRUE(QFileInfo::exists(dir.filePath("cmp/baseline/metrics.jsonl")));  // the partial run stays
}

TEST(CompareController, ABadVariantConfigFailsWithItsName) {
  QTemporaryDir dir;
  CompareController controller;
  QSignalSpy failed(&controller, &CompareController::failed);
  auto r = request(dir, 4);
  r.base["model"]["n_kv_heads"] = 3;  // 2 heads
  r.base["model"]["attention"] = "gqa";
  ASSERT_TRUE(controller.start(r));
  ASSERT_TRUE(failed.wait(30000));
  EXPECT_EQ(failed.at(0).at(0).toString().toStdString(),
            "variant 'baseline': model config: n_heads (2) is not a multiple of n_kv_heads (3)");
  r.variants = {"baseline", "gpt5"};
  ASSERT_TRUE(controller.start(r));
  ASSERT_TRUE(failed.wait(30000));
  EXPECT_TRUE(failed.at(1).at(0).toString().contains("unknown variant 'gpt5'"));
  EXPECT_FALSE(QFileInfo::exists(dir.filePath("cmp")));
}

TEST(MainWindowLabs, CompareFromThePanelOverlaysTheVariantsAndFillsTheTable) {
  QTemporaryDir dir;
  MainWindow w;
  w.setRunsFolder(dir.filePath("runs"));
  w.experimentPanel()->setConfig(headlab::testing::tinyExperiment(5));
  w.comparePanel()->setCheckedVariants({"baseline", "talking-heads"});
  w.comparePanel()->setInterleaved(true);
  w.comparePanel()->setOutputFolder(QString());
  w.comparePanel()->startButton()->click();
  ASSERT_TRUE(w.compareController()->isRunning());
  EXPECT_FALSE(w.comparePanel()->startButton()->isEnabled());
  ASSERT_TRUE(QTest::qWaitFor([&] { return !w.compareController()->isRunning(); }, 60000));
  ASSERT_EQ(w.comparePanel()->summaryTable()->rowCount(), 2) << w.comparePanel()->messageLabel()->text().toStdString();
  EXPECT_EQ(w.comparePanel()->summaryTable()->item(1, 0)->text(), "talking-heads");
  EXPECT_EQ(w.lossChart()->overlayCount(), 2);
  EXPECT_TRUE(w.comparePanel()->resultFolder().startsWith(dir.filePath("runs/compare-custom-")));
  EXPECT_TRUE(QFileInfo::exists(w.comparePanel()->resultFolder() + "/summary.csv"));
  EXPECT_TRUE(w.comparePanel()->startButton()->isEnabled());
}

TEST(MainWindowLabs, SampleAndHeadsFollowTheLiveSession) {
  QTemporaryDir dir;
  MainWindow w;
  w.setRunsFolder(dir.filePath("runs"));
  EXPECT_FALSE(w.sampleView()->generateButton()->isEnabled());  // no session yet
  w.experimentPanel()->setConfig(headlab::testing::tinyExperiment(12));
  QString error;
  ASSERT_TRUE(w.startExperiment(w.experimentPanel()->config(), &error)) << error.toStdString();
  ASSERT_TRUE(QTest::qWaitFor([&] { return headlab::testing::windowStatus(w).state == RunState::Finished; }, 60000));
  // Probes every 5 steps plus the first and last: the Heads view pulled the whole history.
  ASSERT_TRUE(QTest::qWaitFor([&] { return !w.headsView()->isNewStep(12); }, 5000));
  EXPECT_GE(w.headsView()->history().size(), 3u);
  EXPECT_EQ(w.headsView()->history().front()->step, 0);
  w.headsView()->setMode(headlab::HeadsView::Mode::HeadsOfLayer);
  EXPECT_EQ(w.headsView()->seriesCount(), 2);  // 2 heads
  EXPECT_EQ(w.headsView()->seriesSteps(0).back(), 12.0);
  EXPECT_EQ(w.headsView()->roleTable()->rowCount(), 4);  // 2 layers x 2 heads

  ASSERT_TRUE(w.sampleView()->generateButton()->isEnabled());
  w.sampleView()->promptEdit()->setText("abcab");
  w.sampleView()->maxTokensBox()->setValue(10);
  w.sampleView()->generateButton()->click();
  ASSERT_TRUE(QTest::qWaitFor([&] { return w.sampleView()->tokenCount() == 10; }, 20000));
  const QString first = w.sampleView()->outputText();
  EXPECT_TRUE(first.startsWith("abcab"));
  EXPECT_EQ(first.size(), 15);  // one character per token of the induction task
  w.sampleView()->generateButton()->click();  // same seed, same model: the same text
  const uint64_t shown = w.sampleView()->shownRequestId();
  ASSERT_TRUE(QTest::qWaitFor([&] { return w.sampleView()->shownRequestId() > shown; }, 20000));
  EXPECT_EQ(w.sampleView()->outputText(), first);
}

TEST(MainWindowLabs, TheInductionTourStartsItsPresetAndPointsTheHeadsViewAtLayer1) {
  QTemporaryDir dir;
  MainWindow w;
  w.setRunsFolder(dir.filePath("runs"));
  w.learnPanel()->tourButton("induction")->click();
  EXPECT_EQ(w.experimentPanel()->presetName(), "induction-kha");
  ASSERT_TRUE(QTest::qWaitFor([&] { return w.feed()->hasSession(); }, 30000));  // built off the GUI thread
  EXPECT_TRUE(QFileInfo(w.runDirectory()).fileName().startsWith("induction-kha-"));
  EXPECT_EQ(w.headsView()->statistic(), headlab::HeadStatistic::Induction);
  EXPECT_EQ(w.headsView()->layer(), 1);
  ASSERT_TRUE(QTest::qWaitFor([&] { return w.headsView()->history().size() >= 1; }, 20000));
  EXPECT_EQ(w.headsView()->layer(), 1);  // kept once the probes arrive (2 layers)
  w.feed()->closeSession();
}
