#include <gtest/gtest.h>
#include <qcustomplot.h>

#include <cmath>

#include "loss_chart.h"
#include "smoothing.h"

using headlab::EventRecord;
using headlab::LossChart;
using headlab::MetricPoint;

namespace {
std::vector<MetricPoint> makePoints(int first, int count) {
  std::vector<MetricPoint> pts;
  for (int i = first; i < first + count; ++i) {
    MetricPoint p;
    p.step = i;
    p.loss = 5.0 / (1.0 + 0.1 * i) + 0.05 * ((i % 3) - 1);
    p.lr = 1e-3;
    p.tokens = int64_t(i) * 1024;
    p.elapsed_s = 0.25 * i;
    if (i % 10 == 0) p.val_loss = p.loss + 0.1;
    pts.push_back(p);
  }
  return pts;
}
}  // namespace

TEST(LossChart, AppendTwiceKeepsAllPointsAndSmoothedTail) {
  LossChart chart;
  chart.setSmoothing(0.5);
  const auto a = makePoints(0, 30), b = makePoints(30, 25);
  chart.appendMetrics(a);
  chart.appendMetrics(b);
  EXPECT_EQ(chart.metrics().size(), 55u);
  EXPECT_EQ(chart.plottedRawPointCount(), 55);
  EXPECT_EQ(chart.plottedValidationPointCount(), 6);  // steps 0,10,...,50

  std::vector<double> loss;
  for (const auto& p : a) loss.push_back(p.loss);
  for (const auto& p : b) loss.push_back(p.loss);
  const auto expected = headlab::debiasedEma(loss, 0.5);
  const auto plotted = chart.plottedSmoothedValues();
  ASSERT_EQ(plotted.size(), 55u);
  EXPECT_NEAR(plotted.back(), expected.back(), 1e-12);
  EXPECT_NEAR(chart.smoothedValues().back(), expected.back(), 1e-12);

  // Changing the weight recomputes the whole curve from the kept raw data.
  chart.setSmoothing(0.9);
  EXPECT_NEAR(chart.plottedSmoothedValues().back(), headlab::debiasedEma(loss, 0.9).back(), 1e-12);
}

TEST(LossChart, SmoothedValuesOnSimpleSeries) {
  LossChart chart;
  chart.setSmoothing(0.5);
  std::vector<MetricPoint> pts(3);
  for (int i = 0; i < 3; ++i) pts[i].step = i + 1, pts[i].loss = i + 1;
  chart.appendMetrics(pts);
  const auto s = chart.plottedSmoothedValues();
  ASSERT_EQ(s.size(), 3u);
  EXPECT_NEAR(s[0], 1.0, 1e-4);
  EXPECT_NEAR(s[1], 1.6667, 1e-4);
  EXPECT_NEAR(s[2], 2.4286, 1e-4);
}

TEST(LossChart, EventsBecomeMarkersAtTheirX) {
  LossChart chart;
  chart.appendMetrics(makePoints(0, 100));
  chart.appendEvents({{10, headlab::EventKind::Module, "bypass kha in layer 0"}, {55, headlab::EventKind::Lr, "lr -> 3e-4"}});
  chart.appendEvents({{80, headlab::EventKind::Spike, "loss spike"}});
  ASSERT_EQ(chart.eventMarkerCount(), 3);
  EXPECT_DOUBLE_EQ(chart.eventMarkerX(0), 10);
  EXPECT_DOUBLE_EQ(chart.eventMarkerX(1), 55);
  EXPECT_DOUBLE_EQ(chart.eventMarkerX(2), 80);
  EXPECT_TRUE(chart.eventMarkerLabel(0).startsWith("module: bypass kha"));
  EXPECT_EQ(chart.eventMarkerColor(2), LossChart::colorForEventKind(headlab::EventKind::Spike));
  EXPECT_NE(chart.eventMarkerColor(0), chart.eventMarkerColor(1));

  // On the token axis a marker sits at the tokens seen at its step.
  chart.setXAxisMode(LossChart::XAxisMode::Tokens);
  EXPECT_DOUBLE_EQ(chart.eventMarkerX(1), 55.0 * 1024);
  chart.setXAxisMode(LossChart::XAxisMode::Elapsed);
  EXPECT_DOUBLE_EQ(chart.eventMarkerX(2), 80 * 0.25);
  EXPECT_EQ(chart.plot()->xAxis->label(), "elapsed time (s)");

  chart.clear();
  EXPECT_EQ(chart.eventMarkerCount(), 0);
  EXPECT_EQ(chart.plottedRawPointCount(), 0);
}

