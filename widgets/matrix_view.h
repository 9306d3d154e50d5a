#pragma once
// The cross-head matrices of the interaction modules (KHA T_q/T_k/T_v, MEA mix_k/mix_v,
// talking-heads pre/post, ...) as small diverging heatmaps. Every module starts at the
// identity, so "minus identity" mode shows exactly what training has learned so far.
#include <QString>
#include <QStringList>
#include <QWidget>
#include <memory>
#include <vector>

#include "probe/snapshot.h"

class QCustomPlot;
class QCPColorMap;
class QCPTextElement;
class QCPRange;
class QCheckBox;
class QLabel;
class QComboBox;
class QSpinBox;

namespace headlab {

class MatrixView : public QWidget {
  Q_OBJECT

 public:
  // ByLayer: every matrix of one layer. AcrossLayers: one matrix name in every layer
  // (small multiples, one shared colour range so layers compare honestly).
  enum class Arrangement { ByLayer, AcrossLayers };

  explicit MatrixView(QWidget* parent = nullptr);

  void setSnapshot(std::shared_ptr<const ProbeSnapshot> snapshot);
  std::shared_ptr<const ProbeSnapshot> snapshot() const { return snapshot_; }
  void setLayer(int layer);
  int layer() const { return layer_; }
  void setMinusIdentity(bool on);
  bool minusIdentity() const { return minus_identity_; }
  void setArrangement(Arrangement arrangement);
  Arrangement arrangement() const { return arrangement_; }
  // "module.name", e.g. "kha.t_q": the matrix shown in AcrossLayers mode.
  void setMatrixKey(const QString& key);
  QString matrixKey() const { return key_; }
  QStringList matrixKeys() const;  // every "module.name" in the snapshot

  QCustomPlot* plot() const { return plot_; }
  int panelCount() const { return static_cast<int>(panels_.size()); }
  QString panelTitle(int panel) const;
  // The value drawn at (row, col) of a panel: M or M - I depending on the mode.
  double displayedValue(int panel, int row, int col) const;
  // Lower/upper of the panel's colour range (symmetric: lower == -upper).
  double panelRangeUpper(int panel) const;
  // Width over height of one drawn cell in pixels: 1 once the panel is laid out (cells are
  // square whatever the dock's shape; the spare room is left blank).
  double panelCellAspect(int panel) const;

  static QString keyOf(const ModuleMatrix& m);

 signals:
  void layerChanged(int layer);

 private:
  struct Panel {
    const ModuleMatrix* source = nullptr;
    QCPColorMap* map = nullptr;
    QCPTextElement* title_element = nullptr;  // shows `title`, wrapped to its cell's width
    QString title;
    double range = 1.0;
  };

  void rebuild();
  void keepCellsSquare();  // after each layout: ranges that give square cells, readable ticks
  void syncControls();
  static void capToLongestItem(QComboBox* box);  // grows no wider than its longest item needs
  std::vector<const ModuleMatrix*> selectedMatrices() const;

  QCustomPlot* plot_ = nullptr;
  QLabel* layer_label_ = nullptr;
  QSpinBox* layer_box_ = nullptr;
  QComboBox* arrangement_box_ = nullptr;
  QComboBox* key_box_ = nullptr;
  QCheckBox* identity_box_ = nullptr;

  std::shared_ptr<const ProbeSnapshot> snapshot_;
  int layer_ = 0;
  bool minus_identity_ = false;
  Arrangement arrangement_ = Arrangement::ByLayer;
  QString key_;
  std::vector<Panel> panels_;
};

}  // namespace headlab
