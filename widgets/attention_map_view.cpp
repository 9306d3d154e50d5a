#include "attention_map_view.h"

#include <qcustomplot.h>

#include <QHBoxLayout>
#include <QLabel>
#include <QSpinBox>
#include <QToolTip>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <limits>

#include "heatmap_style.h"
#include "probe/map_blocks.h"
#include "plot_theme.h"
#include "title_wrap.h"

namespace headlab {

AttentionMapView::AttentionMapView(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  auto* row = new QHBoxLayout;
  row->setContentsMargins(4, 2, 4, 0);
  layer_box_ = new QSpinBox(this);
  head_box_ = new QSpinBox(this);
  layer_box_->setToolTip(tr("Which transformer layer's attention to show (0 = closest to the input)."));
  head_box_->setToolTip(tr("Which attention head of that layer to show."));
  row->addWidget(new QLabel(tr("layer"), this));
  row->addWidget(layer_box_);
  row->addWidget(new QLabel(tr("head"), this));
  row->addWidget(head_box_);
  row->addStretch(1);
  layout->addLayout(row);

  plot_ = new QCustomPlot(this);
  followPaletteTheme(plot_);
  plot_->setToolTip(
      tr("Attention weights of one head: row = the token doing the looking (query), column = "
         "the token looked at (key); each row sums to 1. Grey cells are future tokens the "
         "causal mask hides."));
  layout->addWidget(plot_, 1);
  hover_label_ = new QLabel(this);
  hover_label_->setToolTip(tr("The cell under the mouse."));
  layout->addWidget(hover_label_);

  plot_->plotLayout()->insertRow(0);
  QFont title_font = font();
  title_font.setBold(true);
  title_ = new QCPTextElement(plot_, tr("Attention map"), title_font);
  // Its text must not set the plot's minimum width (a long title made the whole panel wider
  // than a laptop's dock, which then cut it at both ends): fitTitle() wraps it instead.
  title_->setMinimumSize(1, 0);
  plot_->plotLayout()->addElement(0, 0, title_);

  map_ = new QCPColorMap(plot_->xAxis, plot_->yAxis);
  map_->setInterpolate(false);   // one flat cell per (query, key): no invented values
  map_->setTightBoundary(false);
  scale_ = new QCPColorScale(plot_);
  plot_->plotLayout()->addElement(1, 1, scale_);
  scale_->setType(QCPAxis::atRight);
  scale_->axis()->setLabel(tr("attention weight"));
  // Attaching a colour scale copies the scale's gradient onto the map: set ours after.
  map_->setColorScale(scale_);
  map_->setGradient(heatmapstyle::sequentialGradient());
  map_->setDataRange(QCPRange(0.0, 1.0));  // fixed, so maps of different heads compare
  auto* group = new QCPMarginGroup(plot_);
  plot_->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, group);
  scale_->setMarginGroup(QCP::msBottom | QCP::msTop, group);

  plot_->xAxis->setLabel(tr("key (token attended to)"));
  plot_->yAxis->setLabel(tr("query (token attending)"));
  plot_->yAxis->setRangeReversed(true);  // row 0 at the top, like the matrix it is
  plot_->xAxis->setTickLabelRotation(60);
  for (QCPAxis* a : {plot_->xAxis, plot_->yAxis}) {
    a->setSubTicks(false);
    a->grid()->setVisible(false);
  }
  plot_->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
  plot_->setToolTip(plot_->toolTip() + tr(" Wheel zooms, drag pans, double click shows the whole map; the row and "
                                          "column under the mouse are outlined."));

  // Outlines of the hovered query row and key column: reading a weight off a 48 x 48 map
  // without them means counting cells.
  const QPen outline(QColor(255, 64, 64), 1.5);
  for (QCPItemRect** rect : {&row_highlight_, &column_highlight_}) {
    *rect = new QCPItemRect(plot_);
    (*rect)->setPen(outline);
    (*rect)->setBrush(Qt::NoBrush);
    (*rect)->setSelectable(false);
    (*rect)->setVisible(false);
  }
  plot_->installEventFilter(this);  // Leave: the outlines go

  connect(plot_->xAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this, [this] {
    keepRangeInMap(plot_->xAxis);
    updateTicks();
  });
  connect(plot_->yAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this, [this] {
    keepRangeInMap(plot_->yAxis);
    updateTicks();
  });
  connect(plot_, &QCustomPlot::mouseDoubleClick, this, &AttentionMapView::resetZoom);

