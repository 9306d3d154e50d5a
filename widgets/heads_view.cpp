#include "heads_view.h"

#include <qcustomplot.h>

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QSettings>
#include <QSpinBox>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "heatmap_style.h"
#include "plot_theme.h"
#include "probe/head_stats.h"

namespace headlab {
namespace {

// Distinct line colours (Tableau 10): heads of one layer must be told apart at a glance.
QColor lineColor(int i) {
  static const QColor colors[] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},
                                  {148, 103, 189}, {140, 86, 75}, {227, 119, 194}, {127, 127, 127},
                                  {188, 189, 34},  {23, 190, 207}};
  return colors[i % 10];
}

// A table cell that shows a rounded number but sorts by the exact value.
class NumberItem : public QTableWidgetItem {
 public:
  NumberItem(double value, int decimals) : QTableWidgetItem(QString::number(value, 'f', decimals)) {
    setData(Qt::UserRole, value);
    setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
  }
  bool operator<(const QTableWidgetItem& other) const override {
    return data(Qt::UserRole).toDouble() < other.data(Qt::UserRole).toDouble();
  }
};

QTableWidgetItem* missingAblationItem() {
  // Sorts below every measured head; the text says it was not measured.
  auto* item = new NumberItem(-std::numeric_limits<double>::infinity(), 0);
  item->setText(QStringLiteral("-"));
  item->setToolTip(QObject::tr("Not measured in this probe."));
  return item;
}

QTableWidgetItem* ablationItem(const HeadAblation& a) {
  auto* item = new NumberItem(a.delta, 4);
  const QString value = (a.delta > 0 ? QStringLiteral("+") : QString()) + QString::number(a.delta, 'f', 4);
  const QString se = std::isfinite(a.standard_error) ? QString::number(a.standard_error, 'f', 4)
                                                     : QObject::tr("unknown (too few samples)");
  const QString samples = a.measured_on == "probe text" ? QObject::tr("%1 tokens of the probe text").arg(a.samples)
                                                         : QObject::tr("%1 %2 rows").arg(a.samples).arg(
                                                               QString::fromStdString(a.measured_on));
  QString tip = QObject::tr("Δ loss when this head's output is zeroed: %1 ± %2 (standard error) over %3")
                    .arg(value, se, samples);
  if (a.resolved()) {
    item->setText(value);
    tip += a.delta > 0 ? QObject::tr(".\nThe model needs this head: the loss rises without it.")
                       : QObject::tr(".\nThe loss falls without this head: it hurts more than it helps here.");
  } else {
    item->setText(QStringLiteral("≈0"));
    item->setForeground(QColor(128, 128, 128));
    tip += QObject::tr(".\nWithin two standard errors of 0: not told apart from no effect.");
  }
  item->setToolTip(tip);
  return item;
}

}  // namespace

