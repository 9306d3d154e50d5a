#pragma once
// Live loss curves: train loss (raw + debiased EMA), validation loss, event markers and
// overlaid runs, drawn with QCustomPlot. Full fidelity is kept in memory; when more points
// are in view than there are pixel columns, the raw series is drawn as a min/max band so
// no spike can hide between two pixels.
#include <QColor>
#include <QString>
#include <QWidget>
#include <optional>
#include <string>
#include <vector>

#include "common/records.h"
#include "event_groups.h"
#include "smoothing.h"

class QCustomPlot;
class QCPGraph;
class QCPItemLine;
class QCPItemStraightLine;
class QCPItemText;
class QComboBox;
class QSlider;
class QLabel;
class QCheckBox;

namespace headlab {

class LossChart : public QWidget {
  Q_OBJECT

 public:
  enum class XAxisMode { Step, Tokens, Elapsed };

  explicit LossChart(QWidget* parent = nullptr);

  static constexpr int kMinSliderWidth = 90;
  QSlider* smoothingSlider() const { return smoothing_slider_; }

  // Incremental: the GUI passes only the points it has not passed before.
  void appendMetrics(const std::vector<MetricPoint>& points);
  void appendEvents(const std::vector<EventRecord>& events);
  // Forgets the live run (points, events); overlays stay until removeOverlays().
  void clear();

  // A finished run to compare against, drawn smoothed with its own colour and legend entry.
  void addOverlay(const QString& name, const std::vector<MetricPoint>& points);
  void removeOverlays();

  void setXAxisMode(XAxisMode mode);
  XAxisMode xAxisMode() const { return mode_; }
  // EMA weight a in [0, 1); 0 shows the raw curve only.
  void setSmoothing(double weight);
  double smoothing() const { return weight_; }
  void setLogY(bool on);
  bool logY() const { return log_y_; }
  // Fits all data and follows new points again (wheel/drag stop the following).
  void resetView();
  // A solid line at the step the other views show while the timeline replays an earlier
  // probe; nullopt removes it (live again).
  void setCursorStep(std::optional<int64_t> step);
  std::optional<int64_t> cursorStep() const { return cursor_step_; }
  bool cursorShown() const;
  double cursorX() const;

  QCustomPlot* plot() const { return plot_; }
  const std::vector<MetricPoint>& metrics() const { return points_; }

  // Introspection, mainly for tests.
  const std::vector<double>& smoothedValues() const { return smoothed_; }
  std::vector<double> plottedSmoothedValues() const;  // read back from the plot
  int plottedRawPointCount() const;
  int plottedValidationPointCount() const;
  // One marker per group of nearby events (event_groups.h), in x order. Checkpoints are
  // ticks on the x axis without a drawn label; the others a dashed line and a label that
  // stays clear of the legend.
  int eventMarkerCount() const { return static_cast<int>(markers_.size()); }
  double eventMarkerX(int index) const;
  QString eventMarkerLabel(int index) const;  // the group's whole label (drawn shortened)
  QColor eventMarkerColor(int index) const;
  int eventMarkerEventCount(int index) const;
  bool eventMarkerIsTick(int index) const;
  // Pixel rectangle of the drawn label as last laid out; empty for ticks.
  QRectF eventMarkerLabelRect(int index) const;
  int eventCount() const { return static_cast<int>(events_.size()); }
  bool envelopeShown() const { return envelope_shown_; }
  const std::vector<EnvelopeColumn>& envelopeColumns() const { return envelope_; }
  int overlayCount() const { return static_cast<int>(overlays_.size()); }
  QString overlayName(int index) const { return overlays_.at(size_t(index)).name; }
  const std::vector<MetricPoint>& overlayMetrics(int index) const { return overlays_.at(size_t(index)).points; }

  static QColor colorForEventKind(EventKind kind);

 private:
  struct Overlay {
    QString name;
    std::vector<MetricPoint> points;
    QCPGraph* graph = nullptr;
  };
  struct Marker {
    EventGroup group;
    QCPItemStraightLine* line = nullptr;  // events: a dashed line over the whole height
    QCPItemText* text = nullptr;
    QCPItemLine* tick = nullptr;          // checkpoints: a short tick on the x axis
  };

  void buildControls();
  double xOf(const MetricPoint& p) const;
  double xOfStep(int64_t step) const;
  void rebuildSeries();    // after a change of x mode or smoothing
  void rebuildOverlay(Overlay& overlay);
  void regroupEvents();      // when events, the x mode or the visible range change
  void removeMarkers();
  void placeMarker(Marker& marker);
  void placeLabelsClearOfLegend();  // after each layout: the legend's pixels are known then
  void updateAxisLabels();
  void updateDecimation();  // chooses raw line or min/max band for the current view
  int pixelColumns() const;
  void fitIfFollowing();
  void requestReplot();

  QCustomPlot* plot_ = nullptr;
  QComboBox* x_mode_box_ = nullptr;
  QSlider* smoothing_slider_ = nullptr;
  QLabel* smoothing_label_ = nullptr;
  QCheckBox* log_box_ = nullptr;

  QCPGraph* raw_ = nullptr;
  QCPGraph* env_min_ = nullptr;
  QCPGraph* env_max_ = nullptr;
  QCPGraph* smooth_ = nullptr;
  QCPGraph* val_ = nullptr;

  XAxisMode mode_ = XAxisMode::Step;
  double weight_ = 0.6;
  bool log_y_ = false;
  bool following_ = true;
  bool envelope_shown_ = false;
  int columns_ = 0;  // pixel columns the envelope was last computed for

  std::vector<MetricPoint> points_;
  std::vector<double> xs_;     // x of points_ in the current mode, sorted
  std::vector<double> loss_;
  std::vector<double> smoothed_;
  DebiasedEma ema_;
  std::vector<EnvelopeColumn> envelope_;
  std::vector<Overlay> overlays_;
  std::vector<EventRecord> events_;
  std::vector<Marker> markers_;
  QCPItemStraightLine* cursor_ = nullptr;
  std::optional<int64_t> cursor_step_;
  void placeCursor();
};

}  // namespace headlab
