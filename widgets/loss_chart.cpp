#include "loss_chart.h"

#include <qcustomplot.h>

#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSlider>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <limits>

#include "plot_theme.h"

namespace headlab {
namespace {

const QColor kTrainColor(31, 119, 180);
const QColor kValColor(214, 39, 40);

// Overlays get colours that stay distinct from the live run's blue and red.
QColor overlayColor(int index) {
  static const QColor palette[] = {{255, 127, 14}, {44, 160, 44},  {148, 103, 189},
                                   {140, 86, 75},  {227, 119, 194}, {127, 127, 127},
                                   {188, 189, 34}, {23, 190, 207}};
  return palette[index % (sizeof(palette) / sizeof(palette[0]))];
}

QString xAxisLabel(LossChart::XAxisMode mode) {
  switch (mode) {
    case LossChart::XAxisMode::Tokens: return QObject::tr("tokens seen");
    case LossChart::XAxisMode::Elapsed: return QObject::tr("elapsed time (s)");
    case LossChart::XAxisMode::Step: break;
  }
  return QObject::tr("step");
}

}  // namespace

QColor LossChart::colorForEventKind(EventKind kind) {
  switch (kind) {
    case EventKind::Module: return {148, 103, 189};
    case EventKind::Fold: return {23, 150, 160};
    case EventKind::Lr: return {255, 127, 14};
    case EventKind::Spike: return {214, 39, 40};
    case EventKind::Skip: return {140, 30, 30};
    case EventKind::Checkpoint: return {44, 160, 44};
    case EventKind::Pause: return {127, 127, 127};
    case EventKind::Error: return {200, 0, 0};
    case EventKind::Command:
    case EventKind::Resume: break;
  }
  return {90, 90, 90};
}

LossChart::LossChart(QWidget* parent) : QWidget(parent), ema_(weight_) {
  plot_ = new QCustomPlot(this);
  followPaletteTheme(plot_);
  plot_->setToolTip(
      tr("Training loss per step: the faint line is the raw loss, the bold line its smoothed "
         "trend, red dots are validation loss. Wheel zooms, drag pans, vertical lines mark "
         "events such as module switches or learning-rate changes."));
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  buildControls();
  layout->addWidget(plot_, 1);

  plot_->plotLayout()->insertRow(0);
  QFont title_font = font();
  title_font.setBold(true);
  plot_->plotLayout()->addElement(0, 0, new QCPTextElement(plot_, tr("Training loss"), title_font));
  plot_->yAxis->setLabel(tr("loss"));

  // Draw order = creation order: band below raw below smoothed below validation.
  env_min_ = plot_->addGraph();
  env_max_ = plot_->addGraph();
  raw_ = plot_->addGraph();
  smooth_ = plot_->addGraph();
  val_ = plot_->addGraph();
  QColor faint = kTrainColor;
  faint.setAlpha(80);
  // The band's edges are more opaque than its fill: a one-column spike is only its edge.
  QColor edge = kTrainColor;
  edge.setAlpha(140);
  for (QCPGraph* g : {env_min_, env_max_}) {
    g->setPen(QPen(edge));
    g->setVisible(false);
    g->removeFromLegend();
  }
  QColor band = kTrainColor;
  band.setAlpha(55);
  env_max_->setBrush(band);
  env_max_->setChannelFillGraph(env_min_);
  raw_->setPen(QPen(faint));
  raw_->setName(tr("train loss (raw)"));
  smooth_->setPen(QPen(kTrainColor, 2));
  smooth_->setName(tr("train loss (smoothed)"));
  val_->setPen(QPen(kValColor, 1.5));
  val_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, 5));
  val_->setName(tr("validation loss"));

  setUpLineChart(plot_, font(), Qt::AlignTop | Qt::AlignRight);

  cursor_ = new QCPItemStraightLine(plot_);
  cursor_->setPen(QPen(QColor(90, 90, 90), 2));
  cursor_->setSelectable(false);
  cursor_->setVisible(false);
  for (QCPItemPosition* pos : {cursor_->point1, cursor_->point2}) {
    pos->setAxes(plot_->xAxis, plot_->yAxis);
    pos->setAxisRect(plot_->axisRect());
    pos->setTypeX(QCPItemPosition::ptPlotCoords);
    pos->setTypeY(QCPItemPosition::ptAxisRectRatio);
  }

  // Any manual navigation means the user wants to look somewhere: stop auto-fitting.
  connect(plot_, &QCustomPlot::mousePress, this, [this] { following_ = false; });
  connect(plot_, &QCustomPlot::mouseWheel, this, [this] { following_ = false; });
  connect(plot_->xAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this, [this] {
    updateDecimation();
    regroupEvents();  // "nearby" is a share of the visible range
  });
  // A resize changes the number of pixel columns, hence the band/line choice. afterLayout
  // comes before drawing in the same replot, so the new data is drawn right away.
  connect(plot_, &QCustomPlot::afterLayout, this, [this] {
    if (pixelColumns() != columns_) updateDecimation();
    placeLabelsClearOfLegend();
  });
  updateAxisLabels();
}