HeadsView::HeadsView(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  auto* row = new QHBoxLayout;
  row->setContentsMargins(4, 2, 4, 0);
  statistic_box_ = new QComboBox(this);
  for (HeadStatistic s : kAllHeadStatistics) statistic_box_->addItem(QString::fromStdString(statisticName(s)));
  statistic_box_->setToolTip(tr("The statistic to follow over training. Induction: attention on the token after the "
                                "previous occurrence of the current one; previous-token: on the token just before; "
                                "sink: on the first token; entropy: how spread out the attention is."));
  mode_box_ = new QComboBox(this);
  mode_box_->addItems({tr("every head of a layer"), tr("max over heads, per layer")});
  mode_box_->setToolTip(tr("One line per head of the chosen layer, or one line per layer showing its strongest "
                           "head: the quickest way to see when some head of a layer takes on a role."));
  layer_box_ = new QSpinBox(this);
  layer_box_->setToolTip(tr("The layer whose heads are plotted and whose head-similarity matrix is shown."));
  row->addWidget(statistic_box_);
  row->addWidget(mode_box_);
  row->addWidget(new QLabel(tr("layer"), this));
  row->addWidget(layer_box_);
  caption_ = new QLabel(this);
  row->addWidget(caption_, 1);
  layout->addLayout(row);

  chart_ = new QCustomPlot(this);
  followPaletteTheme(chart_);
  chart_->setToolTip(tr("How each head's attention statistic changed over training, one point per probe. A head "
                        "whose induction score jumps above 0.4 has learned to copy what followed the last "
                        "occurrence of the current token."));
  chart_->xAxis->setLabel(tr("step"));
  // Scores usually rise at the right end of the run: keep the legend out of their way.
  setUpLineChart(chart_, font(), Qt::AlignTop | Qt::AlignLeft);

  similarity_ = new QCustomPlot(this);
  followPaletteTheme(similarity_);
  similarity_->setToolTip(tr("How alike the heads of this layer attend on the probe text: 1 (yellow) means two "
                             "heads look at the same tokens, 0 (purple) that they never share a key. Blocks of "
                             "yellow are redundant heads."));
  auto* scale = new QCPColorScale(similarity_);
  similarity_->plotLayout()->addElement(0, 1, scale);
  scale->setBarWidth(8);
  scale->axis()->setLabel(tr("similarity"));
  similarity_map_ = new QCPColorMap(similarity_->xAxis, similarity_->yAxis);
  similarity_map_->setInterpolate(false);
  similarity_map_->setTightBoundary(false);
  similarity_map_->setColorScale(scale);  // before the gradient: attaching copies the scale's
  similarity_map_->setGradient(heatmapstyle::sequentialGradient());
  similarity_map_->setDataRange(QCPRange(0.0, 1.0));  // fixed: 1 always means identical heads
  similarity_->yAxis->setRangeReversed(true);
  similarity_->xAxis->setLabel(tr("head"));
  similarity_->yAxis->setLabel(tr("head"));
  for (QCPAxis* a : {similarity_->xAxis, similarity_->yAxis}) {
    auto ticker = QSharedPointer<QCPAxisTickerFixed>::create();
    ticker->setTickStep(1.0);
    ticker->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
    a->setTicker(ticker);
    a->setSubTicks(false);
    a->grid()->setVisible(false);
  }

  table_ = new QTableWidget(0, kRoleColumns, this);
  table_->setHorizontalHeaderLabels({tr("layer"), tr("head"), tr("role"), tr("entropy"), tr("prev-token"),
                                     tr("induction"), tr("sink"), tr("self"), tr("distance"), tr("ablation Δ")});
  table_->horizontalHeaderItem(ColAblation)
      ->setToolTip(tr("How much the loss rises when this head's output is zeroed (on validation rows, or on the "
                      "probe text): the head's share of the work. ≈0 in grey: less than two standard errors "
                      "from 0, so not told apart from no effect. Hover a cell for the value ± its standard "
                      "error."));
  table_->setToolTip(tr("Every head of the newest probe with the role its statistics suggest and the loss change "
                        "when it is zeroed. Click a column header to sort, e.g. by induction to find the induction "
                        "heads."));
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->verticalHeader()->setVisible(false);
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  table_->setSortingEnabled(true);
  table_->sortByColumn(ColLayer, Qt::AscendingOrder);  // the header's default order is descending

  job_shares_ = new QLabel(this);
  job_shares_->setObjectName("jobShares");
  job_shares_->setWordWrap(true);
  job_shares_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  job_shares_->setToolTip(tr("How each layer shares the previous-token and induction jobs among its heads: the best "
                             "head and its score, and the sums of the 2 and 3 highest scores. A layer can do a job "
                             "with no head above the role threshold (0.4) when it is split over heads: then top-2 "
                             "or top-3 is high while the best head alone is not."));
  auto* table_box = new QWidget(this);
  auto* table_layout = new QVBoxLayout(table_box);
  table_layout->setContentsMargins(0, 0, 0, 0);
  table_layout->addWidget(table_, 1);
  table_layout->addWidget(job_shares_);

  auto* bottom = new QSplitter(Qt::Horizontal, this);
  bottom->addWidget(similarity_);
  bottom->addWidget(table_box);
  bottom->setSizes({320, 480});  // room for a square matrix next to the table
  auto* split = new QSplitter(Qt::Vertical, this);
  split->addWidget(chart_);
  split->addWidget(bottom);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);
  // A chart squeezed to a strip shows no trend: below these sizes the dock scrolls instead.
  split->setChildrenCollapsible(false);
  bottom->setChildrenCollapsible(false);
  chart_->setMinimumHeight(kMinChartHeight);
  similarity_->setMinimumSize(kMinChartHeight, kMinChartHeight);
  table_->setMinimumHeight(kMinChartHeight);
  caption_->setWordWrap(true);
  layout->addWidget(split, 1);

  QSettings settings;
  const int stat = settings.value("heads/statistic", int(HeadStatistic::Induction)).toInt();
  if (stat >= 0 && stat < int(std::size(kAllHeadStatistics))) statistic_ = static_cast<HeadStatistic>(stat);
  mode_ = settings.value("heads/mode", 0).toInt() == 1 ? Mode::MaxPerLayer : Mode::HeadsOfLayer;

  connect(statistic_box_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int i) {
    setStatistic(static_cast<HeadStatistic>(i));
    QSettings().setValue("heads/statistic", i);
  });
  connect(mode_box_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int i) {
    setMode(static_cast<Mode>(i));
    QSettings().setValue("heads/mode", i);
  });
  connect(layer_box_, qOverload<int>(&QSpinBox::valueChanged), this, &HeadsView::setLayer);
  syncControls();
  rebuildChart();
  rebuildSimilarity();
}

