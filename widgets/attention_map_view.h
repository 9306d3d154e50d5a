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
class QCPColorScale;
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

 signals:
  void layerHeadChanged(int layer, int head);

 private:
  void redraw();
  void onAfterLayout();
  void updateTicks();
  int tickEvery() const;
  void onMouseMove(QMouseEvent* event);
  int seqLen() const;

  QCustomPlot* plot_ = nullptr;
  QCPColorMap* map_ = nullptr;
  QCPColorScale* scale_ = nullptr;
  QCPTextElement* title_ = nullptr;
  QSpinBox* layer_box_ = nullptr;
  QSpinBox* head_box_ = nullptr;
  QLabel* hover_label_ = nullptr;

  std::shared_ptr<const ProbeSnapshot> snapshot_;
  int layer_ = 0;
  int head_ = 0;
  QStringList labels_;
  int ticks_every_ = 0;  // label spacing of the last layout
};

}  // namespace headlab
