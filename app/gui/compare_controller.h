#pragma once
// Runs a comparison of variants on a background std::thread and reports to the GUI thread:
// progress (throttled to a few updates a second), each run as it finishes, then finished /
// cancelled / failed. The work itself is compare_runner (no Qt); this class only marshals its
// callbacks with queued invocations, so every signal is emitted on the GUI thread.
#include <QElapsedTimer>
#include <QMetaType>
#include <QObject>
#include <QString>
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "compare_runner.h"

namespace headlab::gui {

class CompareController : public QObject {
  Q_OBJECT

 public:
  explicit CompareController(QObject* parent = nullptr);
  ~CompareController() override;  // cancels a running comparison and waits for it

  // False (and `error` set) while another comparison runs.
  bool start(const CompareRequest& request, QString* error = nullptr);
  void cancel();
  bool isRunning() const { return running_; }
  // Of the last finished comparison.
  const std::vector<run::VariantSummary>& summaries() const { return summaries_; }
  QString outputFolder() const { return out_dir_; }
  // Where the run of `row` with `seed` writes, by the layout compare.h documents: OUT/ROW/ with
  // one seed, OUT/ROW/seed-S/ with several. Of the running (or last) comparison.
  QString runDirectory(const QString& row, quint64 seed) const;

 signals:
  void started(const QString& out_dir);
  void progress(const headlab::run::CompareProgress& progress);
  // A run ended (its metrics.jsonl is complete): curves as they come.
  void runFinished(const QString& row, quint64 seed, const QString& run_dir);
  void finished(const QString& out_dir);
  void cancelled(const QString& message);
  void failed(const QString& message);

 private:
  void onProgress(const CompareProgress& p);  // worker thread
  void onOutcome(const CompareOutcome& outcome);  // GUI thread

  std::thread worker_;
  std::atomic<bool> cancel_{false};
  bool running_ = false;
  QString out_dir_;
  int64_t seeds_ = 1;
  std::vector<run::VariantSummary> summaries_;
  QElapsedTimer since_emit_;  // progress throttle; only the worker touches it while running
};

}  // namespace headlab::gui

Q_DECLARE_METATYPE(headlab::run::CompareProgress)
