// The compare panel: what it asks for (variants, seeds, sweeps), the sweep check as the user
// types, the overall progress line, the summary table with intervals and verdicts, and its
// tab-separated copy.
#include <gtest/gtest.h>

#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTableWidget>
#include <cmath>

#include "compare_panel.h"
#include "compare_progress.h"
#include "compare_table.h"
#include "comparison_chart.h"

using headlab::CompareChoices;
using headlab::ComparePanel;
using headlab::CompareTable;
using headlab::run::RunSummary;
using headlab::run::VariantSummary;

namespace {

RunSummary runOf(uint64_t seed, double val, std::vector<int64_t> spikes = {}) {
  RunSummary r;
  r.seed = seed;
  r.run_dir = "/x/" + std::to_string(seed);
  r.final_train_loss = val + 0.1;
  r.final_val_loss = val;
  r.final_val_loss_se = 0.01;
  r.spike_steps = std::move(spikes);
  r.tokens_per_second = 1000 + double(seed);
  r.parameters = 5000;
  r.first_batch_hash = 100 + seed;  // the same per seed in every variant
  return r;
}

VariantSummary rowOf(const std::string& name, std::vector<RunSummary> runs) {
  VariantSummary s;
  s.name = s.variant = name;
  s.runs = std::move(runs);
  return s;
}

// Baseline 2.0, 2.25, 2.5; kha-linear lower on every seed; mea up, down, up.
std::vector<VariantSummary> knownSummary() {
  std::vector<VariantSummary> rows{
      rowOf("baseline", {runOf(1, 2.0, {10}), runOf(2, 2.25), runOf(3, 2.5)}),
      rowOf("kha-linear", {runOf(1, 1.5, {10, 20}), runOf(2, 1.8), runOf(3, 1.9)}),
      rowOf("mea", {runOf(1, 2.3), runOf(2, 2.0), runOf(3, 2.75)}),
  };
  headlab::run::summarize(rows);
  return rows;
}

}  // namespace

TEST(ComparePanel, StartAsksForTheTickedVariantsSeedsAndSweepOrSaysWhyNot) {
  ComparePanel panel;
  QSignalSpy spy(&panel, &ComparePanel::startRequested);
  panel.setCheckedVariants({});
  panel.setSweepText(QString());
  panel.startButton()->click();
  EXPECT_EQ(spy.count(), 0);
  EXPECT_TRUE(panel.messageLabel()->text().contains("Tick at least one variant"));

  panel.setCheckedVariants({"mea", "baseline", "no-such-variant"});
  panel.setInterleaved(true);
  panel.setOutputFolder("/tmp/cmp");
  panel.seedsBox()->setValue(5);
  panel.sweepEdit()->setText("train.lr=3e-3,1e-2; train.warmup_steps=0,10,20");
  EXPECT_EQ(panel.planLabel()->text(), "2 variants × 6 sweep points × 5 seeds = 60 runs");
  panel.startButton()->click();
  ASSERT_EQ(spy.count(), 1);
  const auto c = spy.at(0).at(0).value<CompareChoices>();
  EXPECT_EQ(c.variants, (QStringList{"baseline", "mea"}));  // the panel's order
  EXPECT_TRUE(c.interleave);
  EXPECT_EQ(c.seeds, 5);
  EXPECT_EQ(c.out_dir, "/tmp/cmp");
  ASSERT_EQ(c.sweeps.size(), 2u);
  EXPECT_EQ(c.sweeps[0].key, "train.lr");
  ASSERT_EQ(c.sweeps[0].values.size(), 2u);
  EXPECT_DOUBLE_EQ(c.sweeps[0].values[1].get<double>(), 1e-2);
  EXPECT_EQ(c.sweeps[1].key, "train.warmup_steps");
  EXPECT_EQ(c.sweeps[1].values.size(), 3u);

  // While running: no second start, Cancel is offered, the choices are frozen.
  panel.setRunning(true);
  EXPECT_FALSE(panel.startButton()->isEnabled());
  EXPECT_FALSE(panel.seedsBox()->isEnabled());
  EXPECT_FALSE(panel.sweepEdit()->isEnabled());
  EXPECT_TRUE(panel.cancelButton()->isEnabled());
  QSignalSpy cancel(&panel, &ComparePanel::cancelRequested);
  panel.cancelButton()->click();
  EXPECT_EQ(cancel.count(), 1);
  panel.requestStart();
  EXPECT_EQ(spy.count(), 1);
}