void LossChart::buildControls() {
  auto* row = new QHBoxLayout;
  row->setContentsMargins(4, 2, 4, 0);
  x_mode_box_ = new QComboBox(this);
  x_mode_box_->addItems({tr("step"), tr("tokens"), tr("elapsed time")});
  x_mode_box_->setToolTip(tr("What the horizontal axis counts: optimizer steps, training "
                             "tokens seen, or wall-clock seconds since the run started."));
  connect(x_mode_box_, qOverload<int>(&QComboBox::currentIndexChanged), this,
          [this](int i) { setXAxisMode(static_cast<XAxisMode>(i)); });

  smoothing_slider_ = new QSlider(Qt::Horizontal, this);
  smoothing_slider_->setRange(0, 99);
  smoothing_slider_->setValue(static_cast<int>(std::lround(weight_ * 100)));
  smoothing_slider_->setMinimumWidth(kMinSliderWidth);  // a slider squeezed to a dot cannot be set
  smoothing_slider_->setToolTip(
      tr("Weight of the exponential moving average: higher values give a smoother trend line "
         "that reacts later. The raw loss stays visible underneath."));
  smoothing_label_ = new QLabel(this);
  connect(smoothing_slider_, &QSlider::valueChanged, this,
          [this](int v) { setSmoothing(v / 100.0); });

  log_box_ = new QCheckBox(tr("log y"), this);
  log_box_->setToolTip(tr("Logarithmic loss axis: equal ratios get equal heights, which "
                          "shows late, small improvements that a linear axis flattens."));
  connect(log_box_, &QCheckBox::toggled, this, &LossChart::setLogY);

  auto* reset = new QPushButton(tr("Reset view"), this);
  reset->setToolTip(tr("Fit all data and follow new steps again."));
  connect(reset, &QPushButton::clicked, this, &LossChart::resetView);

  row->addWidget(new QLabel(tr("x:"), this));
  row->addWidget(x_mode_box_);
  row->addWidget(new QLabel(tr("smoothing:"), this));
  row->addWidget(smoothing_slider_, 1);
  row->addWidget(smoothing_label_);
  row->addWidget(log_box_);
  row->addWidget(reset);
  static_cast<QVBoxLayout*>(layout())->addLayout(row);
  smoothing_label_->setText(QString::number(weight_, 'f', 2));
}

double LossChart::xOf(const MetricPoint& p) const {
  switch (mode_) {
    case XAxisMode::Tokens: return static_cast<double>(p.tokens);
    case XAxisMode::Elapsed: return p.elapsed_s;
    case XAxisMode::Step: break;
  }
  return static_cast<double>(p.step);
}

// Events only know their step; in token/time mode they sit where the metrics put that step,
// interpolated between the two logged neighbours.
double LossChart::xOfStep(int64_t step) const {
  if (mode_ == XAxisMode::Step) return static_cast<double>(step);
  if (points_.empty()) return std::numeric_limits<double>::quiet_NaN();
  auto it = std::lower_bound(points_.begin(), points_.end(), step,
                             [](const MetricPoint& p, int64_t s) { return p.step < s; });
  if (it == points_.end()) return xOf(points_.back());
  if (it == points_.begin() || it->step == step) return xOf(*it);
  const MetricPoint& a = *(it - 1);
  const MetricPoint& b = *it;
  const double f = double(step - a.step) / double(b.step - a.step);
  return xOf(a) + f * (xOf(b) - xOf(a));
}

