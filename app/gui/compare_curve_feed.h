#pragma once
// Feeds the comparison chart from the comparison's run directories: a finished run's whole
// metrics.jsonl (the record of truth), and, about once a second, the new lines of every run
// that has stepped but not finished (interleaved mode: all curves grow together; one after
// another: the current run's curve). It reads files only; the training thread is not touched.
#include <QObject>
#include <QString>
#include <QTimer>
#include <map>
#include <set>
#include <utility>

#include "metrics_tail.h"
#include "run/compare.h"

namespace headlab {
class ComparisonChart;
}

namespace headlab::gui {

class CompareController;

class CompareCurveFeed : public QObject {
  Q_OBJECT

 public:
  CompareCurveFeed(CompareController* controller, ComparisonChart* chart, QObject* parent = nullptr);

  // Reads the new lines of the running runs now (the timer does it every interval).
  void poll();
  int runningRunCount() const { return int(live_.size()); }
  static constexpr int kPollIntervalMs = 1000;

 signals:
  // A run's metrics could not be read; its curve stops growing, the comparison goes on.
  void problem(const QString& message);

 private:
  using Key = std::pair<QString, quint64>;  // row, seed
  void onProgress(const run::CompareProgress& p);
  void onRunFinished(const QString& row, quint64 seed, const QString& run_dir);
  void stop();

  CompareController* controller_;
  ComparisonChart* chart_;
  QTimer timer_;
  std::map<Key, MetricsTail> live_;
  std::set<Key> done_;  // finished or unreadable: a late progress report must not revive it
};

}  // namespace headlab::gui
