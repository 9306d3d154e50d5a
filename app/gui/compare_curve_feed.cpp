#include "compare_curve_feed.h"

#include "compare_controller.h"
#include "comparison_chart.h"
#include "io/run_directory.h"

namespace headlab::gui {

CompareCurveFeed::CompareCurveFeed(CompareController* controller, ComparisonChart* chart, QObject* parent)
    : QObject(parent), controller_(controller), chart_(chart) {
  timer_.setInterval(kPollIntervalMs);
  connect(&timer_, &QTimer::timeout, this, &CompareCurveFeed::poll);
  connect(controller_, &CompareController::started, this, [this] {
    // A new comparison's rows may share names with the last one's: its curves must not mix in.
    live_.clear();
    done_.clear();
    chart_->clear();
    timer_.start();
  });
  connect(controller_, &CompareController::progress, this, &CompareCurveFeed::onProgress);
  connect(controller_, &CompareController::runFinished, this, &CompareCurveFeed::onRunFinished);
  for (auto signal : {&CompareController::cancelled, &CompareController::failed})
    connect(controller_, signal, this, &CompareCurveFeed::stop);
  connect(controller_, &CompareController::finished, this, &CompareCurveFeed::stop);
}

void CompareCurveFeed::onProgress(const run::CompareProgress& p) {
  const Key key{QString::fromStdString(p.name), quint64(p.seed)};
  if (done_.count(key) || live_.count(key)) return;
  live_.emplace(key, MetricsTail(controller_->runDirectory(key.first, key.second).toStdString()));
}

void CompareCurveFeed::poll() {
  // Gathered per row first: the chart then averages each row once, whatever its seed count.
  std::map<QString, std::map<uint64_t, std::vector<MetricPoint>>> fresh;
  for (auto it = live_.begin(); it != live_.end();) {
    const auto& [row, seed] = it->first;
    try {
      MetricsTail::Update update = it->second.read();
      if (update.restarted) chart_->setRunMetrics(row, seed, std::move(update.points));
      else if (!update.points.empty()) fresh[row][seed] = std::move(update.points);
      ++it;
    } catch (const std::exception& e) {
      emit problem(QString::fromStdString(e.what()));
      done_.insert(it->first);
      it = live_.erase(it);
    }
  }
  for (const auto& [row, by_seed] : fresh) chart_->appendRunMetrics(row, by_seed);
}

void CompareCurveFeed::onRunFinished(const QString& row, quint64 seed, const QString& run_dir) {
  const Key key{row, seed};
  live_.erase(key);
  done_.insert(key);
  try {
    chart_->setRunMetrics(row, seed, io::RunDirectory::read_metrics(run_dir.toStdString()));
  } catch (const std::exception& e) {
    emit problem(QString::fromStdString(e.what()));
  }
}

void CompareCurveFeed::stop() {
  // A cancelled comparison's partial runs keep the lines they wrote: one last read.
  poll();
  live_.clear();
  timer_.stop();
}

}  // namespace headlab::gui