TEST(LossChart, ZoomedOutManyPointsDrawsEnvelopeWithSpike) {
  LossChart chart;
  chart.resize(800, 500);
  std::vector<MetricPoint> pts(100000);
  for (int i = 0; i < int(pts.size()); ++i) {
    pts[i].step = i;
    pts[i].loss = 2.0 + 0.01 * std::sin(i * 0.01);
  }
  pts[61234].loss = 40.0;
  chart.appendMetrics(pts);
  ASSERT_TRUE(chart.envelopeShown());
  double hi = 0;
  for (const auto& c : chart.envelopeColumns()) hi = std::max(hi, c.max);
  EXPECT_EQ(hi, 40.0);
  EXPECT_LT(chart.envelopeColumns().size(), 2000u);

  // Zoomed in to fewer points than pixels: back to the plain raw line.
  chart.plot()->xAxis->setRange(61200, 61300);
  EXPECT_FALSE(chart.envelopeShown());
}

TEST(LossChart, OverlaysAndLogScale) {
  LossChart chart;
  chart.appendMetrics(makePoints(0, 20));
  const int graphs = chart.plot()->graphCount();
  chart.addOverlay("baseline", makePoints(0, 40));
  chart.addOverlay("kha", makePoints(0, 30));
  EXPECT_EQ(chart.overlayCount(), 2);
  EXPECT_EQ(chart.plot()->graphCount(), graphs + 2);
  EXPECT_EQ(chart.plot()->graph(graphs)->name(), "baseline");
  EXPECT_NE(chart.plot()->graph(graphs)->pen().color(), chart.plot()->graph(graphs + 1)->pen().color());
  EXPECT_EQ(chart.plot()->graph(graphs + 1)->data()->size(), 30);
  chart.removeOverlays();
  EXPECT_EQ(chart.plot()->graphCount(), graphs);
  chart.addOverlay("long", makePoints(0, 40));

  chart.plot()->xAxis->setRange(3, 9);
  chart.setLogY(true);
  EXPECT_EQ(chart.plot()->yAxis->scaleType(), QCPAxis::stLogarithmic);
  EXPECT_GT(chart.plot()->yAxis->range().lower, 0.0);
  EXPECT_EQ(chart.plot()->xAxis->range(), QCPRange(3, 9));  // log toggle keeps the x zoom
  chart.resetView();
  EXPECT_LE(chart.plot()->xAxis->range().lower, 0.0);
  EXPECT_GE(chart.plot()->xAxis->range().upper, 39.0);  // overlays count when fitting
}

// The smear: a loss jump logged as 10 consecutive spike events (runs from before the
// median detector) is one marker, labelled with its count and step range.
TEST(LossChart, ConsecutiveSpikesAreOneMarker) {
  LossChart chart;
  chart.appendMetrics(makePoints(1, 1000));
  std::vector<EventRecord> spikes;
  for (int s = 812; s < 822; ++s) spikes.push_back({s, headlab::EventKind::Spike, "loss spike"});
  chart.appendEvents(spikes);
  chart.appendEvents({{300, headlab::EventKind::Module, "bypass kha in layer 0"}});
  ASSERT_EQ(chart.eventCount(), 11);
  ASSERT_EQ(chart.eventMarkerCount(), 2);
  EXPECT_DOUBLE_EQ(chart.eventMarkerX(0), 300);
  EXPECT_DOUBLE_EQ(chart.eventMarkerX(1), 812);
  EXPECT_EQ(chart.eventMarkerEventCount(1), 10);
  EXPECT_EQ(chart.eventMarkerLabel(1), "spike ×10 (steps 812-821)");
  EXPECT_EQ(chart.eventMarkerColor(1), LossChart::colorForEventKind(headlab::EventKind::Spike));

  // Zoomed in on the episode, its steps are far apart again: one marker each.
  chart.plot()->xAxis->setRange(805, 830);
  EXPECT_EQ(chart.eventMarkerCount(), 11);
  chart.resetView();
  EXPECT_EQ(chart.eventMarkerCount(), 2);
}