  auto on_spin = [this] { setLayerHead(layer_box_->value(), head_box_->value()); };
  connect(layer_box_, qOverload<int>(&QSpinBox::valueChanged), this, on_spin);
  connect(head_box_, qOverload<int>(&QSpinBox::valueChanged), this, on_spin);
  connect(plot_, &QCustomPlot::mouseMove, this, &AttentionMapView::onMouseMove);
  connect(plot_, &QCustomPlot::afterLayout, this, &AttentionMapView::onAfterLayout);
  redraw();
}

QString AttentionMapView::displayToken(const std::string& token) {
  QString s = QString::fromStdString(token);
  s.replace('\\', "\\\\").replace('\n', "\\n").replace('\t', "\\t").replace('\r', "\\r");
  return s;
}

int AttentionMapView::seqLen() const {
  if (!snapshot_) return 0;
  const ProbeSnapshot& s = *snapshot_;
  const size_t need = size_t(s.n_layers) * s.n_heads * s.seq_len * s.seq_len;
  // A malformed snapshot shows nothing rather than reading out of bounds.
  if (s.seq_len <= 0 || s.attention.size() < need) return 0;
  return s.seq_len;
}

void AttentionMapView::setSnapshot(std::shared_ptr<const ProbeSnapshot> snapshot) {
  snapshot_ = std::move(snapshot);
  const int layers = snapshot_ ? std::max(1, snapshot_->n_layers) : 1;
  const int heads = snapshot_ ? std::max(1, snapshot_->n_heads) : 1;
  {
    const QSignalBlocker b1(layer_box_), b2(head_box_);
    layer_box_->setRange(0, layers - 1);
    head_box_->setRange(0, heads - 1);
  }
  const int old_layer = layer_, old_head = head_;
  layer_ = std::clamp(layer_, 0, layers - 1);
  head_ = std::clamp(head_, 0, heads - 1);
  {
    const QSignalBlocker b1(layer_box_), b2(head_box_);
    layer_box_->setValue(layer_);
    head_box_->setValue(head_);
  }
  redraw();
  if (layer_ != old_layer || head_ != old_head) emit layerHeadChanged(layer_, head_);
}

void AttentionMapView::setLayerHead(int layer, int head) {
  const int layers = snapshot_ ? std::max(1, snapshot_->n_layers) : 1;
  const int heads = snapshot_ ? std::max(1, snapshot_->n_heads) : 1;
  layer = std::clamp(layer, 0, layers - 1);
  head = std::clamp(head, 0, heads - 1);
  if (layer == layer_ && head == head_) return;
  layer_ = layer;
  head_ = head;
  {
    const QSignalBlocker b1(layer_box_), b2(head_box_);
    layer_box_->setValue(layer_);
    head_box_->setValue(head_);
  }
  redraw();
  emit layerHeadChanged(layer_, head_);
}

