#include "matrix_view.h"

#include <qcustomplot.h>

#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>
#include <QStyle>
#include <QStyleOptionComboBox>
#include <QLabel>
#include <QSpinBox>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <limits>
#include <QMap>
#include <utility>

#include "heatmap_style.h"
#include "plot_theme.h"
#include "title_wrap.h"

namespace headlab {

MatrixView::MatrixView(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  auto* row = new QHBoxLayout;
  row->setContentsMargins(4, 2, 4, 0);
  arrangement_box_ = new QComboBox(this);
  arrangement_box_->addItems({tr("all matrices of a layer"), tr("one matrix across layers")});
  arrangement_box_->setToolTip(tr("Show every module matrix of one layer, or the same matrix in "
                                  "every layer side by side to see how layers differ."));
  layer_box_ = new QSpinBox(this);
  layer_box_->setToolTip(tr("The layer whose interaction-module matrices are shown."));
  key_box_ = new QComboBox(this);
  key_box_->setToolTip(tr("The matrix (module.name) compared across layers."));
  identity_box_ = new QCheckBox(tr("minus identity"), this);
  identity_box_->setToolTip(tr("Subtract the identity: modules start as the identity, so this "
                               "shows only what training changed. White means unchanged."));
  // The combos may shrink (their text elides) rather than make the panel wider than its dock,
  // and grow up to their longest item where the dock has room.
  for (QComboBox* box : {arrangement_box_, key_box_}) {
    box->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    box->setMinimumContentsLength(8);
    box->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
  }
  capToLongestItem(arrangement_box_);
  row->addWidget(arrangement_box_, 1);
  layer_label_ = new QLabel(tr("layer"), this);
  row->addWidget(layer_label_);
  row->addWidget(layer_box_);
  row->addWidget(key_box_, 1);
  row->addWidget(identity_box_);
  row->addStretch(0);  // what the combos, at their longest item, leave over
  layout->addLayout(row);

  plot_ = new QCustomPlot(this);
  followPaletteTheme(plot_);
  plot_->setToolTip(
      tr("Cross-head matrices of the interaction modules. Blue is negative, red positive, "
         "white zero; the title gives the distance from identity, the share of weight off "
         "the diagonal (how much heads mix) and the effective rank."));
  layout->addWidget(plot_, 1);

  connect(arrangement_box_, qOverload<int>(&QComboBox::currentIndexChanged), this,
          [this](int i) { setArrangement(static_cast<Arrangement>(i)); });
  connect(layer_box_, qOverload<int>(&QSpinBox::valueChanged), this, &MatrixView::setLayer);
  connect(key_box_, &QComboBox::currentTextChanged, this, &MatrixView::setMatrixKey);
  connect(identity_box_, &QCheckBox::toggled, this, &MatrixView::setMinusIdentity);
  connect(plot_, &QCustomPlot::afterLayout, this, &MatrixView::keepCellsSquare);
  rebuild();
}

QString MatrixView::keyOf(const ModuleMatrix& m) {
  return QString::fromStdString(m.module) + '.' + QString::fromStdString(m.name);
}

QStringList MatrixView::matrixKeys() const {
  QStringList keys;
  if (snapshot_)
    for (const ModuleMatrix& m : snapshot_->matrices)
      if (!keys.contains(keyOf(m))) keys << keyOf(m);
  return keys;
}

void MatrixView::setSnapshot(std::shared_ptr<const ProbeSnapshot> snapshot) {
  snapshot_ = std::move(snapshot);
  const int layers = snapshot_ ? std::max(1, snapshot_->n_layers) : 1;
  layer_ = std::clamp(layer_, 0, layers - 1);
  const QStringList keys = matrixKeys();
  if (!keys.contains(key_)) key_ = keys.isEmpty() ? QString() : keys.front();
  syncControls();
  rebuild();
}

void MatrixView::setLayer(int layer) {
  const int layers = snapshot_ ? std::max(1, snapshot_->n_layers) : 1;
  layer = std::clamp(layer, 0, layers - 1);
  if (layer == layer_) return;
  layer_ = layer;
  syncControls();
  rebuild();
  emit layerChanged(layer_);
}

void MatrixView::setMinusIdentity(bool on) {
  if (on == minus_identity_) return;
  minus_identity_ = on;
  syncControls();
  rebuild();
}

void MatrixView::setArrangement(Arrangement arrangement) {
  if (arrangement == arrangement_) return;
  arrangement_ = arrangement;
  syncControls();
  rebuild();
}

void MatrixView::setMatrixKey(const QString& key) {
  if (key == key_ || key.isEmpty()) return;
  key_ = key;
  syncControls();
  rebuild();
}

void MatrixView::capToLongestItem(QComboBox* box) {
  int widest = 0;
  for (int i = 0; i < box->count(); ++i) widest = std::max(widest, box->fontMetrics().horizontalAdvance(box->itemText(i)));
  // Room for the frame and the arrow, as the style draws them around the text.
  QStyleOptionComboBox option;
  option.initFrom(box);
  const QSize full = box->style()->sizeFromContents(QStyle::CT_ComboBox, &option, QSize(widest, 0), box);
  box->setMaximumWidth(std::max(full.width(), box->minimumSizeHint().width()));
}

void MatrixView::syncControls() {
  const QSignalBlocker b1(layer_box_), b2(arrangement_box_), b3(key_box_), b4(identity_box_);
  layer_box_->setRange(0, snapshot_ ? std::max(0, snapshot_->n_layers - 1) : 0);
  layer_box_->setValue(layer_);
  arrangement_box_->setCurrentIndex(static_cast<int>(arrangement_));
  const QStringList keys = matrixKeys();
  QStringList listed;
  for (int i = 0; i < key_box_->count(); ++i) listed << key_box_->itemText(i);
  if (listed != keys) {
    key_box_->clear();
    key_box_->addItems(keys);
    capToLongestItem(key_box_);
  }
  key_box_->setCurrentText(key_);
  identity_box_->setChecked(minus_identity_);
  // Only the control the arrangement reads is shown: both side by side made the panel wider
  // than a laptop's dock.
  const bool by_layer = arrangement_ == Arrangement::ByLayer;
  layer_label_->setVisible(by_layer);
  layer_box_->setVisible(by_layer);
  key_box_->setVisible(!by_layer);
}

std::vector<const ModuleMatrix*> MatrixView::selectedMatrices() const {
  std::vector<const ModuleMatrix*> out;
  if (!snapshot_) return out;
  for (const ModuleMatrix& m : snapshot_->matrices) {
    const bool take = arrangement_ == Arrangement::ByLayer ? m.layer == layer_ : keyOf(m) == key_;
    const bool sane = m.matrix.rows > 0 && m.matrix.cols > 0 &&
                      m.matrix.values.size() >= size_t(m.matrix.rows) * m.matrix.cols;
    if (take && sane) out.push_back(&m);
  }
  if (arrangement_ == Arrangement::AcrossLayers)
    std::stable_sort(out.begin(), out.end(),
                     [](const ModuleMatrix* a, const ModuleMatrix* b) { return a->layer < b->layer; });
  return out;
}

void MatrixView::rebuild() {
  // Old colour maps point at axes that the layout clear below deletes: drop them first.
  plot_->clearPlottables();
  plot_->plotLayout()->clear();
  panels_.clear();

  const auto matrices = selectedMatrices();
  if (matrices.empty()) {
    // A followed run's probe record of an older version names its modules but has no values.
    const bool no_values =
        snapshot_ && !snapshot_->matrices.empty() &&
        std::all_of(snapshot_->matrices.begin(), snapshot_->matrices.end(),
                    [](const ModuleMatrix& m) { return m.matrix.values.empty(); });
    const QString why = !snapshot_ ? tr("No probe yet")
                        : no_values ? tr("The probe of step %1 has no matrix values").arg(snapshot_->step)
                        : arrangement_ == Arrangement::ByLayer
                            ? tr("No interaction-module matrices in layer %1").arg(layer_)
                            : tr("No matrix selected");
    plot_->plotLayout()->addElement(0, 0, new QCPTextElement(plot_, why));
    plot_->replot(QCustomPlot::rpQueuedReplot);
    return;
  }

  // Values as drawn, and the colour range: symmetric around 0 so white always means 0.
  std::vector<std::vector<double>> shown;
  double shared_max = 0;
  for (const ModuleMatrix* m : matrices) {
    const PlainMatrix& pm = m->matrix;
    std::vector<double> v(size_t(pm.rows) * pm.cols);
    double mx = 0;
    for (int r = 0; r < pm.rows; ++r)
      for (int c = 0; c < pm.cols; ++c) {
        double x = pm.at(r, c);
        if (minus_identity_ && r == c) x -= 1.0;  // I truncated for non-square matrices
        v[size_t(r) * pm.cols + c] = x;
        if (std::isfinite(x)) mx = std::max(mx, std::abs(x));
      }
    shown.push_back(std::move(v));
    Panel p;
    p.source = m;
    p.range = mx;
    panels_.push_back(p);
    shared_max = std::max(shared_max, mx);
  }

  const int n = int(matrices.size());
  const int grid_cols = int(std::ceil(std::sqrt(double(n))));
  QFont title_font = font();
  title_font.setPointSizeF(title_font.pointSizeF() * 0.85);
  for (int i = 0; i < n; ++i) {
    Panel& p = panels_[size_t(i)];
    const ModuleMatrix& m = *p.source;
    if (arrangement_ == Arrangement::AcrossLayers) p.range = shared_max;
    if (p.range <= 0) p.range = 1.0;  // an all-zero matrix still needs a valid scale
    p.title = tr("L%1 %2\n|M-I| %3  off-diag %4  erank %5")
                  .arg(m.layer).arg(keyOf(m))
                  .arg(m.distance_from_identity, 0, 'f', 3)
                  .arg(m.off_diagonal_mass, 0, 'f', 3)
                  .arg(m.effective_rank, 0, 'f', 2);

    auto* cell = new QCPLayoutGrid;
    plot_->plotLayout()->addElement(i / grid_cols, i % grid_cols, cell);
    auto* rect = new QCPAxisRect(plot_);
    auto* scale = new QCPColorScale(plot_);
    p.title_element = new QCPTextElement(plot_, p.title, title_font);
    // The title's text must not set the panel's minimum width (two titles side by side made
    // the panel wider than a laptop's dock): keepCellsSquare() wraps it to its cell instead.
    p.title_element->setMinimumSize(1, 0);
    cell->addElement(0, 0, p.title_element);
    cell->addElement(1, 0, rect);
    cell->addElement(1, 1, scale);
    cell->setColumnStretchFactor(1, 0.01);
    scale->setBarWidth(8);

    QCPAxis* x = rect->axis(QCPAxis::atBottom);
    QCPAxis* y = rect->axis(QCPAxis::atLeft);
    y->setRangeReversed(true);  // row 0 at the top
    x->setLabel(tr("column"));
    y->setLabel(tr("row"));
    for (QCPAxis* a : {x, y}) {
      auto ticker = QSharedPointer<QCPAxisTickerFixed>::create();
      ticker->setTickStep(1.0);
      ticker->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);  // integer rows, never 2.5
      a->setTicker(ticker);
      a->setSubTicks(false);
      a->grid()->setVisible(false);
    }
    const PlainMatrix& pm = m.matrix;
    p.map = new QCPColorMap(x, y);
    p.map->setInterpolate(false);
    p.map->setTightBoundary(false);
    p.map->setColorScale(scale);  // before the gradient: attaching copies the scale's
    p.map->setGradient(heatmapstyle::divergingGradient());
    QCPColorMapData* d = p.map->data();
    d->setSize(pm.cols, pm.rows);
    d->setRange(QCPRange(0, std::max(pm.cols - 1, 0)), QCPRange(0, std::max(pm.rows - 1, 0)));
    for (int r = 0; r < pm.rows; ++r)
      for (int c = 0; c < pm.cols; ++c) d->setCell(c, r, shown[size_t(i)][size_t(r) * pm.cols + c]);
    p.map->setDataRange(QCPRange(-p.range, p.range));
    x->setRange(-0.5, pm.cols - 0.5);
    y->setRange(-0.5, pm.rows - 0.5);
  }
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

void MatrixView::keepCellsSquare() {
  // A head-by-head matrix read as a rectangle suggests structure that is not there: the axis
  // with room to spare shows more range than the matrix, so every cell stays square.
  bool changed = false;
  // One tick label plus a gap: the widest of "0".."99" along x, a line along y.
  const int label_px = std::max(QFontMetrics(font()).horizontalAdvance(QStringLiteral("88")),
                                QFontMetrics(font()).height()) * 3 / 2;
  bool relayout = false;
  for (const Panel& p : panels_) {
    const QString wrapped = wrapTitleAtGaps(p.title, QFontMetricsF(p.title_element->font()),
                                            p.title_element->outerRect().width() - 4);
    if (p.title_element->text() != wrapped) {
      p.title_element->setText(wrapped);
      relayout = true;
    }
  }
  if (relayout) {
    // A title's new height moves its matrix: lay out again now, so this frame (an export too)
    // has both, before the ranges below are fitted to the axis rects.
    for (auto phase : {QCPLayoutElement::upPreparation, QCPLayoutElement::upMargins, QCPLayoutElement::upLayout})
      plot_->plotLayout()->update(phase);
    changed = true;
  }
  for (const Panel& p : panels_) {
    QCPAxis* x = p.map->keyAxis();
    QCPAxis* y = p.map->valueAxis();
    const QRect r = x->axisRect()->rect();
    if (r.width() < 4 || r.height() < 4) continue;
    const int cols = p.source->matrix.cols, rows = p.source->matrix.rows;
    const double per_px = std::max(cols / double(r.width()), rows / double(r.height()));
    const QCPRange want_x((cols - 1) / 2.0 - r.width() * per_px / 2, (cols - 1) / 2.0 + r.width() * per_px / 2);
    const QCPRange want_y((rows - 1) / 2.0 - r.height() * per_px / 2, (rows - 1) / 2.0 + r.height() * per_px / 2);
    auto differs = [](const QCPRange& a, const QCPRange& b) {
      return std::abs(a.lower - b.lower) > 1e-6 || std::abs(a.upper - b.upper) > 1e-6;
    };
    if (differs(x->range(), want_x) || differs(y->range(), want_y)) {
      x->setRange(want_x);
      y->setRange(want_y);
      changed = true;
    }
    // Ticks on rows and columns that exist (not on the blank margin), every k-th with k the
    // first of 1, 2, 4, 5, 10, ... that keeps labels apart: 16 heads in 150 px get every 4th.
    const double px_per_cell = 1.0 / per_px;
    int step = 1;
    for (int candidate : {1, 2, 4, 5, 10, 20, 25, 50, 100, 200, 500, 1000}) {
      step = candidate;
      if (candidate * px_per_cell >= label_px) break;
    }
    for (auto [axis, n] : {std::pair{x, cols}, std::pair{y, rows}}) {
      auto ticker = axis->ticker().dynamicCast<QCPAxisTickerText>();
      if (!ticker) {
        ticker = QSharedPointer<QCPAxisTickerText>::create();
        axis->setTicker(ticker);
        changed = true;
      }
      QMap<double, QString> ticks;
      for (int i = 0; i < n; i += step) ticks.insert(i, QString::number(i));
      if (ticker->ticks() != ticks) {
        ticker->setTicks(ticks);
        changed = true;
      }
    }
    // This frame's ticks were prepared before this layout: prepare them again, so a frame
    // drawn at once (an exported figure is one layout and one draw) shows these ranges.
    if (changed) x->axisRect()->update(QCPLayoutElement::upPreparation);
  }
  // The ticks of this frame were laid out with the old ranges: draw once more.
  if (changed) plot_->replot(QCustomPlot::rpQueuedReplot);
}

double MatrixView::panelCellAspect(int panel) const {
  const Panel& p = panels_.at(size_t(panel));
  const QCPAxis* x = p.map->keyAxis();
  const QCPAxis* y = p.map->valueAxis();
  const double w = std::abs(x->coordToPixel(1.0) - x->coordToPixel(0.0));
  const double h = std::abs(y->coordToPixel(1.0) - y->coordToPixel(0.0));
  return h > 0 ? w / h : 0.0;
}

QString MatrixView::panelTitle(int panel) const { return panels_.at(size_t(panel)).title; }

double MatrixView::displayedValue(int panel, int row, int col) const {
  const Panel& p = panels_.at(size_t(panel));
  const PlainMatrix& pm = p.source->matrix;
  if (row < 0 || col < 0 || row >= pm.rows || col >= pm.cols)
    return std::numeric_limits<double>::quiet_NaN();
  return p.map->data()->cell(col, row);
}

double MatrixView::panelRangeUpper(int panel) const {
  return panels_.at(size_t(panel)).map->dataRange().upper;
}

}  // namespace headlab
