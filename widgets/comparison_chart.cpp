#include "comparison_chart.h"

#include <qcustomplot.h>

#include <QComboBox>
#include <QHBoxLayout>
#include <QPushButton>
#include <QSettings>
#include <QVBoxLayout>
#include <cmath>

#include "plot_theme.h"

namespace headlab {
namespace {

// Tableau 10: rows of one comparison must be told apart at a glance, bands included.
QColor paletteColor(int i) {
  static const QColor colors[] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},
                                  {148, 103, 189}, {140, 86, 75}, {227, 119, 194}, {127, 127, 127},
                                  {188, 189, 34},  {23, 190, 207}};
  return colors[i % 10];
}

std::vector<double> valuesOf(const QCPGraph* g) {
  std::vector<double> out;
  for (auto it = g->data()->constBegin(); it != g->data()->constEnd(); ++it) out.push_back(it->value);
  return out;
}

}  // namespace

ComparisonChart::ComparisonChart(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  auto* row = new QHBoxLayout;
  row->setContentsMargins(4, 2, 4, 0);
  metric_box_ = new QComboBox(this);
  metric_box_->setObjectName("comparisonMetric");
  metric_box_->addItems({tr("validation loss"), tr("training loss (smoothed)")});
  metric_box_->setToolTip(tr("Validation loss is what the table's verdict is about, measured every eval_every steps "
                             "on held-out rows. Training loss is logged every step (smoothed per run before "
                             "the mean): denser, but measured on the batches the model just trained on."));
  clear_button_ = new QPushButton(tr("Clear"), this);
  clear_button_->setObjectName("clearComparisonChart");
  clear_button_->setToolTip(tr("Remove every curve from this chart (the runs stay on disk)."));
  auto* reset = new QPushButton(tr("Reset view"), this);
  reset->setToolTip(tr("Fit all curves and follow new steps again."));
  row->addWidget(metric_box_);
  row->addStretch(1);
  row->addWidget(reset);
  row->addWidget(clear_button_);
  layout->addLayout(row);

  plot_ = new QCustomPlot(this);
  followPaletteTheme(plot_);
  plot_->setToolTip(tr("One colour per variant: the line is the mean over its seeds at each step, the band the 95% "
                       "confidence interval of that mean (shown where at least two seeds reached the step). Bands "
                       "that overlap mean the seeds do not yet tell the variants apart there."));
  plot_->plotLayout()->insertRow(0);
  QFont title_font = font();
  title_font.setBold(true);
  title_ = new QCPTextElement(plot_, QString(), title_font);
  plot_->plotLayout()->addElement(0, 0, title_);
  plot_->xAxis->setLabel(tr("step"));
  plot_->yAxis->setLabel(tr("loss"));
  setUpLineChart(plot_, font(), Qt::AlignTop | Qt::AlignRight);
  layout->addWidget(plot_, 1);

  metric_ = QSettings().value("compare/chartMetric", 0).toInt() == 1 ? CurveMetric::SmoothedTraining
                                                                     : CurveMetric::Validation;
  metric_box_->setCurrentIndex(int(metric_));
  connect(metric_box_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int i) {
    setMetric(static_cast<CurveMetric>(i));
    QSettings().setValue("compare/chartMetric", i);
  });
  connect(clear_button_, &QPushButton::clicked, this, &ComparisonChart::clear);
  connect(reset, &QPushButton::clicked, this, &ComparisonChart::resetView);
  // Manual navigation means the user wants to look somewhere: stop auto-fitting.
  connect(plot_, &QCustomPlot::mousePress, this, [this] { following_ = false; });
  connect(plot_, &QCustomPlot::mouseWheel, this, [this] { following_ = false; });
  updateTitle();
}

ComparisonChart::Row& ComparisonChart::rowFor(const QString& name) {
  for (Row& r : rows_)
    if (r.name == name) return r;
  Row r;
  r.name = name;
  const QColor color = paletteColor(int(rows_.size()));
  // Draw order = creation order: this row's band edges, then its mean on top.
  r.low = plot_->addGraph();
  r.high = plot_->addGraph();
  r.mean = plot_->addGraph();
  QColor edge = color;
  edge.setAlpha(90);
  QColor band = color;
  band.setAlpha(45);
  for (QCPGraph* g : {r.low, r.high}) {
    g->setPen(QPen(edge, 1));
    g->removeFromLegend();
  }
  r.high->setBrush(band);
  r.high->setChannelFillGraph(r.low);
  r.mean->setPen(QPen(color, 2));
  r.mean->setName(name);
  rows_.push_back(std::move(r));
  updateTitle();
  return rows_.back();
}

