#include "run_follower.h"

#include <QDir>
#include <QFileInfo>
#include <QFileSystemWatcher>
#include <QTimer>

#include "common/errors.h"
#include "common/json_file.h"
#include "io/jsonl_tail.h"
#include "io/run_directory.h"
#include "probe/probe_record.h"

namespace headlab::gui {
namespace {
const char* const kLogs[] = {"metrics.jsonl", "events.jsonl", "probes.jsonl"};
}  // namespace

RunFollower::RunFollower(QObject* parent) : QObject(parent) {
  watcher_ = new QFileSystemWatcher(this);
  timer_ = new QTimer(this);
  timer_->setInterval(kPollMs);
  connect(timer_, &QTimer::timeout, this, &RunFollower::poll);
  connect(watcher_, &QFileSystemWatcher::fileChanged, this, &RunFollower::poll);
  connect(watcher_, &QFileSystemWatcher::directoryChanged, this, &RunFollower::poll);
}

RunFollower::~RunFollower() = default;

void RunFollower::start(const QString& run_dir) {
  stop();
  run_dir_ = run_dir;
  const std::filesystem::path dir = run_dir.toStdString();
  metrics_ = std::make_unique<io::JsonlTail>(dir / "metrics.jsonl");
  events_ = std::make_unique<io::JsonlTail>(dir / "events.jsonl");
  probe_log_ = std::make_unique<io::JsonlTail>(dir / "probes.jsonl");
  probes_ = session::ProbeTimeline();
  total_steps_.reset();
  try {
    const auto config = io::RunDirectory::read_config(dir);
    if (config.contains("train") && config["train"].is_object() && config["train"].contains("steps") &&
        config["train"]["steps"].is_number_integer())
      total_steps_ = config["train"]["steps"].get<int64_t>();
  } catch (const std::exception&) {
    // The step count is only for the status line; the logs are what is followed.
  }
  last_step_ = 0;
  finished_ = false;
  last_change_ = QDateTime::currentDateTime();
  watcher_->addPath(run_dir);
  for (const char* log : kLogs)
    if (QFileInfo::exists(QDir(run_dir).filePath(log))) watcher_->addPath(QDir(run_dir).filePath(log));
  emit restarted();
  poll();
  timer_->start();
}

void RunFollower::stop() {
  timer_->stop();
  if (!watcher_->files().isEmpty()) watcher_->removePaths(watcher_->files());
  if (!watcher_->directories().isEmpty()) watcher_->removePaths(watcher_->directories());
  metrics_.reset();
  events_.reset();
  probe_log_.reset();
  run_dir_.clear();
}

QString RunFollower::status() const {
  if (run_dir_.isEmpty()) return {};
  const QString name = QFileInfo(run_dir_).fileName();
  if (finished_) return tr("Following %1: finished at step %2").arg(name).arg(last_step_);
  const qint64 ago = last_change_.secsTo(QDateTime::currentDateTime());
  const QString of = total_steps_ ? tr(" of %1").arg(*total_steps_) : QString();
  return tr("Following %1: step %2%3, updated %4 s ago").arg(name).arg(last_step_).arg(of).arg(ago);
}

void RunFollower::poll() {
  if (!metrics_) return;
  try {
    const auto metric_update = metrics_->poll();
    const auto event_update = events_->poll();
    const auto probe_update = probe_log_->poll();
    if (metric_update.restarted || event_update.restarted || probe_update.restarted) {
      // A resume cut the logs back: what the views hold is no longer the run. The logs are
      // read again from their start.
      const QString dir = run_dir_;
      start(dir);
      return;
    }
    std::vector<MetricPoint> points;
    std::vector<EventRecord> events;
    try {
      for (const auto& j : metric_update.records) points.push_back(io::metric_from_json(j));
      for (const auto& j : event_update.records) events.push_back(io::event_from_json(j));
    } catch (const nlohmann::json::exception&) {
      throw InputError("a record of metrics.jsonl or events.jsonl has a wrongly typed field (step must be a number)");
    }
    std::vector<std::shared_ptr<const ProbeSnapshot>> probes;
    for (const auto& j : probe_update.records) {
      probes.push_back(std::make_shared<const ProbeSnapshot>(probe::snapshot_from_record(j)));
      probes_.add(probes.back());
    }
    if (!points.empty() || !events.empty() || !probes.empty()) last_change_ = QDateTime::currentDateTime();
    if (!points.empty()) {
      last_step_ = points.back().step;
      emit metricsAppended(points);
    }
    if (!events.empty()) emit eventsAppended(events);
    if (!probes.empty()) emit probesAppended(probes);
    // A log created after the start is watched from now on.
    for (const char* log : kLogs) {
      const QString path = QDir(run_dir_).filePath(log);
      if (!watcher_->files().contains(path) && QFileInfo::exists(path)) watcher_->addPath(path);
    }
    // The final model is written once the last step is done: the run has finished.
    finished_ = QFileInfo::exists(QDir(run_dir_).filePath("model/model.safetensors"));
  } catch (const std::exception& e) {
    const QString message = tr("Stopped following %1: %2").arg(run_dir_, QString::fromStdString(e.what()));
    stop();
    emit failed(message);
    return;
  }
  emit statusChanged(status());
}

}  // namespace headlab::gui
