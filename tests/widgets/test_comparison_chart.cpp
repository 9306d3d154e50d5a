// The comparison chart on known metrics files: the mean over seeds per step, its 95% band
// (only where two seeds or more have the step), one colour per variant, Clear; and the tail
// reader that feeds it from runs still being written.
#include <gtest/gtest.h>
#include <qcustomplot.h>

#include <QComboBox>
#include <QPushButton>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <cmath>
#include <fstream>

#include "comparison_chart.h"
#include "comparison_curves.h"
#include "io/run_directory.h"
#include "metrics_tail.h"

using namespace headlab;

namespace {

// A run directory with only metrics.jsonl: training loss every step 1..n, validation at
// the steps given.
std::string writeRun(const QTemporaryDir& dir, const std::string& name, int steps, double loss,
                     const std::vector<std::pair<int, double>>& val) {
  const std::string run = dir.filePath(QString::fromStdString(name)).toStdString();
  std::filesystem::create_directories(run);
  std::ofstream out(run + "/metrics.jsonl");
  for (int s = 1; s <= steps; ++s) {
    out << R"({"step": )" << s << R"(, "loss": )" << loss << R"(, "lr": 0.001, "tokens": )" << 64 * s;
    for (const auto& [step, v] : val)
      if (step == s) out << R"(, "val_loss": )" << v;
    out << "}\n";
  }
  return run;
}

// Student t quantiles at 0.975: 2 and 1 degrees of freedom.
constexpr double kT2 = 4.302652729911275;
constexpr double kT1 = 12.706204736174698;

}  // namespace

TEST(ComparisonCurves, MeanAndIntervalPerStepOverTheSeedsThatHaveIt) {
  QTemporaryDir dir;
  // Three seeds validate at step 5 (1, 2, 3); only two reach step 10 (0.5, 0.7).
  const auto a = io::RunDirectory::read_metrics(writeRun(dir, "a", 10, 2.0, {{5, 1.0}, {10, 0.5}}));
  const auto b = io::RunDirectory::read_metrics(writeRun(dir, "b", 10, 2.0, {{5, 2.0}, {10, 0.7}}));
  const auto c = io::RunDirectory::read_metrics(writeRun(dir, "c", 7, 2.0, {{5, 3.0}}));
  const MeanCurve curve = meanCurve({a, b, c}, CurveMetric::Validation);
  ASSERT_EQ(curve.steps, (std::vector<double>{5, 10}));
  EXPECT_EQ(curve.seeds, (std::vector<int>{3, 2}));
  EXPECT_DOUBLE_EQ(curve.mean[0], 2.0);
  EXPECT_NEAR(curve.low[0], 2.0 - kT2 / std::sqrt(3.0), 1e-9);  // sd 1
  EXPECT_NEAR(curve.high[0], 2.0 + kT2 / std::sqrt(3.0), 1e-9);
  EXPECT_NEAR(curve.mean[1], 0.6, 1e-12);
  EXPECT_NEAR(curve.high[1] - curve.mean[1], kT1 * 0.1, 1e-9);  // sd 0.1414, se 0.1

  const MeanCurve one = meanCurve({c}, CurveMetric::Validation);
  ASSERT_EQ(one.steps.size(), 1u);
  EXPECT_DOUBLE_EQ(one.mean[0], 3.0);
  EXPECT_TRUE(std::isnan(one.low[0]));  // one seed: no band
  EXPECT_TRUE(std::isnan(one.high[0]));
}

TEST(ComparisonCurves, TrainingLossIsSmoothedPerRunThenAveraged) {
  QTemporaryDir dir;
  const auto a = io::RunDirectory::read_metrics(writeRun(dir, "a", 4, 1.0, {}));
  const auto b = io::RunDirectory::read_metrics(writeRun(dir, "b", 4, 3.0, {}));
  // A constant loss stays constant under the debiased EMA: the mean is 2 at every step.
  const MeanCurve curve = meanCurve({a, b}, CurveMetric::SmoothedTraining);
  ASSERT_EQ(curve.steps, (std::vector<double>{1, 2, 3, 4}));
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_NEAR(curve.mean[i], 2.0, 1e-12);
    EXPECT_NEAR(curve.high[i], 2.0 + kT1 * 1.0, 1e-9);  // sd sqrt(2), se 1
  }
  // A diverged step is left out of its step's mean, not averaged in.
  auto diverged = b;
  diverged[1].loss = std::nan("");
  const MeanCurve partial = meanCurve({a, diverged}, CurveMetric::SmoothedTraining);
  EXPECT_EQ(partial.seeds[1], 1);
  EXPECT_NEAR(partial.mean[1], 1.0, 1e-12);
}

