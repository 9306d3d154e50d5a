#pragma once
// File > Follow run directory: shows a run that another process writes (a CLI run, a job on a
// cluster writing to a shared folder or sshfs, another window) and keeps up as it grows.
// metrics.jsonl, events.jsonl and probes.jsonl are read as they are appended (io/jsonl_tail.h:
// a torn last line waits for its end, a log rewritten by a resume is read again whole); each
// probe record becomes the snapshot the views draw (probe/probe_record.h). Changes are seen
// through QFileSystemWatcher where the file system reports them, and by polling every
// kPollMs anyway, because network file systems often do not.
#include <QDateTime>
#include <QObject>
#include <QString>
#include <memory>
#include <optional>
#include <vector>

#include "common/records.h"
#include "probe/snapshot.h"
#include "session/probe_timeline.h"

class QFileSystemWatcher;
class QTimer;

namespace headlab::io {
class JsonlTail;
}

namespace headlab::gui {

class RunFollower : public QObject {
  Q_OBJECT

 public:
  static constexpr int kPollMs = 500;

  explicit RunFollower(QObject* parent = nullptr);
  ~RunFollower() override;

  // Starts following `run_dir` (any earlier one stops): its records so far come at once, as
  // `restarted` followed by the appended signals.
  void start(const QString& run_dir);
  void stop();
  bool following() const { return !run_dir_.isEmpty(); }
  QString runDirectory() const { return run_dir_; }
  // "Following NAME: step 120 of 600, updated 3 s ago" / "...: finished at step 600".
  QString status() const;
  bool finished() const { return finished_; }
  int64_t lastStep() const { return last_step_; }
  std::optional<int64_t> totalSteps() const { return total_steps_; }
  // The probes read so far, oldest first, thinned like a live session's history when long
  // (session/probe_timeline.h): what the timeline and the heads view replay.
  std::vector<std::shared_ptr<const ProbeSnapshot>> probeHistory() const { return probes_.entries(); }

 signals:
  void restarted();  // the views should drop what they hold: everything comes again
  void metricsAppended(const std::vector<MetricPoint>& points);
  void eventsAppended(const std::vector<EventRecord>& events);
  // New probe records, oldest first; probeHistory() already holds them.
  void probesAppended(const std::vector<std::shared_ptr<const headlab::ProbeSnapshot>>& probes);
  void statusChanged(const QString& status);
  void failed(const QString& message);  // a log that cannot be read; following stops

 private:
  void poll();

  QString run_dir_;
  std::unique_ptr<io::JsonlTail> metrics_, events_, probe_log_;
  session::ProbeTimeline probes_;
  QFileSystemWatcher* watcher_ = nullptr;
  QTimer* timer_ = nullptr;
  int64_t last_step_ = 0;
  std::optional<int64_t> total_steps_;  // train.steps of its config.json
  QDateTime last_change_;
  bool finished_ = false;
};

}  // namespace headlab::gui