int HeadsView::layerCount() const {
  int n = 0;
  for (const auto& snap : history_)
    if (snap) n = std::max(n, snap->n_layers);
  return n;
}

void HeadsView::setHistory(ProbeHistory history) {
  history.erase(std::remove(history.begin(), history.end(), nullptr), history.end());
  history_ = std::move(history);
  // Without probes the chosen layer is kept: a tour may pick layer 1 before the run starts.
  if (layerCount() > 0) layer_ = std::clamp(layer_, 0, layerCount() - 1);
  syncControls();
  rebuildChart();
  rebuildSimilarity();
  rebuildTable();
  rebuildJobShares();
}

void HeadsView::setLatest(std::shared_ptr<const ProbeSnapshot> probe) {
  if (!probe) return;
  ProbeHistory history = history_;
  if (!history.empty() && history.back()->step == probe->step) history.back() = probe;
  else history.push_back(probe);
  setHistory(std::move(history));
}

bool HeadsView::isNewStep(int64_t step) const { return history_.empty() || history_.back()->step != step; }

void HeadsView::clear() { setHistory({}); }

void HeadsView::setStatistic(HeadStatistic statistic) {
  if (statistic == statistic_) return;
  statistic_ = statistic;
  syncControls();
  rebuildChart();
}

void HeadsView::setMode(Mode mode) {
  if (mode == mode_) return;
  mode_ = mode;
  syncControls();
  rebuildChart();
}

void HeadsView::setLayer(int layer) {
  layer = layerCount() > 0 ? std::clamp(layer, 0, layerCount() - 1) : std::max(0, layer);
  if (layer == layer_) return;
  layer_ = layer;
  syncControls();
  rebuildChart();
  rebuildSimilarity();
  emit layerChanged(layer_);
}

void HeadsView::syncControls() {
  const QSignalBlocker b1(statistic_box_), b2(mode_box_), b3(layer_box_);
  statistic_box_->setCurrentIndex(int(statistic_));
  mode_box_->setCurrentIndex(int(mode_));
  layer_box_->setRange(0, std::max(layer_, layerCount() - 1));
  layer_box_->setValue(layer_);
  // The layer picks the similarity matrix in both modes, and the lines in the first.
  if (history_.empty()) caption_->setText(tr("No probe yet"));
  else caption_->setText(tr("%1 probes, newest at step %2").arg(history_.size()).arg(history_.back()->step));
}

void HeadsView::rebuildChart() {
  chart_->clearGraphs();
  const auto series = mode_ == Mode::HeadsOfLayer ? perHeadSeries(history_, layer_, statistic_)
                                                  : maxPerLayerSeries(history_, statistic_);
  double lo = std::numeric_limits<double>::infinity(), hi = -lo, x_lo = lo, x_hi = -lo;
  for (size_t i = 0; i < series.size(); ++i) {
    const HeadSeries& s = series[i];
    QCPGraph* g = chart_->addGraph();
    g->setName(QString::fromStdString(s.label));
    g->setPen(QPen(lineColor(int(i)), 1.6));
    g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 4));
    g->setData(QVector<double>(s.steps.begin(), s.steps.end()), QVector<double>(s.values.begin(), s.values.end()),
               true);
    for (double v : s.values) lo = std::min(lo, v), hi = std::max(hi, v);
    for (double x : s.steps) x_lo = std::min(x_lo, x), x_hi = std::max(x_hi, x);
  }
  chart_->yAxis->setLabel(QString::fromStdString(statisticName(statistic_)));
  if (lo <= hi) {
    // Scores in [0, 1] keep their whole scale, so 0.4 looks the same in every run.
    const bool unit = statistic_ != HeadStatistic::Entropy && statistic_ != HeadStatistic::MeanDistance;
    if (unit) chart_->yAxis->setRange(0, std::max(1.0, hi));
    else chart_->yAxis->setRange(std::min(0.0, lo), hi > 0 ? hi * 1.05 : 1.0);
    chart_->xAxis->setRange(x_lo, x_hi > x_lo ? x_hi : x_lo + 1);
  }
  chart_->replot(QCustomPlot::rpQueuedReplot);
}

