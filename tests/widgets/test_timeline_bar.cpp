// The evolution timeline over a hand-made history: which snapshot it shows for a step, Live,
// the slider, playback, and a history that the session decimates while we look.
#include <gtest/gtest.h>

#include <QCheckBox>
#include <QSignalSpy>
#include <QSlider>
#include <QTest>

#include "atlas_test_snapshot.h"
#include "timeline_bar.h"

using headlab::ProbeSnapshot;
using headlab::TimelineBar;

namespace {

TimelineBar::History historyOfSteps(const std::vector<int64_t>& steps) {
  TimelineBar::History h;
  for (int64_t s : steps) h.push_back(atlastest::makeSnapshot(s));
  return h;
}

int64_t stepOf(const QList<QVariant>& signal_args) {
  return signal_args.at(0).value<std::shared_ptr<const ProbeSnapshot>>()->step;
}

}  // namespace

TEST(Timeline, LiveFollowsTheNewestWithoutEmitting) {
  TimelineBar bar;
  QSignalSpy chosen(&bar, &TimelineBar::snapshotChosen);
  EXPECT_TRUE(bar.isLive());
  EXPECT_FALSE(bar.showStep(10));  // nothing to show yet
  bar.setHistory(historyOfSteps({0, 10, 20}));
  EXPECT_TRUE(bar.isLive());
  ASSERT_TRUE(bar.current());
  EXPECT_EQ(bar.current()->step, 20);
  bar.setHistory(historyOfSteps({0, 10, 20, 30}));
  EXPECT_EQ(bar.current()->step, 30);
  EXPECT_EQ(bar.slider()->value(), 3);
  EXPECT_EQ(chosen.count(), 0);  // live probes reach the views from the session feed, not from here
}

TEST(Timeline, ShowsTheNewestSnapshotAtOrBeforeAStep) {
  TimelineBar bar;
  const auto history = historyOfSteps({0, 10, 20, 30, 40});
  bar.setHistory(history);
  QSignalSpy chosen(&bar, &TimelineBar::snapshotChosen);
  QSignalSpy live(&bar, &TimelineBar::liveChanged);

  EXPECT_EQ(bar.snapshotAt(25), history[2]);
  EXPECT_EQ(bar.snapshotAt(40), history[4]);
  EXPECT_EQ(bar.snapshotAt(0), history[0]);
  EXPECT_EQ(bar.snapshotAt(-1), nullptr);

  ASSERT_TRUE(bar.showStep(25));
  EXPECT_FALSE(bar.isLive());
  ASSERT_EQ(live.count(), 1);
  EXPECT_FALSE(live.at(0).at(0).toBool());
  ASSERT_EQ(chosen.count(), 1);
  EXPECT_EQ(stepOf(chosen.at(0)), 20);
  EXPECT_EQ(bar.current(), history[2]);  // the very snapshot, not a copy
  EXPECT_EQ(bar.currentIndex(), 2);
  EXPECT_EQ(bar.slider()->value(), 2);

  // Dragging the slider shows that entry.
  bar.slider()->setValue(1);
  ASSERT_EQ(chosen.count(), 2);
  EXPECT_EQ(stepOf(chosen.at(1)), 10);

  // Before the first probe: the oldest one.
  bar.showStep(-5);
  EXPECT_EQ(bar.current()->step, 0);

  // Live again: the newest, and the window is told to follow the feed.
  bar.setLive(true);
  EXPECT_TRUE(bar.isLive());
  EXPECT_EQ(bar.current()->step, 40);
  EXPECT_TRUE(live.last().at(0).toBool());
}

TEST(Timeline, KeepsTheShownSnapshotWhenTheHistoryIsDecimated) {
  TimelineBar bar;
  auto history = historyOfSteps({0, 10, 20, 30, 40});
  bar.setHistory(history);
  bar.showStep(30);
  ASSERT_EQ(bar.current(), history[3]);
  QSignalSpy chosen(&bar, &TimelineBar::snapshotChosen);

  // New probes arrive while scrubbing: the view stays where the user put it.
  auto more = history;
  more.push_back(atlastest::makeSnapshot(50));
  bar.setHistory(more);
  EXPECT_EQ(bar.current(), history[3]);
  EXPECT_EQ(bar.currentIndex(), 3);
  EXPECT_FALSE(bar.isLive());

  // The session dropped every other entry (30 with them): still shown, slider at its step.
  bar.setHistory({history[0], history[2], history[4], more.back()});
  EXPECT_EQ(bar.current(), history[3]);
  EXPECT_EQ(bar.currentIndex(), 1);  // step 20 is the newest kept entry at or before 30
  EXPECT_EQ(chosen.count(), 0);
}

TEST(Timeline, PlaysFromTheStartToTheNewestAndStops) {
  TimelineBar bar;
  bar.setSpeed(16);
  bar.setHistory(historyOfSteps({0, 10, 20, 30}));
  QSignalSpy chosen(&bar, &TimelineBar::snapshotChosen);
  bar.play();
  EXPECT_TRUE(bar.isPlaying());
  EXPECT_FALSE(bar.isLive());
  ASSERT_TRUE(QTest::qWaitFor([&] { return !bar.isPlaying(); }, 5000));
  std::vector<int64_t> steps;
  for (const auto& args : chosen) steps.push_back(stepOf(args));
  EXPECT_EQ(steps, (std::vector<int64_t>{0, 10, 20, 30}));
  EXPECT_EQ(bar.current()->step, 30);
  EXPECT_FALSE(bar.isLive());  // the replay ends on the newest probe, still frozen

  // Pausing mid-way keeps the position; Live stops playback.
  bar.showIndex(0);
  bar.play();
  bar.pause();
  EXPECT_FALSE(bar.isPlaying());
  bar.play();
  bar.setLive(true);
  EXPECT_FALSE(bar.isPlaying());
}

TEST(Timeline, LiveCheckboxAndRememberedSpeed) {
  {
    TimelineBar bar;
    bar.setHistory(historyOfSteps({0, 10}));
    auto* box = bar.findChild<QCheckBox*>();
    ASSERT_NE(box, nullptr);
    QSignalSpy chosen(&bar, &TimelineBar::snapshotChosen);
    box->setChecked(false);
    EXPECT_FALSE(bar.isLive());
    ASSERT_EQ(chosen.count(), 1);  // freezes on what is on screen: the newest
    EXPECT_EQ(stepOf(chosen.at(0)), 10);
    box->setChecked(true);
    EXPECT_TRUE(bar.isLive());
    bar.setSpeed(8);
  }
  TimelineBar again;
  EXPECT_EQ(again.speed(), 8.0);
}