void AttentionMapView::redraw() {
  const int T = seqLen();
  const int old_T = labels_.size();
  labels_.clear();
  if (T == 0) {
    setHoveredCell(-1, -1);
    map_->data()->clear();
    title_head_.clear();
    // A probe without maps: a followed run's record of an older version keeps statistics only.
    title_->setText(snapshot_ ? tr("Attention map: the probe of step %1 has no maps").arg(snapshot_->step)
                              : tr("Attention map (no probe yet)"));
    updateTicks();
    plot_->replot(QCustomPlot::rpQueuedReplot);
    return;
  }
  const ProbeSnapshot& s = *snapshot_;
  for (int i = 0; i < T; ++i)
    labels_ << (i < int(s.token_labels.size()) ? displayToken(s.token_labels[size_t(i)])
                                               : QString::number(i));
  // A new probe length shows the whole map; the same length keeps the user's zoom.
  if (T != old_T) resetZoom();
  updateTicks();

  const PlainMatrix m = s.attention_map(layer_, head_);
  QCPColorMapData* d = map_->data();
  d->setSize(T, T);
  d->setRange(QCPRange(0, T - 1), QCPRange(0, T - 1));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (int q = 0; q < T; ++q)
    for (int k = 0; k < T; ++k) d->setCell(k, q, isMasked(q, k) ? nan : double(m.at(q, k)));
  setHoveredCell(hover_query_, hover_key_);  // the same cell of the new map, if it has it

  title_head_ = tr("Layer %1, head %2  (step %3)").arg(layer_).arg(head_).arg(s.step);
  // A followed run's record keeps a large model's maps block-averaged (probe/map_blocks.h):
  // the axes then count blocks, and the title says so.
  if (const auto blocks = probe::map_blocks(s.token_labels))
    title_head_ = tr("Layer %1, head %2  (step %3, %4 tokens in blocks of %5)")
                      .arg(layer_).arg(head_).arg(s.step).arg(blocks->tokens).arg(blocks->block);
  title_detail_.clear();
  const size_t hi = size_t(layer_) * s.n_heads + head_;
  if (hi < s.heads.size() && !s.heads[hi].role.empty())
    title_detail_ = tr("role: %1  entropy %2 nats")  // two spaces: where a narrow title breaks
                        .arg(QString::fromStdString(s.heads[hi].role))
                        .arg(s.heads[hi].entropy, 0, 'f', 2);
  fitTitle();
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

int AttentionMapView::strideFor(int count, double label_px, int axis_px) {
  if (count <= 0 || axis_px <= 0) return 1;
  return std::max(1, int(std::ceil(count * label_px / axis_px)));
}

void AttentionMapView::resetZoom() {
  const int T = std::max(1, int(labels_.size()));
  plot_->xAxis->setRange(-0.5, T - 0.5);
  plot_->yAxis->setRange(-0.5, T - 0.5);
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

void AttentionMapView::keepRangeInMap(QCPAxis* axis) {
  const double lo = -0.5, hi = std::max(1, int(labels_.size())) - 0.5;
  QCPRange r = axis->range();
  if (r.size() > hi - lo) r = QCPRange(lo, hi);  // zoomed out past the map
  if (r.lower < lo) r = QCPRange(lo, lo + r.size());
  if (r.upper > hi) r = QCPRange(hi - r.size(), hi);
  if (r.lower != axis->range().lower || r.upper != axis->range().upper) axis->setRange(r);
}

AttentionMapView::AxisPlan AttentionMapView::planAxis(QCPAxis* axis, bool rotated_labels) const {
  const int T = labels_.size();
  const QCPRange r = axis->range();
  const int first = std::max(0, int(std::ceil(r.lower)));
  const int last = std::min(T - 1, int(std::floor(r.upper)));
  const int count = std::max(0, last - first + 1);
  const int axis_px = axis->orientation() == Qt::Horizontal ? axis->axisRect()->width() : axis->axisRect()->height();
  // A label needs its line height along a vertical axis; rotated by 60 degrees along the
  // horizontal one it needs height / sin(60 degrees). Two pixels keep neighbours apart.
  auto pitch = [&](double point_size) {
    QFont f = font();
    f.setPointSizeF(point_size);
    const double h = QFontMetricsF(f).height();
    return (rotated_labels ? h / std::sin(M_PI / 3) : h) + 2;
  };
  const double base = font().pointSizeF() > 0 ? font().pointSizeF() : 9.0;
  AxisPlan plan;
  // Before the first layout the axis has no length yet: label everything, the layout that
  // follows (afterLayout) plans again with the real length.
  if (axis_px < 50) {
    plan.point_size = base;
    return plan;
  }
  for (double size = base; size >= kMinLabelPointSize; size -= 0.5)
    if (strideFor(count, pitch(size), axis_px) == 1) {
      plan.point_size = size;
      return plan;
    }
  plan.point_size = kMinLabelPointSize;
  plan.stride = strideFor(count, pitch(kMinLabelPointSize), axis_px);
  return plan;
}

void AttentionMapView::applyAxisPlan(QCPAxis* axis, const AxisPlan& plan, const QString& title) {
  auto ticker = QSharedPointer<QCPAxisTickerText>::create();
  const int T = labels_.size();
  for (int i = 0; i < T; i += plan.stride)
    ticker->addTick(i, plan.stride == 1 ? labels_[i] : QStringLiteral("%1 (%2)").arg(labels_[i]).arg(i));
  axis->setTicker(ticker);
  QFont f = font();
  f.setPointSizeF(plan.point_size);
  axis->setTickLabelFont(f);
  // Thinned, the title gets short so that it fits beside the map: the role and the stride;
  // the labels carry their positions, "(12)".
  const QString role = axis->orientation() == Qt::Horizontal ? tr("key") : tr("query");
  axis->setLabel(plan.stride == 1 || T == 0 ? title : tr("%1, 1 label per %2 tokens").arg(role).arg(plan.stride));
}

void AttentionMapView::updateTicks() {
  x_plan_ = planAxis(plot_->xAxis, /*rotated_labels=*/true);
  y_plan_ = planAxis(plot_->yAxis, /*rotated_labels=*/false);
  x_stride_ = x_plan_.stride;
  y_stride_ = y_plan_.stride;
  applyAxisPlan(plot_->xAxis, x_plan_, tr("key (token attended to)"));
  applyAxisPlan(plot_->yAxis, y_plan_, tr("query (token attending)"));
}

bool AttentionMapView::fitTitle() {
  if (title_head_.isEmpty()) return false;
  const QString one_line = title_detail_.isEmpty() ? title_head_ : title_head_ + "  " + title_detail_;
  // The title sits in the map's column of the layout, not above the colour scale too: its own
  // width (once laid out) is what it has, not the whole plot's.
  const double room = title_->outerRect().width() > 0 ? title_->outerRect().width() : plot_->viewport().width();
  // Too wide for one line: the head on one, its role and entropy on the next (each broken at
  // its gaps again where even that is too wide).
  const QFontMetricsF metrics(title_->font());
  const bool fits = metrics.horizontalAdvance(one_line) <= room - 8 || title_detail_.isEmpty();
  const QString text = wrapTitleAtGaps(fits ? one_line : title_head_ + "\n" + title_detail_, metrics, room - 8);
  if (title_->text() == text) return false;
  title_->setText(text);
  return true;
}

void AttentionMapView::onAfterLayout() {
  // The plot was laid out at a new size (window resize, export): re-plan the labels.
  if (labels_.isEmpty()) return;
  if (fitTitle()) {
    // The title's new height moves the map: lay out again now, so that this frame (an export
    // too) already has both.
    for (auto phase : {QCPLayoutElement::upPreparation, QCPLayoutElement::upMargins, QCPLayoutElement::upLayout})
      plot_->plotLayout()->update(phase);
  }
  if (planAxis(plot_->xAxis, true) == x_plan_ && planAxis(plot_->yAxis, false) == y_plan_) return;
  updateTicks();
  // Ticks are prepared before the layout signal: again now, so that a single frame (an export)
  // already has these labels; the queued replot settles margins that the new labels change.
  plot_->axisRect()->update(QCPLayoutElement::upPreparation);
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

void AttentionMapView::setHoveredCell(int query, int key) {
  const int T = seqLen();
  const bool on = query >= 0 && key >= 0 && query < T && key < T;
  hover_query_ = on ? query : -1;
  hover_key_ = on ? key : -1;
  const bool changed = row_highlight_->visible() != on || column_highlight_->visible() != on ||
                       (on && row_highlight_->topLeft->coords().y() != query - 0.5) ||
                       (on && column_highlight_->topLeft->coords().x() != key - 0.5);
  row_highlight_->setVisible(on);
  column_highlight_->setVisible(on);
  if (on) {
    row_highlight_->topLeft->setCoords(-0.5, query - 0.5);
    row_highlight_->bottomRight->setCoords(T - 0.5, query + 0.5);
    column_highlight_->topLeft->setCoords(key - 0.5, -0.5);
    column_highlight_->bottomRight->setCoords(key + 0.5, T - 0.5);
  }
  if (changed) plot_->replot(QCustomPlot::rpQueuedReplot);
}

bool AttentionMapView::eventFilter(QObject* watched, QEvent* event) {
  if (watched == plot_ && event->type() == QEvent::Leave) {
    setHoveredCell(-1, -1);
    hover_label_->clear();
  }
  return QWidget::eventFilter(watched, event);
}

double AttentionMapView::cellValue(int query, int key) const {
  const int T = seqLen();
  if (query < 0 || key < 0 || query >= T || key >= T)
    return std::numeric_limits<double>::quiet_NaN();
  return map_->data()->cell(key, query);
}

QString AttentionMapView::hoverText(int query, int key) const {
  if (query < 0 || key < 0 || query >= labels_.size() || key >= labels_.size()) return {};
  const QString head = tr("query '%1' (%2) -> key '%3' (%4): ")
                           .arg(labels_[query]).arg(query).arg(labels_[key]).arg(key);
  if (isMasked(query, key)) return head + tr("masked (future token)");
  return head + QString::number(cellValue(query, key), 'f', 3);
}

QString AttentionMapView::hoverLabelText() const { return hover_label_->text(); }

void AttentionMapView::onMouseMove(QMouseEvent* event) {
  if (seqLen() == 0) return;
  const QPointF pos = event->position();
  const int key = int(std::lround(plot_->xAxis->pixelToCoord(pos.x())));
  const int query = int(std::lround(plot_->yAxis->pixelToCoord(pos.y())));
  const bool inside = plot_->axisRect()->rect().contains(pos.toPoint());
  const QString text = inside ? hoverText(query, key) : QString();
  setHoveredCell(inside ? query : -1, inside ? key : -1);
  hover_label_->setText(text);
  if (text.isEmpty())
    QToolTip::hideText();
  else
    QToolTip::showText(event->globalPosition().toPoint(), text, plot_);
}

}  // namespace headlab
