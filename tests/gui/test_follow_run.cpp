// File > Follow run directory (issue #15): a run that another process writes shows in the
// window and keeps up as its logs grow, within 2 s of each appended line, a torn last line
// waits for its end, and the status says when the run last changed and that it finished.
// Its probes reach the views a live probe reaches: the attention map, the atlas, the heads
// view, the matrices, the module table and the timeline.
#include <gtest/gtest.h>

#include <QAction>
#include <QProgressBar>

#include <QLabel>
#include <qcustomplot.h>
#include <QStatusBar>
#include <QTemporaryDir>
#include <QTest>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "attention_map_view.h"
#include "head_atlas_view.h"
#include "heads_view.h"
#include "loss_chart.h"
#include "main_window.h"
#include "matrix_view.h"
#include "module_panel.h"
#include "probe/probe_json.h"
#include "experiment_panel.h"
#include "probe/probe_record.h"
#include "run_controls.h"
#include "run_follower.h"
#include "timeline_bar.h"
#include "tiny_run.h"

using headlab::gui::MainWindow;

namespace {
void append(const QString& file, const std::string& text) {
  std::ofstream out(file.toStdString(), std::ios::app | std::ios::binary);
  out << text;
}
// The last record of a log, as written.
nlohmann::json lastRecord(const QString& file) {
  std::ifstream in(file.toStdString());
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  return nlohmann::json::parse(last);
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
  // The form shows the followed run's settings, not the defaults; the run panel its progress.
  EXPECT_EQ(w.experimentPanel()->config()["train"]["steps"], 12);
  EXPECT_EQ(w.runControls()->progressBar()->format(), "step 6 / 12");
  EXPECT_TRUE(w.runControls()->progressText().contains("trained by another process")) << w.runControls()->progressText().toStdString();
  EXPECT_TRUE(w.runControls()->startAction()->isEnabled());
  EXPECT_FALSE(w.runControls()->pauseAction()->isEnabled());

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
  EXPECT_EQ(w.runControls()->progressBar()->format(), "step 8 / 12");
  EXPECT_TRUE(w.runControls()->progressText().contains("finished (trained by another process)"))
      << w.runControls()->progressText().toStdString();
  // Following stops: the run panel no longer speaks of the followed run.
  w.stopFollowing();
  EXPECT_EQ(w.runControls()->progressBar()->format(), "not started");

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

TEST(FollowRun, AnAppendedProbeReachesTheProbeViewsWithinTwoSecondsAndATornOneWaits) {
  QTemporaryDir dir;
  const QString run = dir.filePath("run");
  headlab::testing::makeUnfinishedTinyRun(run.toStdString(), 12, 6);
  const QString probes = run + "/probes.jsonl";
  const nlohmann::json written = lastRecord(probes);  // the run's own probe, maps included
  ASSERT_TRUE(written.contains("attention_maps")) << "probes.jsonl records carry the maps";
  const int64_t first_step = written["step"].get<int64_t>();
  MainWindow w;
  w.show();
  QString error;
  ASSERT_TRUE(w.followRunDirectory(run, &error)) << error.toStdString();
  auto* attention = w.attentionView();
  ASSERT_TRUE(QTest::qWaitFor([&] { return attention->snapshot() && attention->snapshot()->step == first_step; }, 2000))
      << "the run's probes so far";
  EXPECT_TRUE(w.headAtlas()->model().hasMaps()) << w.headAtlas()->model().problem().toStdString();
  EXPECT_EQ(w.matrixView()->snapshot(), attention->snapshot());
  EXPECT_EQ(w.headsView()->history().back()->step, first_step);
  // The module table comes from the probe's matrices: the tiny run has KHA and talking heads.
  EXPECT_EQ(w.modulePanel()->layerCount(), 2);
  EXPECT_EQ(w.modulePanel()->state(1, headlab::model::ModuleKind::Kha), headlab::model::ModuleState::Active);
  EXPECT_EQ(w.modulePanel()->state(0, headlab::model::ModuleKind::TalkingHeads), headlab::model::ModuleState::Active);
  EXPECT_EQ(w.modulePanel()->state(0, headlab::model::ModuleKind::Mea), headlab::model::ModuleState::Absent);

  // Another process probes at step 7: its map and statistics show within 2 s.
  nlohmann::json next = written;
  next["step"] = 7;
  next["attention_maps"]["rows"][1][0][3][2] = 0.4321;  // layer 1, head 0, query 3, key 2
  next["heads"][2]["entropy"] = 1.2345;                 // layer 1, head 0
  for (auto& m : next["matrices"])  // the process froze layer 0's KHA
    if (m["layer"] == 0 && m["module"] == "kha") m["state"] = "frozen";
  append(probes, next.dump() + "\n");
  attention->setLayerHead(1, 0);
  ASSERT_TRUE(QTest::qWaitFor([&] { return attention->snapshot()->step == 7; }, 2000)) << "a new probe within 2 s";
  EXPECT_FLOAT_EQ(attention->cellValue(3, 2), 0.4321f);
  EXPECT_EQ(w.headAtlas()->model().snapshot()->step, 7);
  EXPECT_FLOAT_EQ(w.headAtlas()->model().stats(2)->entropy, 1.2345f);
  EXPECT_EQ(w.headsView()->history().back()->step, 7);
  EXPECT_EQ(w.headsView()->history().size(), 2u);
  EXPECT_EQ(w.timeline()->history().back()->step, 7);
  EXPECT_EQ(w.modulePanel()->state(0, headlab::model::ModuleKind::Kha), headlab::model::ModuleState::Frozen);
  EXPECT_EQ(w.modulePanel()->state(1, headlab::model::ModuleKind::Kha), headlab::model::ModuleState::Active);

  // A probe line being written is not shown until its end arrives.
  next["step"] = 8;
  next["attention_maps"]["rows"][1][0][3][2] = 0.125;
  const std::string line = next.dump() + "\n";
  append(probes, line.substr(0, line.size() / 2));
  QTest::qWait(3 * headlab::gui::RunFollower::kPollMs);
  EXPECT_EQ(attention->snapshot()->step, 7) << "a torn probe line was shown";
  EXPECT_TRUE(w.follower()->following());
  append(probes, line.substr(line.size() / 2));
  ASSERT_TRUE(QTest::qWaitFor([&] { return attention->snapshot()->step == 8; }, 2000));
  EXPECT_FLOAT_EQ(attention->cellValue(3, 2), 0.125f);

  // Scrubbing the timeline back shows the earlier probe; Live shows the newest again.
  w.timeline()->showIndex(0);
  EXPECT_EQ(attention->snapshot()->step, first_step);
  w.timeline()->setLive(true);
  EXPECT_EQ(attention->snapshot()->step, 8);
}

TEST(FollowRun, ProbesWithCoarseMapsOrNoMapsShowWhatTheyHave) {
  QTemporaryDir dir;
  const QString run = dir.filePath("run");
  headlab::testing::makeUnfinishedTinyRun(run.toStdString(), 12, 6);
  const QString probes = run + "/probes.jsonl";
  const nlohmann::json written = lastRecord(probes);
  MainWindow w;
  w.show();
  QString error;
  ASSERT_TRUE(w.followRunDirectory(run, &error)) << error.toStdString();
  auto* attention = w.attentionView();
  ASSERT_TRUE(QTest::qWaitFor([&] { return attention->snapshot() != nullptr; }, 2000));

  // A large model's record: its maps in blocks of 2 tokens (written here for the tiny model).
  nlohmann::json coarse = written;
  const int T = coarse["seq_len"].get<int>(), side = (T + 1) / 2;
  nlohmann::json layers = nlohmann::json::array();
  for (int l = 0; l < 2; ++l) {
    nlohmann::json heads = nlohmann::json::array();
    for (int h = 0; h < 2; ++h) {
      nlohmann::json rows = nlohmann::json::array();
      for (int q = 0; q < side; ++q) rows.push_back(std::vector<double>(size_t(q) + 1, 1.0 / (q + 1)));
      heads.push_back(rows);
    }
    layers.push_back(heads);
  }
  coarse["attention_maps"] = {{"block", 2}, {"side", side}, {"rows", layers}};
  coarse["step"] = 7;
  append(probes, coarse.dump() + "\n");
  ASSERT_TRUE(QTest::qWaitFor([&] { return attention->snapshot()->step == 7; }, 2000));
  ASSERT_EQ(attention->tokenLabels().size(), side);
  EXPECT_EQ(attention->tokenLabels().front(), QString::fromUtf8("0\u20131")) << "rows are labelled with their tokens";
  EXPECT_FLOAT_EQ(attention->cellValue(3, 1), 0.25f);
  auto* title = qobject_cast<QCPTextElement*>(attention->plot()->plotLayout()->element(0, 0));
  ASSERT_NE(title, nullptr);
  EXPECT_TRUE(title->text().contains(QString("%1 tokens in blocks of 2").arg(T))) << title->text().toStdString();
  EXPECT_TRUE(w.headAtlas()->model().hasMaps());
  EXPECT_EQ(w.headAtlas()->model().seqLen(), side);

  // A record of an older version: statistics only. The views say what is missing.
  nlohmann::json old = headlab::probe::summary_json(headlab::probe::snapshot_from_record(written));
  old["step"] = 8;
  ASSERT_FALSE(old.contains("attention_maps"));
  append(probes, old.dump() + "\n");
  ASSERT_TRUE(QTest::qWaitFor([&] { return attention->snapshot()->step == 8; }, 2000));
  EXPECT_TRUE(std::isnan(attention->cellValue(1, 0)));
  EXPECT_TRUE(title->text().contains("step 8 has no maps")) << title->text().toStdString();
  EXPECT_FALSE(w.headAtlas()->model().hasMaps());
  EXPECT_TRUE(w.headAtlas()->model().problem().contains("no attention maps"));
  EXPECT_EQ(w.headsView()->history().back()->step, 8);
  EXPECT_EQ(w.headsView()->history().back()->heads.size(), 4u) << "its statistics still show";
  EXPECT_TRUE(w.follower()->following());
}