TEST(ComparePanel, AMalformedSweepIsShownInlineAndBlocksStart) {
  ComparePanel panel;
  panel.setCheckedVariants({"baseline"});
  panel.sweepEdit()->setText("train.lr");  // no values
  EXPECT_FALSE(panel.sweepValid());
  EXPECT_FALSE(panel.startButton()->isEnabled());
  EXPECT_TRUE(panel.planLabel()->text().contains("expected key=v1,v2")) << panel.planLabel()->text().toStdString();
  panel.sweepEdit()->setText("train.lr=1e-3,1e-3");
  EXPECT_TRUE(panel.planLabel()->text().contains("given twice"));
  panel.sweepEdit()->setText("train.lr=1e-3; train.lr=2e-3");
  EXPECT_TRUE(panel.planLabel()->text().contains("swept twice"));
  QSignalSpy spy(&panel, &ComparePanel::startRequested);
  panel.requestStart();  // a shortcut or a tour cannot get past it either
  EXPECT_EQ(spy.count(), 0);
  EXPECT_TRUE(panel.messageLabel()->text().startsWith("Sweep: "));

  panel.sweepEdit()->setText("");
  EXPECT_TRUE(panel.sweepValid());
  EXPECT_TRUE(panel.startButton()->isEnabled());
  panel.seedsBox()->setValue(3);
  EXPECT_EQ(panel.planLabel()->text(), "1 variant × 3 seeds = 3 runs");
  EXPECT_EQ(panel.seedsBox()->minimum(), 1);
  EXPECT_EQ(panel.seedsBox()->maximum(), 20);
  EXPECT_FALSE(panel.seedsBox()->toolTip().isEmpty());
}

TEST(CompareProgress, OneLineWithTheShareDoneAndTheTimeLeft) {
  EXPECT_EQ(headlab::formatDuration(45), "45s");
  EXPECT_EQ(headlab::formatDuration(80), "1m20s");
  EXPECT_EQ(headlab::formatDuration(3900), "1h05m");
  EXPECT_EQ(headlab::formatDuration(-1), "-");
  headlab::run::CompareProgress p;
  p.run = 2;
  p.runs = 12;
  p.name = "kha-linear";
  p.seed = 1235;
  p.done_steps = 41;
  p.total_steps = 100;
  // 41% done in 55.6 s: 59% more takes 80 s at that pace.
  EXPECT_NEAR(headlab::compareSecondsLeft(p, 80.0 * 0.41 / 0.59), 80.0, 1e-9);
  EXPECT_EQ(headlab::compareProgressText(p, 80.0 * 0.41 / 0.59), "run 3/12 (kha-linear seed 1235) · 41% · ETA 1m20s");
  p.done_steps = 0;
  EXPECT_TRUE(std::isnan(headlab::compareSecondsLeft(p, 3)));
  EXPECT_EQ(headlab::compareProgressText(p, 3), "run 3/12 (kha-linear seed 1235) · 0% · ETA …");

  ComparePanel panel;
  panel.setRunning(true);
  p.done_steps = 250;
  p.total_steps = 1000;
  panel.setProgress(p);
  EXPECT_EQ(panel.progressBar()->value(), panel.progressBar()->maximum() / 4);
  EXPECT_TRUE(panel.progressLabel()->text().startsWith("run 3/12 (kha-linear seed 1235) · 25% · ETA "));
}

