// MainWindow, the file side: open models, checkpoints and run directories (menus, recent
// files, drag and drop), train on from an opened model, save checkpoints, load and save
// experiment JSON.
#include <QAction>
#include <QDir>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QMessageBox>
#include <QMimeData>
#include <QSaveFile>
#include <QSpinBox>
#include <QStatusBar>
#include <algorithm>
#include <filesystem>

#include "common/json_file.h"
#include "experiment_panel.h"
#include "io/run_directory.h"
#include "loss_chart.h"
#include "main_window.h"
#include "offline_probe.h"
#include "recent_files.h"
#include "session_feed.h"
#include "session_launcher.h"

namespace headlab::gui {

using session::Command;
using session::RunState;

namespace {

bool isRunDirectory(const QString& path) {
  return QFileInfo::exists(path + "/config.json") && QFileInfo::exists(path + "/metrics.jsonl");
}

// The run a model belongs to: RUN/model or RUN/checkpoints/step-N; empty otherwise.
QString runOfModel(const QString& model_path) {
  const QFileInfo info(model_path);
  QDir dir(info.isDir() ? info.absoluteFilePath() : info.absolutePath());
  if (dir.dirName() == "model" && dir.cdUp() && isRunDirectory(dir.path())) return dir.path();
  if (dir.dirName().startsWith("step-") && dir.cdUp() && dir.dirName() == "checkpoints" && dir.cdUp() &&
      isRunDirectory(dir.path()))
    return dir.path();
  return {};
}

// How far a model was trained, from where it lies: RUN/checkpoints/step-N is step N; a run's
// final model/ is its newest checkpoint or logged step; 0 when nothing says (a bare model).
int64_t trainedStepOf(const QString& model_path) {
  const QFileInfo info(model_path);
  const QDir dir(info.isDir() ? info.absoluteFilePath() : info.absolutePath());
  bool ok = false;
  if (dir.dirName().startsWith("step-")) {
    const qint64 step = dir.dirName().mid(5).toLongLong(&ok);
    if (ok) return step;
  }
  const QString run = runOfModel(model_path);
  if (run.isEmpty()) return 0;
  int64_t step = 0;
  try {
    const auto checkpoints = io::RunDirectory::checkpoint_steps(run.toStdString());
    if (!checkpoints.empty()) step = checkpoints.back();
    const auto metrics = io::RunDirectory::read_metrics(run.toStdString());
    if (!metrics.empty()) step = std::max<int64_t>(step, metrics.back().step);
  } catch (const std::exception&) {
    // Unreadable logs leave the step unknown; the model itself still opens.
  }
  return step;
}

}  // namespace

bool MainWindow::openPath(const QString& path, QString* error) {
  stopFollowing();
  const QFileInfo info(path);
  if (!info.exists()) {
    if (error) *error = tr("%1 does not exist").arg(path);
    return false;
  }
  if (info.isDir()) {
    if (isRunDirectory(path)) return openRunDirectory(path, error);
    if (QFileInfo::exists(path + "/summary.json")) return openComparison(path, error);
    return openModel(path, error);
  }
  if (info.suffix() == "json" && info.fileName() != "config.json") {
    try {
      experiment_->setConfig(read_json_file(path.toStdString()));
    } catch (const std::exception& e) {
      if (error) *error = QString::fromStdString(e.what());
      return false;
    }
    showMessage(tr("Experiment loaded from %1").arg(path));
    return true;
  }
  return openModel(info.fileName() == "config.json" ? info.absolutePath() : path, error);
}

bool MainWindow::openFromCommandLine(const QString& path, QString* error) {
  QString why;
  if (openPath(path, &why)) return true;  // a failure while loading shows its own dialog
  reportLaunchFailure(tr("Cannot open %1").arg(path), why);
  if (error) *error = why;
  return false;
}

bool MainWindow::openModel(const QString& path, QString* error, const QString& remember) {
  stopFollowing();
  if (launcher_->busy()) {
    if (error) *error = tr("another run or model is being opened");
    return false;
  }
  // Loading the weights and the first probe run on the launcher's thread; the window shows
  // the model (and its run's curves) when they are ready.
  const std::string model_path = path.toStdString();
  launcher_->launch(
      tr("Opening %1 (weights, first probe)...").arg(path),
      [model_path, path] { return session::Session::create_inspection(model_path, trainedStepOf(path)); },
      [this, path, remember](std::unique_ptr<session::Session> session, const QString& failure) {
        if (!session) return reportLaunchFailure(tr("Cannot open %1").arg(path), failure);
        feed_->setSession(std::move(session));
        inspected_model_ = path;
        train_from_model_->setEnabled(true);
        run_dir_ = runOfModel(path);
        if (!run_dir_.isEmpty()) loadRunCurves(run_dir_);
        // The form shows what is loaded: the run's settings when the model has a run, and in
        // any case the model's own config (onStatus, once the session reports it).
        if (!run_dir_.isEmpty()) loadFormFromRun(run_dir_);
        form_follows_model_ = true;
        if (!model_config_json_.empty()) fillFormFromOpenedModel();  // the first status came already
        recent_->add(remember.isEmpty() ? path : remember);
        showMessage(tr("Inspecting %1").arg(path));
      });
  return true;
}

void MainWindow::loadFormFromRun(const QString& run_dir) {
  try {
    experiment_->setConfig(read_json_file((run_dir + "/config.json").toStdString()));
  } catch (const std::exception& e) {
    // The form is only a reminder of the settings; the model itself was read from its files.
    showMessage(tr("The settings of %1 cannot be read: %2").arg(run_dir, QString::fromStdString(e.what())));
  }
}

bool MainWindow::openRunDirectory(const QString& path, QString* error) {
  stopFollowing();
  if (!isRunDirectory(path)) {
    if (error) *error = tr("%1 is not a run directory (no config.json and metrics.jsonl)").arg(path);
    return false;
  }
  const auto snap = feed_->snapshot();
  if (snap && snap->status.training &&
      (snap->status.state == RunState::Running || snap->status.state == RunState::Paused))
    return addOverlayRun(path, error);  // never replace a live run: compare with it instead
  const QString model = QString::fromStdString(newestModelPath(path.toStdString()));
  if (!model.isEmpty()) return openModel(model, error, path);
  feed_->closeSession();
  run_dir_ = path;
  loadRunCurves(path);
  recent_->add(path);
  return true;
}

bool MainWindow::resumeRun(const QString& path, QString* error) {
  if (!isRunDirectory(path)) {
    if (error) *error = tr("%1 is not a run directory (no config.json and metrics.jsonl)").arg(path);
    return false;
  }
  const auto snap = feed_->snapshot();
  if (snap && snap->status.training &&
      (snap->status.state == RunState::Running || snap->status.state == RunState::Paused)) {
    if (error) *error = tr("a run is in progress: stop it (Shift+F5) before resuming another");
    return false;
  }
  if (io::RunDirectory::checkpoint_steps(path.toStdString()).empty()) {
    if (error) *error = tr("%1: no checkpoint to resume from").arg(path);
    return false;
  }
  if (launcher_->busy()) {
    if (error) *error = tr("another run or model is being opened");
    return false;
  }
  launchResume(path, std::nullopt, /*start=*/false);
  return true;
}

void MainWindow::launchResume(QString path, std::optional<int64_t> total_steps, bool start) {
  stopFollowing();
  // This window's own idle session of that run (finished or stopped) still holds the run's
  // lock: let it go first. Its worker waits for commands, so the join is immediate.
  const auto snap = feed_->snapshot();
  if (snap && snap->status.run_dir == path.toStdString()) feed_->closeSessionNow();
  // A truncated or foreign checkpoint is found by the launcher, before the old session goes.
  const std::string run_path = path.toStdString();
  launcher_->launch(
      total_steps ? tr("Continuing %1 to step %2 (checkpoint, first probe)...").arg(path).arg(*total_steps)
                  : tr("Resuming %1 (checkpoint, first probe)...").arg(path),
      [run_path, total_steps] { return session::Session::create_resume(run_path, total_steps); },
      [this, path, start](std::unique_ptr<session::Session> session, const QString& failure) {
        if (!session) return reportLaunchFailure(tr("Cannot resume %1").arg(path), failure);
        feed_->setSession(std::move(session));  // its series start with the run's earlier curves
        feed_->poll();
        run_dir_ = path;
        resumed_run_ = path;
        loadFormFromRun(path);
        recent_->add(path);
        const auto resumed = feed_->snapshot();
        const qint64 step = resumed ? resumed->status.step : 0;
        const qint64 total = resumed ? resumed->status.total_steps : 0;
        // The form shows the run as it now is: its step count may be the one asked for here.
        if (total > 0) experiment_->stepsBox()->setValue(int(total));
        resumed_form_ = experiment_->config();
        if (resumed_form_.contains("train") && resumed_form_["train"].is_object()) resumed_form_["train"].erase("steps");
        if (start && step < total) {
          feed_->post(Command::start());
          showMessage(tr("Training %1 further, from step %2 to %3.").arg(path).arg(step).arg(total), 0);
          return;
        }
        showMessage(step < total ? tr("Resumed %1 at step %2 of %3: press Start (Ctrl+Enter) to continue.")
                                       .arg(path).arg(step).arg(total)
                                 : tr("%1 has trained all its %2 steps: raise Steps in the Experiment form and press "
                                      "Start to train it further.").arg(path).arg(total),
                    0);
      });
}

bool MainWindow::trainResumedRunFurther(QString* error) {
  const auto snap = feed_->snapshot();
  if (resumed_run_.isEmpty() || !snap || snap->status.run_dir != resumed_run_.toStdString()) {
    if (error) *error = tr("no resumed run");
    return false;
  }
  const int64_t wanted = experiment_->stepsBox()->value();
  if (wanted <= snap->status.step) {
    if (error)
      *error = tr("%1 has trained %2 steps already: set Steps in the Experiment form above that to train it further.")
                   .arg(resumed_run_).arg(snap->status.step);
    return false;
  }
  if (launcher_->busy()) {
    if (error) *error = tr("another run or model is being opened");
    return false;
  }
  launchResume(resumed_run_, wanted, /*start=*/true);
  return true;
}

bool MainWindow::addOverlayRun(const QString& path, QString* error) {
  if (!isRunDirectory(path)) {
    if (error) *error = tr("%1 is not a run directory (no config.json and metrics.jsonl)").arg(path);
    return false;
  }
  try {
    chart_->addOverlay(QFileInfo(path).fileName(), io::RunDirectory::read_metrics(path.toStdString()));
  } catch (const std::exception& e) {
    if (error) *error = QString::fromStdString(e.what());
    return false;
  }
  showMessage(tr("Comparing with %1").arg(path));
  return true;
}

bool MainWindow::trainFromInspectedModel(QString* error) {
  if (inspected_model_.isEmpty()) {
    if (error) *error = tr("Open a model, checkpoint or run directory first (File menu).");
    return false;
  }
  // The form's data, training settings, probe and schedule; the model is the opened one, so
  // the form's model section goes (the engine takes one or the other, never both).
  nlohmann::json config = experiment_->config();
  config.erase("model");
  config.erase("initialized_from");
  config["init_from"] = inspected_model_.toStdString();
  // A pretrained model (its tokenizer is a file: tokenizer.json, tokenizer.model) reads a text
  // corpus with that tokenizer, unless the form asked for another.
  const auto model = nlohmann::json::parse(model_config_json_, nullptr, false);
  const bool tokenizer_file = model.is_object() && model.contains("tokenizer") && model["tokenizer"].is_object() &&
                              model["tokenizer"].contains("file");
  auto& data = config["data"];
  if (tokenizer_file && data.is_object() && data.value("task", "") == "text" && !data.contains("tokenizer"))
    data["tokenizer"] = "model";
  return startExperiment(config, error);
}

void MainWindow::loadRunCurves(const QString& run_dir) {
  try {
    chart_->clear();
    chart_->appendMetrics(io::RunDirectory::read_metrics(run_dir.toStdString()));
    chart_->appendEvents(io::RunDirectory::read_events(run_dir.toStdString()));
    chart_->resetView();
  } catch (const std::exception& e) {
    showMessage(tr("Cannot read the curves of %1: %2").arg(run_dir, QString::fromStdString(e.what())));
  }
}

void MainWindow::reportLaunchFailure(const QString& what, const QString& failure) {
  showMessage(tr("%1: %2").arg(what, failure));
  // Window-modal but not blocking: the answer of a launch must not stall the event loop.
  auto* box = new QMessageBox(QMessageBox::Warning, what, failure, QMessageBox::Ok, this);
  box->setObjectName("launchFailure");
  box->setAttribute(Qt::WA_DeleteOnClose);
  box->open();
}

void MainWindow::reportOpen(bool ok, const QString& path, const QString& error) {
  if (ok) return;
  showMessage(tr("Cannot open %1: %2").arg(path, error));
  QMessageBox::warning(this, tr("Open"), tr("Cannot open %1:\n%2").arg(path, error));
}

void MainWindow::askOpenModel() {
  const QString path = QFileDialog::getExistingDirectory(
      this, tr("Open a model directory or checkpoint (the folder with model.safetensors)"), runs_folder_);
  if (path.isEmpty()) return;
  QString error;
  reportOpen(openModel(path, &error), path, error);
}

void MainWindow::askOpenRunDirectory() {
  const QString path = QFileDialog::getExistingDirectory(this, tr("Open a run directory"), runs_folder_);
  if (path.isEmpty()) return;
  QString error;
  reportOpen(openRunDirectory(path, &error), path, error);
}

void MainWindow::askResumeRun() {
  const QString path = QFileDialog::getExistingDirectory(this, tr("Resume training of a run directory"), runs_folder_);
  if (path.isEmpty()) return;
  QString error;
  reportOpen(resumeRun(path, &error), path, error);
}

void MainWindow::askOverlayRun() {
  const QString path = QFileDialog::getExistingDirectory(this, tr("Compare with run directory"), runs_folder_);
  if (path.isEmpty()) return;
  QString error;
  reportOpen(addOverlayRun(path, &error), path, error);
}

void MainWindow::askSaveCheckpointAs() {
  const auto snap = feed_->snapshot();
  if (!snap || !snap->status.training) {
    showMessage(tr("Nothing to save: start or resume a training run first."));
    return;
  }
  const QString path = QFileDialog::getSaveFileName(this, tr("Save checkpoint as (a new folder)"), runs_folder_);
  if (path.isEmpty()) return;
  onCommand(Command::save_checkpoint(path.toStdString()));
  recent_->add(path);
}

void MainWindow::askLoadExperiment() {
  const QString path = QFileDialog::getOpenFileName(this, tr("Load experiment"), runs_folder_, tr("JSON (*.json)"));
  if (path.isEmpty()) return;
  QString error;
  reportOpen(openPath(path, &error), path, error);
}

void MainWindow::askSaveExperiment() {
  const QString path = QFileDialog::getSaveFileName(this, tr("Save experiment"), runs_folder_, tr("JSON (*.json)"));
  if (path.isEmpty()) return;
  QSaveFile file(path);
  const QByteArray text = QByteArray::fromStdString(experiment_->config().dump(2) + "\n");
  if (!file.open(QIODevice::WriteOnly) || file.write(text) != text.size() || !file.commit())
    QMessageBox::warning(this, tr("Save experiment"), tr("Cannot write %1: %2").arg(path, file.errorString()));
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
  const auto urls = event->mimeData()->urls();
  if (!urls.isEmpty() && urls.front().isLocalFile()) event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event) {
  const auto urls = event->mimeData()->urls();
  if (urls.isEmpty() || !urls.front().isLocalFile()) return;
  const QString path = urls.front().toLocalFile();
  QString error;
  reportOpen(openPath(path, &error), path, error);
  event->acceptProposedAction();
}

}  // namespace headlab::gui