void HeadsView::rebuildSimilarity() {
  const ProbeSnapshot* newest = history_.empty() ? nullptr : history_.back().get();
  const PlainMatrix* m = nullptr;
  if (newest && layer_ < int(newest->head_similarity.size())) {
    const PlainMatrix& candidate = newest->head_similarity[size_t(layer_)];
    if (candidate.rows > 0 && candidate.rows == candidate.cols &&
        candidate.values.size() >= size_t(candidate.rows) * candidate.cols)
      m = &candidate;
  }
  QCPColorMapData* d = similarity_map_->data();
  if (!m) {
    d->clear();
    similarity_->replot(QCustomPlot::rpQueuedReplot);
    return;
  }
  d->setSize(m->cols, m->rows);
  d->setRange(QCPRange(0, std::max(m->cols - 1, 0)), QCPRange(0, std::max(m->rows - 1, 0)));
  for (int r = 0; r < m->rows; ++r)
    for (int c = 0; c < m->cols; ++c) d->setCell(c, r, m->at(r, c));
  similarity_->xAxis->setRange(-0.5, m->cols - 0.5);
  similarity_->yAxis->setRange(-0.5, m->rows - 0.5);
  similarity_->replot(QCustomPlot::rpQueuedReplot);
}

void HeadsView::rebuildTable() {
  // Sorting while filling moves rows under our feet: fill unsorted, then restore the order.
  const int sort_column = table_->horizontalHeader()->sortIndicatorSection();
  const Qt::SortOrder order = table_->horizontalHeader()->sortIndicatorOrder();
  table_->setSortingEnabled(false);
  const ProbeSnapshot* newest = history_.empty() ? nullptr : history_.back().get();
  const int rows = newest ? int(newest->heads.size()) : 0;
  table_->setRowCount(rows);
  std::map<std::pair<int, int>, const HeadAblation*> ablations;
  if (newest)
    for (const HeadAblation& a : newest->head_ablations) ablations[{a.layer, a.head}] = &a;
  for (int r = 0; r < rows; ++r) {
    const HeadStats& s = newest->heads[size_t(r)];
    const auto a = ablations.find({s.layer, s.head});
    table_->setItem(r, ColAblation, a == ablations.end() ? missingAblationItem() : ablationItem(*a->second));
    auto* role = new QTableWidgetItem(QString::fromStdString(s.role));
    table_->setItem(r, ColLayer, new NumberItem(s.layer, 0));
    table_->setItem(r, ColHead, new NumberItem(s.head, 0));
    table_->setItem(r, ColRole, role);
    table_->setItem(r, ColEntropy, new NumberItem(s.entropy, 3));
    table_->setItem(r, ColPrevious, new NumberItem(s.previous_token, 3));
    table_->setItem(r, ColInduction, new NumberItem(s.induction, 3));
    table_->setItem(r, ColSink, new NumberItem(s.sink, 3));
    table_->setItem(r, ColSelf, new NumberItem(s.self, 3));
    table_->setItem(r, ColDistance, new NumberItem(s.mean_distance, 2));
  }
  table_->setSortingEnabled(true);
  if (sort_column >= 0) table_->sortByColumn(sort_column, order);
}

void HeadsView::rebuildJobShares() {
  const ProbeSnapshot* newest = history_.empty() ? nullptr : history_.back().get();
  if (!newest || newest->heads.empty()) {
    job_shares_->clear();
    return;
  }
  // Top-k beyond the layer's head count would repeat the sum of all heads: left out.
  const int heads = std::max(1, newest->n_heads);
  std::map<int, QStringList> by_layer;
  for (const probe::JobShare& j : probe::job_shares(newest->heads)) {
    QString text = tr("%1: best head %2 at %3").arg(QString::fromStdString(j.job)).arg(j.best_head).arg(j.top1, 0, 'f', 2);
    if (heads >= 2) text += tr(", top-2 %1").arg(j.top2, 0, 'f', 2);
    if (heads >= 3) text += tr(", top-3 %1").arg(j.top3, 0, 'f', 2);
    by_layer[j.layer] << text;
  }
  QStringList lines;
  for (const auto& [layer, jobs] : by_layer) lines << tr("layer %1 · %2").arg(layer).arg(jobs.join(QStringLiteral(" · ")));
  job_shares_->setText(lines.join('\n'));
}

int HeadsView::seriesCount() const { return chart_->graphCount(); }

QString HeadsView::seriesName(int index) const { return chart_->graph(index)->name(); }

std::vector<double> HeadsView::seriesSteps(int index) const {
  std::vector<double> out;
  for (const auto& p : *chart_->graph(index)->data()) out.push_back(p.key);
  return out;
}

std::vector<double> HeadsView::seriesValues(int index) const {
  std::vector<double> out;
  for (const auto& p : *chart_->graph(index)->data()) out.push_back(p.value);
  return out;
}

int HeadsView::similaritySize() const { return similarity_map_->data()->keySize(); }

double HeadsView::similarityValue(int row, int col) const { return similarity_map_->data()->cell(col, row); }

}  // namespace headlab