void LossChart::appendMetrics(const std::vector<MetricPoint>& points) {
  if (points.empty()) return;
  QVector<double> keys, raw, smooth, val_keys, val;
  keys.reserve(int(points.size()));
  raw.reserve(int(points.size()));
  smooth.reserve(int(points.size()));
  for (const MetricPoint& p : points) {
    const double x = xOf(p);
    const double s = ema_.push(p.loss);
    points_.push_back(p);
    xs_.push_back(x);
    loss_.push_back(p.loss);
    smoothed_.push_back(s);
    keys.push_back(x);
    raw.push_back(p.loss);
    smooth.push_back(s);
    if (p.val_loss) {
      val_keys.push_back(x);
      val.push_back(*p.val_loss);
    }
  }
  raw_->addData(keys, raw, true);
  smooth_->addData(keys, smooth, true);
  if (!val_keys.isEmpty()) val_->addData(val_keys, val, true);
  fitIfFollowing();
  if (mode_ != XAxisMode::Step) {
    regroupEvents();  // events sit where the metrics put their step
    placeCursor();
  }
  updateDecimation();
  requestReplot();
}

void LossChart::appendEvents(const std::vector<EventRecord>& events) {
  if (events.empty()) return;
  events_.insert(events_.end(), events.begin(), events.end());
  regroupEvents();
  requestReplot();
}

void LossChart::removeMarkers() {
  for (Marker& m : markers_)
    for (QCPAbstractItem* item : {static_cast<QCPAbstractItem*>(m.line), static_cast<QCPAbstractItem*>(m.text),
                                  static_cast<QCPAbstractItem*>(m.tick)})
      if (item) plot_->removeItem(item);
  markers_.clear();
}

void LossChart::regroupEvents() {
  std::vector<double> xs;
  xs.reserve(events_.size());
  for (const EventRecord& e : events_) xs.push_back(xOfStep(e.step));
  const double gap = plot_->xAxis->range().size() * kEventGroupFraction;
  std::vector<EventGroup> groups = groupEvents(events_, xs, gap);
  // Following a live run moves the range every poll; rebuild the items only when the
  // grouping itself changed, else just move them.
  bool same = groups.size() == markers_.size();
  for (size_t i = 0; same && i < groups.size(); ++i)
    same = groups[i].events.size() == markers_[i].group.events.size() &&
           groups[i].events.front().step == markers_[i].group.events.front().step &&
           groups[i].events.front().kind == markers_[i].group.events.front().kind;
  if (same) {
    for (size_t i = 0; i < groups.size(); ++i) {
      markers_[i].group = std::move(groups[i]);
      placeMarker(markers_[i]);
    }
    return;
  }
  removeMarkers();
  for (EventGroup& g : groups) {
    Marker m;
    m.group = std::move(g);
    const QColor c = colorForEventKind(m.group.leadKind());
    std::vector<QCPItemPosition*> positions;
    if (m.group.isCheckpoints()) {
      // Saved every few hundred steps, they are context, not news: a tick on the axis.
      m.tick = new QCPItemLine(plot_);
      m.tick->setPen(QPen(c, 2));
      m.tick->setSelectable(false);
      positions = {m.tick->start, m.tick->end};
    } else {
      m.line = new QCPItemStraightLine(plot_);
      m.text = new QCPItemText(plot_);
      m.line->setPen(QPen(c, m.group.events.size() > 1 ? 1.5 : 1, Qt::DashLine));
      m.text->setColor(c);
      QString label = m.group.label();
      if (label.size() > 60) label = label.left(59) + QChar(0x2026);
      m.text->setText(label);
      // Rotated and anchored at the top: the label runs down along the left of its line,
      // so many events stay readable without overlapping horizontally.
      m.text->setRotation(-90);
      m.text->setPositionAlignment(Qt::AlignRight | Qt::AlignBottom);
      positions = {m.line->point1, m.line->point2, m.text->position};
    }
    for (QCPItemPosition* pos : positions) {
      pos->setAxes(plot_->xAxis, plot_->yAxis);
      pos->setAxisRect(plot_->axisRect());
      pos->setTypeX(QCPItemPosition::ptPlotCoords);
      pos->setTypeY(QCPItemPosition::ptAxisRectRatio);
    }
    placeMarker(m);
    markers_.push_back(m);
  }
  placeLabelsClearOfLegend();
}

void LossChart::placeMarker(Marker& m) {
  const double x = m.group.x_first;
  const bool ok = std::isfinite(x);
  if (m.tick) {
    m.tick->setVisible(ok);
    m.tick->start->setCoords(x, 1.0);
    m.tick->end->setCoords(x, 0.965);
    return;
  }
  m.line->setVisible(ok);
  m.text->setVisible(ok);
  m.line->point1->setCoords(x, 0.0);
  m.line->point2->setCoords(x, 1.0);
  m.text->position->setCoords(x, 0.02);
}