TEST(ComparisonChart, DrawsAMeanLineAndBandPerVariantAndClears) {
  QTemporaryDir dir;
  ComparisonChart chart;
  chart.setMetric(CurveMetric::Validation);
  chart.setRunMetrics("baseline", 7, io::RunDirectory::read_metrics(writeRun(dir, "b7", 10, 2, {{5, 1.0}, {10, 0.5}})));
  chart.setRunMetrics("baseline", 8, io::RunDirectory::read_metrics(writeRun(dir, "b8", 10, 2, {{5, 2.0}, {10, 0.7}})));
  chart.setRunMetrics("baseline", 9, io::RunDirectory::read_metrics(writeRun(dir, "b9", 7, 2, {{5, 3.0}})));
  chart.setRunMetrics("mea", 7, io::RunDirectory::read_metrics(writeRun(dir, "m7", 10, 2, {{5, 1.5}, {10, 0.4}})));
  ASSERT_EQ(chart.rowCount(), 2);
  EXPECT_EQ(chart.rowName(0), "baseline");
  EXPECT_EQ(chart.rowName(1), "mea");
  EXPECT_EQ(chart.runCount(0), 3);
  EXPECT_NE(chart.rowColor(0), chart.rowColor(1));

  const auto mean = chart.plottedMean(0);
  ASSERT_EQ(mean.size(), 2u);
  EXPECT_DOUBLE_EQ(mean[0], 2.0);
  EXPECT_NEAR(mean[1], 0.6, 1e-12);
  EXPECT_NEAR(chart.plottedLow(0)[0], 2.0 - kT2 / std::sqrt(3.0), 1e-9);
  EXPECT_NEAR(chart.plottedHigh(0)[1], 0.6 + kT1 * 0.1, 1e-9);
  // One seed: the line only, the band's points are gaps.
  EXPECT_EQ(chart.plottedMean(1), (std::vector<double>{1.5, 0.4}));
  EXPECT_TRUE(std::isnan(chart.plottedLow(1)[0]));
  EXPECT_TRUE(std::isnan(chart.plottedHigh(1)[1]));

  // Replacing a run's metrics (a finished run read whole) does not count it twice.
  chart.setRunMetrics("mea", 7, io::RunDirectory::read_metrics(writeRun(dir, "m7b", 10, 2, {{5, 1.0}, {10, 0.2}})));
  EXPECT_EQ(chart.runCount(1), 1);
  EXPECT_EQ(chart.plottedMean(1), (std::vector<double>{1.0, 0.2}));

  // The toggle: smoothed training loss at every logged step.
  chart.metricBox()->setCurrentIndex(1);
  EXPECT_EQ(chart.metric(), CurveMetric::SmoothedTraining);
  EXPECT_EQ(chart.plottedMean(0).size(), 10u);
  EXPECT_NEAR(chart.plottedMean(0)[9], 2.0, 1e-12);
  chart.setMetric(CurveMetric::Validation);

  QSignalSpy cleared(&chart, &ComparisonChart::cleared);
  chart.clearButton()->click();
  EXPECT_EQ(cleared.count(), 1);
  EXPECT_EQ(chart.rowCount(), 0);
  EXPECT_EQ(chart.plot()->graphCount(), 0);
}

TEST(ComparisonChart, GrowsAsARunningRunAppends) {
  ComparisonChart chart;
  chart.setMetric(CurveMetric::Validation);
  MetricPoint p;
  p.step = 5;
  p.loss = 2;
  p.val_loss = 1.25;
  chart.appendRunMetrics("kha-linear", 1, {p});
  p.step = 10;
  p.val_loss = 1.0;
  chart.appendRunMetrics("kha-linear", 1, {p});
  chart.appendRunMetrics("kha-linear", 1, {});
  ASSERT_EQ(chart.rowCount(), 1);
  EXPECT_EQ(chart.plottedMean(0), (std::vector<double>{1.25, 1.0}));

  // Several seeds at once (what one poll of the running runs brings): seeds 2 and 3 at step 5.
  MetricPoint q = p;
  q.step = 5;
  q.val_loss = 1.75;
  MetricPoint r = q;
  r.val_loss = 2.25;
  chart.appendRunMetrics("kha-linear", std::map<uint64_t, std::vector<MetricPoint>>{{2, {q}}, {3, {r}}});
  EXPECT_EQ(chart.runCount(0), 3);
  EXPECT_EQ(chart.curve(0).seeds, (std::vector<int>{3, 1}));
  EXPECT_DOUBLE_EQ(chart.plottedMean(0)[0], 1.75);  // (1.25 + 1.75 + 2.25) / 3
  EXPECT_NEAR(chart.plottedHigh(0)[0] - 1.75, kT2 * 0.5 / std::sqrt(3.0), 1e-9);  // sd 0.5
  EXPECT_TRUE(std::isnan(chart.plottedHigh(0)[1]));  // step 10: seed 1 alone
}

TEST(MetricsTail, ReturnsOnlyNewCompleteLines) {
  QTemporaryDir dir;
  const std::filesystem::path run = dir.path().toStdString();
  MetricsTail tail(run);
  EXPECT_TRUE(tail.read().points.empty());  // no file yet
  {
    std::ofstream out(run / "metrics.jsonl");
    out << R"({"step": 1, "loss": 2.5})" << "\n" << R"({"step": 2, "lo)";  // the second line is being written
  }
  auto u = tail.read();
  ASSERT_EQ(u.points.size(), 1u);
  EXPECT_EQ(u.points[0].step, 1);
  EXPECT_DOUBLE_EQ(u.points[0].loss, 2.5);
  {
    std::ofstream out(run / "metrics.jsonl", std::ios::app);
    out << R"(ss": 2.25, "val_loss": 2.0})" << "\n";
  }
  u = tail.read();
  ASSERT_EQ(u.points.size(), 1u);
  EXPECT_EQ(u.points[0].step, 2);
  EXPECT_DOUBLE_EQ(*u.points[0].val_loss, 2.0);
  EXPECT_FALSE(u.restarted);
  EXPECT_TRUE(tail.read().points.empty());  // nothing new

  {
    std::ofstream out(run / "metrics.jsonl", std::ios::trunc);  // the run started over
    out << R"({"step": 1, "loss": 3})" << "\n";
  }
  u = tail.read();
  EXPECT_TRUE(u.restarted);
  ASSERT_EQ(u.points.size(), 1u);
  EXPECT_DOUBLE_EQ(u.points[0].loss, 3.0);

  {
    std::ofstream out(run / "metrics.jsonl", std::ios::app);
    out << "not json\n";
  }
  try {
    tail.read();
    FAIL() << "a malformed line must be reported";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("metrics.jsonl:2"), std::string::npos) << e.what();
  }
}
