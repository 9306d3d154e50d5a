// File > Follow run directory (issue #15): a run that another process writes shows in the
// window and keeps up as its logs grow, within 2 s of each appended line, a torn last line
// waits for its end, and the status says when the run last changed and that it finished.
#include <gtest/gtest.h>

#include <QLabel>
#include <QStatusBar>
#include <QTemporaryDir>
#include <QTest>
#include <filesystem>
#include <fstream>

#include "loss_chart.h"
#include "main_window.h"
#include "run_follower.h"
#include "tiny_run.h"

using headlab::gui::MainWindow;

namespace {
void append(const QString& file, const std::string& text) {
  std::ofstream out(file.toStdString(), std::ios::app | std::ios::binary);
  out << text;
}
std::string metricLine(int step, double loss) {
  return "{\"step\": " + std::to_string(step) + ", \"loss\": " + std::to_string(loss) +
         ", \"lr\": 0.001, \"tokens\": 100, \"elapsed_s\": 1.0}\n";
}
}  // namespace

TEST(FollowRun, AppendedLinesReachTheChartWithinTwoSecondsAndTheEndIsSaid) {
  QTemporaryDir dir;
  const QString run = dir.filePath("run");
  headlab::testing::makeUnfinishedTinyRun(run.toStdString(), 12, 6);  // no final model: still "running"
  MainWindow w;
  w.show();
  QString error;
  ASSERT_TRUE(w.followRunDirectory(run, &error)) << error.toStdString();
  auto* chart = w.lossChart();
  ASSERT_TRUE(QTest::qWaitFor([&] { return chart->metrics().size() == 6; }, 2000)) << chart->metrics().size();
  EXPECT_TRUE(w.follower()->status().startsWith("Following run: step 6 of 12, updated")) << w.follower()->status().toStdString();

  const QString metrics = run + "/metrics.jsonl";
  append(metrics, metricLine(7, 2.5));
  ASSERT_TRUE(QTest::qWaitFor([&] { return chart->metrics().size() == 7; }, 2000)) << "an appended line within 2 s";
  EXPECT_EQ(chart->metrics().back().step, 7);
  EXPECT_DOUBLE_EQ(chart->metrics().back().loss, 2.5);

  // A write in progress: half a line is not drawn, the rest completes it.
  const std::string line = metricLine(8, 2.25);
  append(metrics, line.substr(0, 20));
  QTest::qWait(3 * headlab::gui::RunFollower::kPollMs);
  EXPECT_EQ(chart->metrics().size(), 7u) << "a torn line was drawn";
  append(metrics, line.substr(20));
  ASSERT_TRUE(QTest::qWaitFor([&] { return chart->metrics().size() == 8; }, 2000));
  EXPECT_DOUBLE_EQ(chart->metrics().back().loss, 2.25);

  // Events too, and the status in the status bar.
  append(run + "/events.jsonl", "{\"step\": 8, \"kind\": \"lr\", \"message\": \"set lr 0.0005\"}\n");
  auto* label = w.findChild<QLabel*>("followStatus");
  ASSERT_NE(label, nullptr);
  ASSERT_TRUE(QTest::qWaitFor([&] { return label->text().contains("step 8 of 12"); }, 2000)) << label->text().toStdString();

  // The final model appears: the run has finished.
  std::filesystem::create_directories(run.toStdString() + "/model");
  std::ofstream(run.toStdString() + "/model/model.safetensors") << "x";
  ASSERT_TRUE(QTest::qWaitFor([&] { return w.follower()->finished(); }, 2000));
  EXPECT_EQ(w.follower()->status(), "Following run: finished at step 8");

  // Opening something else stops following.
  w.stopFollowing();
  EXPECT_FALSE(w.follower()->following());
}

TEST(FollowRun, ALogCutBackByAResumeIsReadAgainAndABadLineStopsWithAMessage) {
  QTemporaryDir dir;
  const QString run = dir.filePath("run");
  headlab::testing::makeUnfinishedTinyRun(run.toStdString(), 12, 6);
  MainWindow w;
  QString error;
  ASSERT_TRUE(w.followRunDirectory(run, &error)) << error.toStdString();
  auto* chart = w.lossChart();
  ASSERT_TRUE(QTest::qWaitFor([&] { return chart->metrics().size() == 6; }, 2000));
  {
    std::ofstream out(run.toStdString() + "/metrics.jsonl", std::ios::trunc);  // cut back to step 2
    out << metricLine(1, 3.0) << metricLine(2, 2.9);
  }
  ASSERT_TRUE(QTest::qWaitFor([&] { return chart->metrics().size() == 2; }, 2000)) << chart->metrics().size();
  append(run + "/metrics.jsonl", "[1, 2]\n");
  ASSERT_TRUE(QTest::qWaitFor([&] { return !w.follower()->following(); }, 2000)) << "a bad line stops following";
  EXPECT_EQ(chart->metrics().size(), 2u);

  EXPECT_FALSE(w.followRunDirectory(dir.filePath("nothing"), &error));
  EXPECT_TRUE(error.contains("not a run directory")) << error.toStdString();
}