void LossChart::placeLabelsClearOfLegend() {
  // The legend sits in the top corner where the labels start: a label whose line passes
  // under it starts below it instead of running beneath its entries.
  const QRect area = plot_->axisRect()->rect();
  if (area.height() < 10) return;
  const bool legend = plot_->legend && plot_->legend->visible() && plot_->legend->itemCount() > 0;
  const QRect box = legend ? plot_->legend->outerRect() : QRect();
  bool moved = false;
  for (Marker& m : markers_) {
    if (!m.text || !m.text->visible()) continue;
    const double px = plot_->xAxis->coordToPixel(m.group.x_first);
    const int label_h = QFontMetrics(m.text->font()).height() + 4;  // it runs left of its line
    const bool under = legend && px >= box.left() && px - label_h <= box.right();
    const double y = under ? double(box.bottom() + 4 - area.top()) / area.height() : 0.02;
    if (std::abs(m.text->position->coords().y() - y) > 1e-9) {
      m.text->position->setCoords(m.group.x_first, y);
      moved = true;
    }
  }
  if (moved) requestReplot();
}

void LossChart::clear() {
  points_.clear();
  xs_.clear();
  loss_.clear();
  smoothed_.clear();
  envelope_.clear();
  ema_.reset();
  for (QCPGraph* g : {raw_, smooth_, val_, env_min_, env_max_}) g->data()->clear();
  events_.clear();
  removeMarkers();
  cursor_step_.reset();
  placeCursor();
  following_ = true;
  updateDecimation();
  requestReplot();
}

void LossChart::addOverlay(const QString& name, const std::vector<MetricPoint>& points) {
  Overlay o;
  o.name = name;
  o.points = points;
  o.graph = plot_->addGraph();
  o.graph->setPen(QPen(overlayColor(int(overlays_.size())), 1.5));
  o.graph->setName(name);
  rebuildOverlay(o);
  overlays_.push_back(std::move(o));
  fitIfFollowing();
  requestReplot();
}

void LossChart::removeOverlays() {
  for (Overlay& o : overlays_) plot_->removeGraph(o.graph);
  overlays_.clear();
  requestReplot();
}

void LossChart::rebuildOverlay(Overlay& o) {
  DebiasedEma ema(weight_);
  QVector<double> keys, values;
  for (const MetricPoint& p : o.points) {
    keys.push_back(xOf(p));
    values.push_back(ema.push(p.loss));
  }
  o.graph->setData(keys, values, true);
}

void LossChart::rebuildSeries() {
  std::vector<MetricPoint> points;
  points.swap(points_);
  xs_.clear();
  loss_.clear();
  smoothed_.clear();
  ema_ = DebiasedEma(weight_);
  for (QCPGraph* g : {raw_, smooth_, val_}) g->data()->clear();
  const bool following = following_;
  following_ = false;  // one fit at the end, not per append
  appendMetrics(points);
  following_ = following;
  for (Overlay& o : overlays_) rebuildOverlay(o);
  fitIfFollowing();
  regroupEvents();
  placeCursor();
  updateDecimation();
  requestReplot();
}

void LossChart::setXAxisMode(XAxisMode mode) {
  if (mode == mode_) return;
  mode_ = mode;
  {
    const QSignalBlocker block(x_mode_box_);
    x_mode_box_->setCurrentIndex(static_cast<int>(mode));
  }
  updateAxisLabels();
  following_ = true;  // the old range means nothing on the new axis
  rebuildSeries();
}

void LossChart::setSmoothing(double weight) {
  weight = std::isfinite(weight) ? std::clamp(weight, 0.0, 0.999) : 0.0;
  if (weight == weight_) return;
  weight_ = weight;
  {
    const QSignalBlocker block(smoothing_slider_);
    smoothing_slider_->setValue(static_cast<int>(std::lround(weight * 100)));
  }
  smoothing_label_->setText(QString::number(weight_, 'f', 2));
  rebuildSeries();
}