// Events of different kinds at nearly the same step share one marker that names them all,
// coloured by the most alarming one.
TEST(LossChart, NearbyEventsOfDifferentKindsShareAMarker) {
  LossChart chart;
  chart.appendMetrics(makePoints(1, 1000));
  chart.appendEvents({{500, headlab::EventKind::Lr, "lr -> 1e-3"},
                      {502, headlab::EventKind::Module, "insert mea in layer 0"},
                      {503, headlab::EventKind::Module, "bypass kha in layer 1"}});
  ASSERT_EQ(chart.eventMarkerCount(), 1);
  EXPECT_EQ(chart.eventMarkerLabel(0), "lr: lr -> 1e-3; module ×2 (steps 502-503)");
  EXPECT_EQ(chart.eventMarkerColor(0), LossChart::colorForEventKind(headlab::EventKind::Module));
}

// Checkpoints every 200 steps are ticks on the axis, without labels over the curves.
TEST(LossChart, CheckpointsAreTicksWithoutLabels) {
  LossChart chart;
  chart.resize(800, 500);
  chart.show();
  chart.appendMetrics(makePoints(1, 1000));
  for (int s = 200; s <= 1000; s += 200) chart.appendEvents({{s, headlab::EventKind::Checkpoint, "step-" + std::to_string(s)}});
  chart.appendEvents({{350, headlab::EventKind::Checkpoint, "saved by hand"}});
  chart.plot()->replot();
  ASSERT_EQ(chart.eventMarkerCount(), 6);
  for (int i = 0; i < chart.eventMarkerCount(); ++i) {
    EXPECT_TRUE(chart.eventMarkerIsTick(i));
    EXPECT_TRUE(chart.eventMarkerLabelRect(i).isEmpty());
    EXPECT_TRUE(chart.eventMarkerLabel(i).startsWith("checkpoint"));
  }
  // A checkpoint next to an event does not merge into the event's label.
  chart.appendEvents({{401, headlab::EventKind::Module, "freeze kha"}});
  EXPECT_EQ(chart.eventMarkerCount(), 7);
}

// Labels start below the legend where their line passes under it.
TEST(LossChart, EventLabelsStayClearOfTheLegend) {
  LossChart chart;
  chart.resize(900, 500);
  chart.show();
  chart.appendMetrics(makePoints(1, 1000));
  chart.appendEvents({{100, headlab::EventKind::Module, "bypass kha in layer 0"},
                      {930, headlab::EventKind::Lr, "lr -> 3e-4"},
                      {975, headlab::EventKind::Module, "activate kha in layer 0"}});
  chart.plot()->replot();
  chart.plot()->replot();
  const QRect legend = chart.plot()->legend->outerRect();
  ASSERT_TRUE(legend.isValid());
  ASSERT_EQ(chart.eventMarkerCount(), 3);
  int under_legend = 0;
  for (int i = 0; i < chart.eventMarkerCount(); ++i) {
    const QRectF label = chart.eventMarkerLabelRect(i);
    ASSERT_FALSE(label.isEmpty()) << i;
    EXPECT_FALSE(label.intersects(QRectF(legend))) << chart.eventMarkerLabel(i).toStdString();
    const double px = chart.plot()->xAxis->coordToPixel(chart.eventMarkerX(i));
    if (px >= legend.left() && px <= legend.right()) ++under_legend;
  }
  EXPECT_GE(under_legend, 1);  // the test does put a line under the legend
}

// While the timeline replays a probe, the chart marks its step (on any x axis).
TEST(LossChart, ReplayCursorMarksTheReplayedStep) {
  LossChart chart;
  chart.appendMetrics(makePoints(0, 100));
  EXPECT_FALSE(chart.cursorShown());
  chart.setCursorStep(40);
  EXPECT_TRUE(chart.cursorShown());
  EXPECT_DOUBLE_EQ(chart.cursorX(), 40);
  chart.setXAxisMode(LossChart::XAxisMode::Tokens);
  EXPECT_DOUBLE_EQ(chart.cursorX(), 40.0 * 1024);
  chart.setCursorStep(std::nullopt);
  EXPECT_FALSE(chart.cursorShown());
}
