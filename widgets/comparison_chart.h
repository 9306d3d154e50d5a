#pragma once
// The comparison's own chart: per row (a variant at a sweep point), the mean loss over its
// seeds per step, with a band for the 95% confidence interval of that mean where at least two
// seeds have the step, one colour per row. It is fed run by run (a finished run's whole
// metrics, or a running run's new lines) and never touches the live run's loss chart.
#include <QColor>
#include <QString>
#include <QWidget>
#include <cstdint>
#include <map>
#include <vector>

#include "common/records.h"
#include "comparison_curves.h"

class QComboBox;
class QCPGraph;
class QCustomPlot;
class QCPTextElement;
class QPushButton;

namespace headlab {

class ComparisonChart : public QWidget {
  Q_OBJECT

 public:
  explicit ComparisonChart(QWidget* parent = nullptr);

  // Everything known of one seed's run of `row` (replaces what the chart had of it).
  void setRunMetrics(const QString& row, uint64_t seed, std::vector<MetricPoint> points);
  // New points of a running run, after those the chart already has of it.
  void appendRunMetrics(const QString& row, uint64_t seed, const std::vector<MetricPoint>& points);
  // New points of several runs of one row (by seed) with one recomputation of its curve: a
  // row of 20 seeds polled once a second must not be averaged 20 times.
  void appendRunMetrics(const QString& row, const std::map<uint64_t, std::vector<MetricPoint>>& by_seed);
  // Forgets every row (the Clear button).
  void clear();

  void setMetric(CurveMetric metric);
  CurveMetric metric() const { return metric_; }
  // Fits all curves and follows new points again (wheel and drag stop the following).
  void resetView();

  // What is drawn, for tests: rows in order of first appearance.
  int rowCount() const { return int(rows_.size()); }
  QString rowName(int row) const;
  int runCount(int row) const;
  const MeanCurve& curve(int row) const;
  std::vector<double> plottedMean(int row) const;  // read back from the plot
  std::vector<double> plottedLow(int row) const;
  std::vector<double> plottedHigh(int row) const;
  QColor rowColor(int row) const;

  QCustomPlot* plot() const { return plot_; }
  QPushButton* clearButton() const { return clear_button_; }
  QComboBox* metricBox() const { return metric_box_; }

 signals:
  void cleared();

 private:
  struct Row {
    QString name;
    std::map<uint64_t, std::vector<MetricPoint>> runs;  // by seed
    MeanCurve curve;
    QCPGraph* mean = nullptr;
    QCPGraph* low = nullptr;
    QCPGraph* high = nullptr;
  };
  Row& rowFor(const QString& name);
  void rebuild(Row& row);
  void updateTitle();
  void fitIfFollowing();

  QCustomPlot* plot_ = nullptr;
  QCPTextElement* title_ = nullptr;
  QComboBox* metric_box_ = nullptr;
  QPushButton* clear_button_ = nullptr;
  std::vector<Row> rows_;
  CurveMetric metric_ = CurveMetric::Validation;
  bool following_ = true;
};

}  // namespace headlab