TEST(ComparePanel, SummaryTableShowsIntervalsVerdictsAndSpikes) {
  ComparePanel panel;
  panel.setRunning(true);
  panel.setSummary("/x", knownSummary());
  EXPECT_FALSE(panel.isRunning());
  QTableWidget* t = panel.summaryTable();
  ASSERT_EQ(t->rowCount(), 3);
  EXPECT_EQ(t->item(0, CompareTable::ColVariant)->text(), "baseline");
  EXPECT_EQ(t->item(0, CompareTable::ColSeeds)->text(), "3");
  EXPECT_EQ(t->item(0, CompareTable::ColValLoss)->text(), "2.2500 [1.6290, 2.8710]");
  EXPECT_EQ(t->item(0, CompareTable::ColDelta)->text(), "(baseline)");
  EXPECT_EQ(t->item(0, CompareTable::ColSpikes)->text(), "1");

  EXPECT_EQ(t->item(1, CompareTable::ColValLoss)->text(), "1.7333 [1.2162, 2.2504]");
  EXPECT_EQ(t->item(1, CompareTable::ColDelta)->text(), "-0.5167 [-0.7064, -0.3269]");
  EXPECT_EQ(t->item(1, CompareTable::ColSameSign)->text(), "3/3");
  EXPECT_EQ(t->item(1, CompareTable::ColVerdict)->text(), "lower");
  EXPECT_EQ(t->item(1, CompareTable::ColVerdict)->foreground().color(), QColor(26, 152, 80));
  EXPECT_EQ(t->item(1, CompareTable::ColSpikes)->text(), "2 (1)");  // step 20 is new, step 10 the baseline had

  EXPECT_EQ(t->item(2, CompareTable::ColDelta)->text(), "+0.1000 [-0.6555, +0.8555]");
  EXPECT_EQ(t->item(2, CompareTable::ColSameSign)->text(), "2/3");
  EXPECT_EQ(t->item(2, CompareTable::ColVerdict)->text(), "within noise");
  EXPECT_TRUE(t->item(2, CompareTable::ColVerdict)->toolTip().contains("contains 0"));
  EXPECT_EQ(t->item(2, CompareTable::ColSpeed)->text(), "1002");
  EXPECT_EQ(t->item(2, CompareTable::ColParameters)->text(), "5000");
  for (int c = 0; c < t->columnCount(); ++c) EXPECT_FALSE(t->horizontalHeaderItem(c)->toolTip().isEmpty()) << c;

  EXPECT_TRUE(panel.openFolderButton()->isEnabled());
  EXPECT_TRUE(panel.copyButton()->isEnabled());
  EXPECT_EQ(panel.resultFolder(), "/x");
  EXPECT_TRUE(panel.messageLabel()->text().contains("9 runs"));
  EXPECT_TRUE(panel.messageLabel()->text().contains("same batches"));

  // One seed: the mean alone, no verdict.
  std::vector<VariantSummary> one{rowOf("baseline", {runOf(1, 2.0)}), rowOf("mea", {runOf(1, 2.5)})};
  headlab::run::summarize(one);
  panel.setSummary("/y", one);
  EXPECT_EQ(t->item(1, CompareTable::ColValLoss)->text(), "2.5000");
  EXPECT_EQ(t->item(1, CompareTable::ColDelta)->text(), "+0.5000");
  EXPECT_EQ(t->item(1, CompareTable::ColVerdict)->text(), "too few seeds");

  auto different = knownSummary();
  different[1].runs[2].first_batch_hash = 7;
  panel.setSummary("/x", different);
  EXPECT_TRUE(panel.messageLabel()->text().contains("different data"));
}

TEST(ComparePanel, TheCopyIsFullPrecisionTsvWithIntervalColumns) {
  ComparePanel panel;
  const auto rows = knownSummary();
  panel.setSummary("/x", rows);
  const QStringList lines = panel.tableText().split('\n', Qt::SkipEmptyParts);
  ASSERT_EQ(lines.size(), 4);
  EXPECT_EQ(lines[0],
            "variant\tseeds\tval loss mean\tval loss sd\tval loss ci low\tval loss ci high\tbaseline\tdiff mean\t"
            "diff ci low\tdiff ci high\tsame sign\tverdict\tspikes\tspikes not in baseline\ttokens/s\tparameters");
  const QStringList base = lines[1].split('\t');
  ASSERT_EQ(base.size(), 16);
  EXPECT_EQ(base[0], "baseline");
  EXPECT_EQ(base[2], "2.25");
  EXPECT_EQ(base[3], "0.25");
  EXPECT_EQ(base[4].toDouble(), rows[0].final_val_loss.ci_low);  // every digit survives the copy
  EXPECT_EQ(base[7], "");  // no difference for the baseline itself
  const QStringList kha = lines[2].split('\t');
  ASSERT_EQ(kha.size(), 16);
  EXPECT_EQ(kha[6], "baseline");
  EXPECT_EQ(kha[7].toDouble(), rows[1].vs_baseline->difference.mean);
  EXPECT_EQ(kha[9].toDouble(), rows[1].vs_baseline->difference.ci_high);
  EXPECT_EQ(kha[10], "3/3");
  EXPECT_EQ(kha[11], "lower");
  EXPECT_EQ(kha[12], "2");
  EXPECT_EQ(kha[13], "1");
  EXPECT_EQ(kha[14].toDouble(), 1002.0);
  EXPECT_EQ(kha[15], "5000");
}

TEST(ComparePanel, HoldsItsOwnComparisonChart) {
  ComparePanel panel;
  ASSERT_NE(panel.comparisonChart(), nullptr);
  EXPECT_EQ(panel.comparisonChart()->rowCount(), 0);
}
