// The lab docks on the real engine: a comparison on several seeds run in the background to the
// end, followed live and cancelled, opened again from disk; text sampled from the live model,
// the Heads view fed from the probe history, and the guided experiments of the Learn panel.
#include <gtest/gtest.h>

#include <cmath>

#include <QCheckBox>
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
#include "compare_curve_feed.h"
#include "compare_panel.h"
#include "compare_table.h"
#include "comparison_chart.h"
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

TEST(CompareController, RunsTwoVariantsOnTwoSeedsToTheEndOnTheSameData) {
  QTemporaryDir dir;
  CompareController controller;
  QSignalSpy progress(&controller, &CompareController::progress);
  QSignalSpy finished(&controller, &CompareController::finished);
  QSignalSpy failed(&controller, &CompareController::failed);
  QSignalSpy run_finished(&controller, &CompareController::runFinished);
  auto r = request(dir, 6);
  r.seeds = 2;
  ASSERT_TRUE(controller.start(r));
  EXPECT_TRUE(controller.isRunning());
  QString error;
  EXPECT_FALSE(controller.start(r, &error));  // one at a time
  EXPECT_TRUE(error.contains("already running"));
  ASSERT_TRUE(finished.wait(60000)) << (failed.isEmpty() ? "" : failed.at(0).at(0).toString().toStdString());
  EXPECT_FALSE(controller.isRunning());
  EXPECT_EQ(finished.at(0).at(0).toString(), dir.filePath("cmp"));
  const auto& summaries = controller.summaries();
  ASSERT_EQ(summaries.size(), 2u);
  EXPECT_EQ(summaries[0].name, "baseline");
  EXPECT_EQ(summaries[1].name, "kha-linear");
  ASSERT_EQ(summaries[0].runs.size(), 2u);
  ASSERT_EQ(summaries[1].runs.size(), 2u);
  for (size_t k = 0; k < 2; ++k) {
    EXPECT_EQ(summaries[0].runs[k].seed, 7 + k);  // train.seed 7, then 8
    EXPECT_EQ(summaries[0].runs[k].first_batch_hash, summaries[1].runs[k].first_batch_hash);
  }
  EXPECT_NE(summaries[0].runs[0].first_batch_hash, summaries[0].runs[1].first_batch_hash);  // seeds differ
  EXPECT_EQ(summaries[1].final_val_loss.n, 2);
  ASSERT_TRUE(summaries[1].vs_baseline.has_value());
  EXPECT_EQ(summaries[1].vs_baseline->differences.size(), 2u);
  EXPECT_GT(summaries[1].parameters, summaries[0].parameters);
  EXPECT_TRUE(QFileInfo::exists(dir.filePath("cmp/summary.json")));
  // Each run reported once as it finished, in the seed-major order of a sequential comparison.
  ASSERT_EQ(run_finished.count(), 4);
  EXPECT_EQ(run_finished.at(0).at(0).toString(), "baseline");
  EXPECT_EQ(run_finished.at(0).at(1).toULongLong(), 7u);
  EXPECT_EQ(run_finished.at(1).at(0).toString(), "kha-linear");
  EXPECT_EQ(run_finished.at(3).at(1).toULongLong(), 8u);
  for (const auto& args : run_finished) {
    EXPECT_EQ(args.at(2).toString(), controller.runDirectory(args.at(0).toString(), args.at(1).toULongLong()));
    EXPECT_TRUE(QFileInfo::exists(args.at(2).toString() + "/metrics.jsonl"));
  }
  EXPECT_EQ(controller.runDirectory("mea", 8), dir.filePath("cmp/mea/seed-8"));
  // Every run's last step is reported, whatever the throttle dropped in between.
  ASSERT_FALSE(progress.isEmpty());
  const auto last = progress.last().at(0).value<headlab::run::CompareProgress>();
  EXPECT_EQ(last.run, 3u);
  EXPECT_EQ(last.runs, 4u);
  EXPECT_EQ(last.name, "kha-linear");
  EXPECT_EQ(last.seed, 8u);
  EXPECT_EQ(last.step, 6);
  EXPECT_EQ(last.done_steps, 24);
  EXPECT_EQ(last.total_steps, 24);
}

