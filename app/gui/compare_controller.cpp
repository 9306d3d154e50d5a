#include "compare_controller.h"

#include <QMetaObject>

namespace headlab::gui {

CompareController::CompareController(QObject* parent) : QObject(parent) {}

CompareController::~CompareController() {
  cancel_ = true;
  if (worker_.joinable()) worker_.join();
  // Invocations still queued for this object are dropped by Qt when it is deleted.
}

bool CompareController::start(const CompareRequest& request, QString* error) {
  if (running_) {
    if (error) *error = tr("a comparison is already running");
    return false;
  }
  if (worker_.joinable()) worker_.join();  // the previous one has already reported
  cancel_ = false;
  running_ = true;
  out_dir_ = QString::fromStdString(request.out_dir);
  seeds_ = request.seeds;
  summaries_.clear();
  since_emit_.start();
  emit started(out_dir_);
  CompareRequest marshalled = request;
  marshalled.on_run_finished = [this, own = request.on_run_finished](const run::VariantSummary& row,
                                                                     const run::RunSummary& run) {
    if (own) own(row, run);
    QMetaObject::invokeMethod(
        this,
        [this, name = QString::fromStdString(row.name), seed = quint64(run.seed),
         dir = QString::fromStdString(run.run_dir)] { emit runFinished(name, seed, dir); },
        Qt::QueuedConnection);
  };
  worker_ = std::thread([this, request = std::move(marshalled)] {
    CompareOutcome outcome = runCompareRequest(
        request, [this](const CompareProgress& p) { onProgress(p); }, &cancel_);
    QMetaObject::invokeMethod(this, [this, outcome = std::move(outcome)] { onOutcome(outcome); },
                              Qt::QueuedConnection);
  });
  return true;
}

void CompareController::cancel() {
  if (running_) cancel_ = true;
}

QString CompareController::runDirectory(const QString& row, quint64 seed) const {
  return QString::fromStdString(
      run::run_directory_of(out_dir_.toStdString(), row.toStdString(), seed, seeds_).string());
}

void CompareController::onProgress(const CompareProgress& p) {
  // A tiny model steps thousands of times a second: tell the GUI about each run's last
  // step and otherwise at most every 100 ms.
  if (p.step != p.steps && since_emit_.elapsed() < 100) return;
  since_emit_.restart();
  QMetaObject::invokeMethod(this, [this, p] { emit progress(p); }, Qt::QueuedConnection);
}

void CompareController::onOutcome(const CompareOutcome& outcome) {
  if (worker_.joinable()) worker_.join();  // it has returned: this only reaps the thread
  running_ = false;
  switch (outcome.status) {
    case CompareOutcome::Status::Finished:
      summaries_ = outcome.summaries;
      emit finished(out_dir_);
      break;
    case CompareOutcome::Status::Cancelled:
      emit cancelled(QString::fromStdString(outcome.message));
      break;
    case CompareOutcome::Status::Failed:
      emit failed(QString::fromStdString(outcome.message));
      break;
  }
}

}  // namespace headlab::gui
