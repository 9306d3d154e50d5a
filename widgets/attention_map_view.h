#pragma once
// One [T, T] attention map of one head from a probe snapshot, as a QCustomPlot heatmap with
// the probe tokens on both axes. Rows are queries (row 0 at the top, like a matrix), columns
// are keys. The causal mask (keys after the query) is drawn grey, not as zero, so a
// student can tell "not allowed to look" from "chose not to look".
#include <QString>
#include <QStringList>
#include <QWidget>
#include <memory>

#include "probe/snapshot.h"

class QCustomPlot;
class QCPColorMap;
class QCPAxis;
class QCPColorScale;
class QCPItemRect;
class QCPTextElement;
class QLabel;
class QMouseEvent;
class QSpinBox;

namespace headlab {

class AttentionMapView : public QWidget {
  Q_OBJECT

 public:
  explicit AttentionMapView(QWidget* parent = nullptr);

  void setSnapshot(std::shared_ptr<const ProbeSnapshot> snapshot);
  std::shared_ptr<const ProbeSnapshot> snapshot() const { return snapshot_; }
  // Clamped to the snapshot's layers/heads; emits layerHeadChanged when the choice changes.
  void setLayerHead(int layer, int head);
  int layer() const { return layer_; }
  int head() const { return head_; }

  QCustomPlot* plot() const { return plot_; }
  // The value drawn in a cell: the attention weight, NaN for masked (future) cells or when
  // nothing is shown.
  double cellValue(int query, int key) const;
  bool isMasked(int query, int key) const { return key > query; }
  // Token labels as written on the axes (escaped: "\n" shows as \n).
  QStringList tokenLabels() const { return labels_; }
  // What hovering a cell shows, e.g. "query 'cat' (2) -> key 'the' (0): 0.123".
  QString hoverText(int query, int key) const;
  QString hoverLabelText() const;

  // Escapes whitespace/control characters so a token is readable on an axis.
  static QString displayToken(const std::string& token);

  // Axis labels: every token in view is labelled when the labels fit (down to a
  // kMinLabelPointSize font); otherwise one in `stride` is, each with its position, e.g.
  // "a (12)", and the axis title says so: a thinned axis must not read as a shorter sequence.
  static constexpr double kMinLabelPointSize = 7.0;
  int labelStride(Qt::Orientation axis) const { return axis == Qt::Horizontal ? x_stride_ : y_stride_; }
  // Tokens needed by `count` labels of pitch `label_px` in `axis_px` pixels: 1 when they fit.
  static int strideFor(int count, double label_px, int axis_px);

  // The row (query) and column (key) outlined under the mouse; -1 when none.
  void setHoveredCell(int query, int key);
  int hoveredQuery() const { return hover_query_; }
  int hoveredKey() const { return hover_key_; }
  // Zoom (wheel) and pan (drag) stay within the map; a double click shows all of it again.
  void resetZoom();

 signals:
  void layerHeadChanged(int layer, int head);

 private:
  struct AxisPlan {
    int stride = 1;
    double point_size = 0;
    bool operator==(const AxisPlan& o) const { return stride == o.stride && point_size == o.point_size; }
  };
  void redraw();
  void onAfterLayout();
  void updateTicks();
  // The title on one line when it fits the plot's width, else the head on the first line and
  // its role and entropy on a second (a narrow dock cut both ends of one long line).
  // Returns whether the text changed.
  bool fitTitle();
  AxisPlan planAxis(QCPAxis* axis, bool rotated_labels) const;
  void applyAxisPlan(QCPAxis* axis, const AxisPlan& plan, const QString& title);
  void keepRangeInMap(QCPAxis* axis);
  void onMouseMove(QMouseEvent* event);
  bool eventFilter(QObject* watched, QEvent* event) override;
  int seqLen() const;

  QCustomPlot* plot_ = nullptr;
  QCPColorMap* map_ = nullptr;
  QCPColorScale* scale_ = nullptr;
  QCPTextElement* title_ = nullptr;
  QString title_head_, title_detail_;  // the two parts fitTitle() arranges
  QSpinBox* layer_box_ = nullptr;
  QSpinBox* head_box_ = nullptr;
  QLabel* hover_label_ = nullptr;

  std::shared_ptr<const ProbeSnapshot> snapshot_;
  int layer_ = 0;
  int head_ = 0;
  QStringList labels_;
  AxisPlan x_plan_, y_plan_;  // of the last layout
  int x_stride_ = 1, y_stride_ = 1;
  QCPItemRect* row_highlight_ = nullptr;
  QCPItemRect* column_highlight_ = nullptr;
  int hover_query_ = -1, hover_key_ = -1;
};

}  // namespace headlab