// Interleaved: the running runs' curves grow on the comparison chart before any run ends.
TEST(CompareCurveFeed, FollowsTheRunningRunsFromTheirMetricsFiles) {
  QTemporaryDir dir;
  CompareController controller;
  headlab::ComparisonChart chart;
  chart.setMetric(headlab::CurveMetric::SmoothedTraining);
  headlab::gui::CompareCurveFeed feed(&controller, &chart);
  QSignalSpy cancelled(&controller, &CompareController::cancelled);
  auto r = request(dir, 100000);
  r.seeds = 2;
  r.interleave = true;
  ASSERT_TRUE(controller.start(r));
  ASSERT_TRUE(QTest::qWaitFor(
      [&] {
        if (chart.rowCount() < 2) return false;
        for (int i = 0; i < 2; ++i)
          if (chart.runCount(i) < 2 || chart.plottedMean(i).size() < 3) return false;
        return true;
      },
      30000));
  EXPECT_EQ(feed.runningRunCount(), 4);
  EXPECT_EQ(chart.rowName(0), "baseline");
  EXPECT_EQ(chart.rowName(1), "kha-linear");
  // Two seeds have the early steps: the band is there.
  EXPECT_TRUE(std::isfinite(chart.plottedHigh(0).front()));
  controller.cancel();
  ASSERT_TRUE(cancelled.wait(30000));
  EXPECT_EQ(feed.runningRunCount(), 0);
  EXPECT_EQ(chart.rowCount(), 2);  // a cancelled comparison's partial curves stay
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

TEST(MainWindowLabs, CompareFromThePanelFillsItsOwnChartAndTableNotTheLossChart) {
  QTemporaryDir dir;
  MainWindow w;
  w.setRunsFolder(dir.filePath("runs"));
  w.experimentPanel()->setConfig(headlab::testing::tinyExperiment(5));
  w.comparePanel()->setCheckedVariants({"baseline", "talking-heads"});
  w.comparePanel()->setInterleaved(true);
  w.comparePanel()->setOutputFolder(QString());
  w.comparePanel()->seedsBox()->setValue(2);
  w.comparePanel()->sweepEdit()->setText("train.lr=3e-3,1e-2");
  w.comparePanel()->startButton()->click();
  ASSERT_TRUE(w.compareController()->isRunning()) << w.comparePanel()->messageLabel()->text().toStdString();
  EXPECT_FALSE(w.comparePanel()->startButton()->isEnabled());
  ASSERT_TRUE(QTest::qWaitFor([&] { return !w.compareController()->isRunning(); }, 120000));
  QTableWidget* table = w.comparePanel()->summaryTable();
  ASSERT_EQ(table->rowCount(), 4) << w.comparePanel()->messageLabel()->text().toStdString();
  // Rows: every variant at the first learning rate, then at the second.
  EXPECT_EQ(table->item(0, headlab::CompareTable::ColVariant)->text(), "baseline@train.lr=0.003");
  EXPECT_EQ(table->item(1, headlab::CompareTable::ColVariant)->text(), "talking-heads@train.lr=0.003");
  EXPECT_EQ(table->item(3, headlab::CompareTable::ColVariant)->text(), "talking-heads@train.lr=0.01");
  EXPECT_EQ(table->item(1, headlab::CompareTable::ColSeeds)->text(), "2");
  const QString verdict = table->item(1, headlab::CompareTable::ColVerdict)->text();
  EXPECT_TRUE(verdict == "lower" || verdict == "higher" || verdict == "within noise") << verdict.toStdString();
  EXPECT_TRUE(table->item(1, headlab::CompareTable::ColValLoss)->text().contains(" ["));  // an interval
  // The seeds and the sweep reached the comparison: two seed folders per row.
  const QString out = w.comparePanel()->resultFolder();
  EXPECT_TRUE(out.startsWith(dir.filePath("runs/compare-custom-")));
  EXPECT_TRUE(QFileInfo::exists(out + "/talking-heads@train.lr=0.01/seed-8/metrics.jsonl"));
  EXPECT_TRUE(QFileInfo::exists(out + "/summary.csv"));
  // Its curves are on its own chart, one row per table row with both seeds; none on the live chart.
  headlab::ComparisonChart* chart = w.comparePanel()->comparisonChart();
  ASSERT_EQ(chart->rowCount(), 4);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(chart->runCount(i), 2);
  EXPECT_EQ(w.lossChart()->overlayCount(), 0);
  EXPECT_TRUE(w.lossChart()->metrics().empty());
  EXPECT_TRUE(w.comparePanel()->startButton()->isEnabled());

  // File > Open comparison (here: the folder given to openPath) brings the same table and curves back.
  MainWindow again;
  QString error;
  ASSERT_TRUE(again.openPath(out, &error)) << error.toStdString();
  ASSERT_EQ(again.comparePanel()->summaryTable()->rowCount(), 4);
  EXPECT_EQ(again.comparePanel()->tableText(), w.comparePanel()->tableText());
  ASSERT_EQ(again.comparePanel()->comparisonChart()->rowCount(), 4);
  EXPECT_EQ(again.comparePanel()->comparisonChart()->plottedMean(3), chart->plottedMean(3));
  EXPECT_FALSE(again.openComparison(dir.filePath("runs"), &error));
  EXPECT_TRUE(error.contains("summary.json")) << error.toStdString();
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

// A live run and a comparison never train at once: each is refused with the reason while the
// other runs (issue #17 item 6).
TEST(CompareInWindow, ALiveRunAndAComparisonDoNotTrainAtOnce) {
  QTemporaryDir dir;
  MainWindow w;
  w.setRunsFolder(dir.filePath("runs"));
  w.experimentPanel()->setConfig(headlab::testing::tinyExperiment(400));
  headlab::CompareChoices choices;
  choices.variants = {"baseline", "kha-linear"};
  choices.out_dir = dir.filePath("cmp");
  QString error;
  ASSERT_TRUE(w.startComparison(choices, &error)) << error.toStdString();
  ASSERT_TRUE(w.compareController()->isRunning());
  EXPECT_FALSE(w.startExperiment(headlab::testing::tinyExperiment(5), &error));
  EXPECT_TRUE(error.contains("comparison is training")) << error.toStdString();
  EXPECT_FALSE(w.feed()->hasSession());
  w.compareController()->cancel();
  ASSERT_TRUE(QTest::qWaitFor([&] { return !w.compareController()->isRunning(); }, 30000));

  ASSERT_TRUE(w.startExperiment(headlab::testing::tinyExperiment(400), &error)) << error.toStdString();
  ASSERT_TRUE(QTest::qWaitFor([&] { return headlab::testing::windowStatus(w).state == RunState::Running; }, 30000));
  choices.out_dir = dir.filePath("cmp2");
  EXPECT_FALSE(w.startComparison(choices, &error));
  EXPECT_TRUE(error.contains("a run is training")) << error.toStdString();
  EXPECT_FALSE(w.compareController()->isRunning());
}

// The text shown for a variant is what it trains with this form: the layout the form has
// and the modules the engine's variant patch leaves.
TEST(CompareInWindow, VariantTextsNameTheirRealModules) {
  MainWindow w;
  auto experiment = headlab::testing::tinyExperiment(10);
  experiment["model"]["attention"] = "gqa";
  experiment["model"]["n_heads"] = 4;
  experiment["model"]["n_kv_heads"] = 2;
  w.experimentPanel()->setConfig(experiment);
  headlab::ComparePanel* panel = w.comparePanel();
  EXPECT_EQ(panel->variantDescription("baseline"), "gqa (4 heads, 2 K/V heads); no interaction modules");
  EXPECT_EQ(panel->variantDescription("kha-mlp"), "gqa (4 heads, 2 K/V heads); KHA q linear, k linear, v mlp");
  EXPECT_EQ(panel->variantDescription("mea"), "gqa (4 heads, 2 K/V heads); MEA with group norm");
  // base: the form as it is (KHA on q and k, talking heads).
  EXPECT_EQ(panel->variantDescription("base"), "gqa (4 heads, 2 K/V heads); KHA q linear, k linear; talking heads");
  panel->setCheckedVariants({"baseline", "base"});
  EXPECT_TRUE(panel->variantsLabel()->text().contains("baseline: gqa (4 heads, 2 K/V heads); no interaction modules"));
  // Edit the form: the texts follow.
  w.experimentPanel()->talkingHeadsBox()->setChecked(false);
  EXPECT_EQ(panel->variantDescription("base"), "gqa (4 heads, 2 K/V heads); KHA q linear, k linear");
}