void LossChart::setLogY(bool on) {
  if (on == log_y_) return;
  log_y_ = on;
  {
    const QSignalBlocker block(log_box_);
    log_box_->setChecked(on);
  }
  plot_->yAxis->setScaleType(on ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
  if (on)
    plot_->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
  else
    plot_->yAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
  // Only the value axis changes meaning; keep the user's x zoom.
  plot_->yAxis->rescale();
  if (on && plot_->yAxis->range().lower <= 0) plot_->yAxis->setRange(1e-3, plot_->yAxis->range().upper);
  requestReplot();
}

void LossChart::resetView() {
  following_ = true;
  fitIfFollowing();
  updateDecimation();
  requestReplot();
}

void LossChart::updateAxisLabels() { plot_->xAxis->setLabel(xAxisLabel(mode_)); }

int LossChart::pixelColumns() const {
  const int w = plot_->axisRect()->width();
  // Before the first layout the axis rect has no size yet; assume a typical chart width.
  return w > 10 ? w : 600;
}

void LossChart::updateDecimation() {
  columns_ = pixelColumns();
  const QCPRange r = plot_->xAxis->range();
  const auto lo = std::lower_bound(xs_.begin(), xs_.end(), r.lower);
  const auto hi = std::upper_bound(lo, xs_.end(), r.upper);
  const bool band = (hi - lo) > columns_;
  envelope_.clear();
  QVector<double> keys, mins, maxs;
  if (band) {
    // One extra column each side so the band reaches the plot edges while panning.
    const double w = r.size() / columns_;
    envelope_ = minMaxEnvelope(xs_, loss_, r.lower - w, r.upper + w, columns_ + 2);
    keys.reserve(int(envelope_.size()));
    for (const EnvelopeColumn& c : envelope_) {
      keys.push_back(c.x);
      mins.push_back(c.min);
      maxs.push_back(c.max);
    }
  }
  env_min_->setData(keys, mins, true);
  env_max_->setData(keys, maxs, true);
  envelope_shown_ = band;
  raw_->setVisible(!band);
  env_min_->setVisible(band);
  env_max_->setVisible(band);
}

void LossChart::fitIfFollowing() {
  if (!following_ || (points_.empty() && overlays_.empty())) return;
  plot_->rescaleAxes();
  plot_->yAxis->scaleRange(1.05, plot_->yAxis->range().center());
}

void LossChart::requestReplot() { plot_->replot(QCustomPlot::rpQueuedReplot); }

std::vector<double> LossChart::plottedSmoothedValues() const {
  std::vector<double> out;
  for (auto it = smooth_->data()->constBegin(); it != smooth_->data()->constEnd(); ++it)
    out.push_back(it->value);
  return out;
}

int LossChart::plottedRawPointCount() const { return raw_->data()->size(); }
int LossChart::plottedValidationPointCount() const { return val_->data()->size(); }

void LossChart::setCursorStep(std::optional<int64_t> step) {
  cursor_step_ = step;
  placeCursor();
  requestReplot();
}

void LossChart::placeCursor() {
  const double x = cursor_step_ ? xOfStep(*cursor_step_) : std::numeric_limits<double>::quiet_NaN();
  cursor_->setVisible(std::isfinite(x));
  if (std::isfinite(x)) {
    cursor_->point1->setCoords(x, 0.0);
    cursor_->point2->setCoords(x, 1.0);
  }
}

bool LossChart::cursorShown() const { return cursor_->visible(); }

double LossChart::cursorX() const { return cursor_->point1->coords().x(); }

double LossChart::eventMarkerX(int index) const { return markers_.at(size_t(index)).group.x_first; }

QString LossChart::eventMarkerLabel(int index) const { return markers_.at(size_t(index)).group.label(); }

QColor LossChart::eventMarkerColor(int index) const {
  const Marker& m = markers_.at(size_t(index));
  return m.tick ? m.tick->pen().color() : m.line->pen().color();
}

int LossChart::eventMarkerEventCount(int index) const {
  return static_cast<int>(markers_.at(size_t(index)).group.events.size());
}

bool LossChart::eventMarkerIsTick(int index) const { return markers_.at(size_t(index)).tick != nullptr; }

QRectF LossChart::eventMarkerLabelRect(int index) const {
  const Marker& m = markers_.at(size_t(index));
  if (!m.text || !m.text->visible()) return {};
  QPolygonF corners;
  for (QCPItemAnchor* a : {m.text->topLeft, m.text->topRight, m.text->bottomRight, m.text->bottomLeft})
    corners << a->pixelPosition();
  return corners.boundingRect();
}

}  // namespace headlab