void ComparisonChart::setRunMetrics(const QString& row, uint64_t seed, std::vector<MetricPoint> points) {
  Row& r = rowFor(row);
  r.runs[seed] = std::move(points);
  rebuild(r);
}

void ComparisonChart::appendRunMetrics(const QString& row, uint64_t seed, const std::vector<MetricPoint>& points) {
  appendRunMetrics(row, {{seed, points}});
}

void ComparisonChart::appendRunMetrics(const QString& row, const std::map<uint64_t, std::vector<MetricPoint>>& by_seed) {
  bool any = false;
  for (const auto& [seed, points] : by_seed) any = any || !points.empty();
  if (!any) return;
  Row& r = rowFor(row);
  for (const auto& [seed, points] : by_seed) {
    auto& run = r.runs[seed];
    run.insert(run.end(), points.begin(), points.end());
  }
  rebuild(r);
}

void ComparisonChart::clear() {
  for (Row& r : rows_)
    for (QCPGraph* g : {r.mean, r.low, r.high}) plot_->removeGraph(g);
  rows_.clear();
  following_ = true;
  updateTitle();
  plot_->replot(QCustomPlot::rpQueuedReplot);
  emit cleared();
}

void ComparisonChart::setMetric(CurveMetric metric) {
  if (metric == metric_) return;
  metric_ = metric;
  {
    const QSignalBlocker block(metric_box_);
    metric_box_->setCurrentIndex(int(metric));
  }
  following_ = true;  // the other metric lives at other steps and values
  updateTitle();
  for (Row& r : rows_) rebuild(r);
}

void ComparisonChart::rebuild(Row& r) {
  std::vector<std::vector<MetricPoint>> runs;
  runs.reserve(r.runs.size());
  for (const auto& [seed, points] : r.runs) runs.push_back(points);
  r.curve = meanCurve(runs, metric_);
  const QVector<double> keys(r.curve.steps.begin(), r.curve.steps.end());
  r.mean->setData(keys, QVector<double>(r.curve.mean.begin(), r.curve.mean.end()), true);
  // NaN where fewer than two seeds have the step: QCustomPlot leaves a gap in the band there.
  r.low->setData(keys, QVector<double>(r.curve.low.begin(), r.curve.low.end()), true);
  r.high->setData(keys, QVector<double>(r.curve.high.begin(), r.curve.high.end()), true);
  r.mean->setName(QStringLiteral("%1 (%2 %3)")
                      .arg(r.name)
                      .arg(r.runs.size())
                      .arg(r.runs.size() == 1 ? tr("seed") : tr("seeds")));
  fitIfFollowing();
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

void ComparisonChart::updateTitle() {
  const QString what = metric_ == CurveMetric::Validation ? tr("Validation loss") : tr("Training loss (smoothed)");
  title_->setText(rows_.empty() ? tr("%1 of the comparison: the curves appear as its runs progress").arg(what)
                                : tr("%1: mean over seeds, band = 95% CI of the mean").arg(what));
}

void ComparisonChart::resetView() {
  following_ = true;
  fitIfFollowing();
  plot_->replot(QCustomPlot::rpQueuedReplot);
}

void ComparisonChart::fitIfFollowing() {
  if (!following_ || rows_.empty()) return;
  plot_->rescaleAxes();
  plot_->yAxis->scaleRange(1.05, plot_->yAxis->range().center());
}

QString ComparisonChart::rowName(int row) const { return rows_.at(size_t(row)).name; }

int ComparisonChart::runCount(int row) const { return int(rows_.at(size_t(row)).runs.size()); }

const MeanCurve& ComparisonChart::curve(int row) const { return rows_.at(size_t(row)).curve; }

std::vector<double> ComparisonChart::plottedMean(int row) const { return valuesOf(rows_.at(size_t(row)).mean); }

std::vector<double> ComparisonChart::plottedLow(int row) const { return valuesOf(rows_.at(size_t(row)).low); }

std::vector<double> ComparisonChart::plottedHigh(int row) const { return valuesOf(rows_.at(size_t(row)).high); }

QColor ComparisonChart::rowColor(int row) const { return rows_.at(size_t(row)).mean->pen().color(); }

}  // namespace headlab
