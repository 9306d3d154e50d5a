#include "main_window.h"

#include <QActionGroup>
#include <filesystem>
#include <QApplication>
#include <QCloseEvent>
#include <QDateTime>
#include <QDir>
#include <QDockWidget>
#include <QFileInfo>
#include <QInputDialog>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QProgressBar>
#include <QScrollArea>
#include <QSettings>
#include <QSpinBox>
#include <QStatusBar>
#include <QTimer>
#include <QVBoxLayout>

#include "attention_map_view.h"
#include "compare_controller.h"
#include "common/runtime.h"
#include "experiment_check.h"
#include "experiment_panel.h"
#include "export_controller.h"
#include "loss_chart.h"
#include "matrix_view.h"
#include "module_panel.h"
#include "run_follower.h"
#include "probe_input_bar.h"
#include "recent_files.h"
#include "run_controls.h"
#include "session_feed.h"
#include "session_launcher.h"
#include "theme.h"

namespace headlab::gui {

using session::Command;
using session::RunState;

namespace {
bool cudaAvailable() {
  try {
    return resolve_device_name("cuda") == "cuda";
  } catch (const std::exception&) {
    return false;
  }
}
}  // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  setWindowTitle(tr("HeadLab"));
  setAcceptDrops(true);
  feed_ = new SessionFeed(this);
  launcher_ = new SessionLauncher(this);
  launch_progress_ = new QProgressBar(this);
  launch_progress_->setRange(0, 0);  // busy: how long a model takes to build is not known
  launch_progress_->setMaximumWidth(160);
  launch_progress_->hide();
  statusBar()->addPermanentWidget(launch_progress_);
  connect(launcher_, &SessionLauncher::busyChanged, this, [this](bool busy, const QString& what) {
    launch_progress_->setVisible(busy);
    launch_progress_->setToolTip(what);
    if (busy) showMessage(what);
  });
  chart_ = new LossChart(this);
  chart_->setToolTip(tr("Training loss per step (faint: raw, bold: smoothed) and validation loss (dots). "
                        "Vertical lines mark events: module changes, LR changes, spikes, checkpoints."));
  setCentralWidget(chart_);
  buildDocks();
  buildLabDocks();
  placeDocksByDefault();
  exporter_ = new ExportController(this, {chart_, attention_, matrices_, heads_}, this);
  recent_ = new RecentFiles(this);
  buildMenus();
  connectFeed();
  state_label_ = new QLabel(this);
  statusBar()->addPermanentWidget(state_label_);

  QSettings settings;
  runs_folder_ = settings.value("runs/folder", QDir::home().filePath("headlab-runs")).toString();
  experiment_->setCudaAvailable(cudaAvailable());
  const QString last = settings.value("experiment/lastPreset").toString();
  if (!last.isEmpty()) experiment_->selectPreset(last);
  const bool restored = restoreGeometry(settings.value("window/geometry").toByteArray()) &&
                        restoreState(settings.value("window/state").toByteArray());
  fitIntoScreen();  // a layout saved on a bigger screen must not open past this one
  // First-run proportions once the window has its size (a saved layout keeps its own).
  if (!restored) QTimer::singleShot(0, this, [this] { sizeDocksByDefault(); });
  showMessage(tr("Pick a preset and press Start (Ctrl+Enter), or open a model or run directory (File menu, "
                 "or drop it on the window)."), 0);
}

MainWindow::~MainWindow() { feed_->closeSession(); }

QDockWidget* MainWindow::addDock(QWidget* widget, const QString& title, const QString& name,
                                 Qt::DockWidgetArea area) {
  auto* dock = new QDockWidget(title, this);
  dock->setObjectName(name);  // saveState/restoreState find docks by name
  // A panel taller or wider than its share of the window scrolls inside its dock instead of
  // raising the window's minimum size past the screen (a long form on a 768-pixel screen).
  auto* scroll = new QScrollArea(dock);
  scroll->setObjectName(name + "Scroll");
  scroll->setWidgetResizable(true);
  scroll->setFrameShape(QFrame::NoFrame);
  scroll->setWidget(widget);
  dock->setWidget(scroll);
  addDockWidget(area, dock);
  return dock;
}

void MainWindow::buildDocks() {
  controls_ = new RunControls(this);
  experiment_ = new ExperimentPanel(this);
  modules_ = new ModulePanel(this);
  auto* attention_box = new QWidget(this);
  auto* attention_layout = new QVBoxLayout(attention_box);
  attention_layout->setContentsMargins(0, 0, 0, 0);
  probe_bar_ = new ProbeInputBar(attention_box);
  attention_ = new AttentionMapView(attention_box);
  attention_layout->addWidget(probe_bar_);
  attention_layout->addWidget(attention_, 1);
  matrices_ = new MatrixView(this);

  addDock(controls_, tr("Run"), "run", Qt::LeftDockWidgetArea);
  addDock(experiment_, tr("Experiment"), "experiment", Qt::LeftDockWidgetArea);
  addDock(attention_box, tr("Attention map"), "attention", Qt::RightDockWidgetArea);
  addDock(matrices_, tr("Cross-head matrices"), "matrices", Qt::RightDockWidgetArea);
  addDock(modules_, tr("Modules"), "modules", Qt::BottomDockWidgetArea);

  controls_->setStartAllowed(experiment_->isValid());
  connect(experiment_, &ExperimentPanel::validityChanged, controls_, &RunControls::setStartAllowed);
  connect(experiment_, &ExperimentPanel::presetChanged, this,
          [](const QString& name) { QSettings().setValue("experiment/lastPreset", name); });
  connect(controls_, &RunControls::commandRequested, this, &MainWindow::onCommand);
  connect(modules_, &ModulePanel::commandRequested, this, &MainWindow::onCommand);
  connect(modules_, &ModulePanel::notice, this, [this](const QString& m) { showMessage(m, 15000); });
  connect(probe_bar_, &ProbeInputBar::probeTextSubmitted, this,
          [this](const QString& text) { onCommand(Command::set_probe_input(text.toStdString())); });
  buildAtlasAndTimeline();
}

void MainWindow::buildMenus() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  file->setToolTipsVisible(true);
  file->addAction(tr("Open model or checkpoint..."), QKeySequence::Open, this, &MainWindow::askOpenModel);
  file->addAction(tr("Open run directory..."), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O), this,
                  &MainWindow::askOpenRunDirectory);
  file->addAction(tr("Follow run directory..."), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_L), this,
                  &MainWindow::askFollowRunDirectory)
      ->setToolTip(tr("Watch a run that another process writes (a CLI run, a cluster job on a shared folder): "
                      "the loss chart and events grow live as its logs do."));
  file->addAction(tr("Resume run directory..."), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_R), this,
                  &MainWindow::askResumeRun)
      ->setToolTip(tr("Continue training a run from its newest checkpoint, exactly where it stopped."));
  file->addAction(tr("Compare with run..."), this, &MainWindow::askOverlayRun)
      ->setToolTip(tr("Draw a finished run's loss curve on the loss chart, next to the live run."));
  file->addAction(tr("Open comparison..."), QKeySequence(Qt::CTRL | Qt::ALT | Qt::Key_O), this,
                  &MainWindow::askOpenComparison)
      ->setToolTip(tr("Show a finished comparison folder (summary.json) in the Compare dock: its table, "
                      "intervals and verdicts, and its mean curves."));
  train_from_model_ = file->addAction(tr("Train from this model..."), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_T),
                                      this, [this] {
                                        QString error;
                                        if (!trainFromInspectedModel(&error)) {
                                          showMessage(error);
                                          QMessageBox::warning(this, tr("Train from this model"), error);
                                        }
                                      });
  train_from_model_->setToolTip(
      tr("Start a training run from the weights of the model being inspected, with the data, training settings "
         "and schedule of the Experiment form (its model section is replaced by the model's own config). The "
         "data must use the model's tokenizer."));
  train_from_model_->setEnabled(false);
  file->addMenu(recent_->menu());
  file->addSeparator();
  file->addAction(controls_->saveAction());
  file->addAction(tr("Save checkpoint as..."), this, &MainWindow::askSaveCheckpointAs);
  file->addSeparator();
  file->addAction(tr("Load experiment JSON..."), this, &MainWindow::askLoadExperiment);
  file->addAction(tr("Save experiment JSON..."), this, &MainWindow::askSaveExperiment);
  file->addSeparator();
  file->addAction(tr("Quit"), QKeySequence::Quit, this, &QWidget::close);
  connect(recent_, &RecentFiles::openRequested, this, [this](const QString& path) {
    QString error;
    reportOpen(openPath(path, &error), path, error);
  });

  QMenu* edit = menuBar()->addMenu(tr("&Edit"));
  edit->addAction(modules_->undoAction());

  QMenu* run = menuBar()->addMenu(tr("&Run"));
  run->addActions(controls_->runActions());
  run->addSeparator();
  run->addAction(tr("Set learning rate..."), this, &MainWindow::askSetLearningRate);
  run->addAction(tr("Probe now"), this, [this] { onCommand(Command::probe_now()); });

  menuBar()->addMenu(exporter_->menu());
  connect(exporter_, &ExportController::exported, this, [this](const QString& m) { showMessage(m); });
  connect(exporter_, &ExportController::failed, this, [this](const QString& m) {
    showMessage(m);
    QMessageBox::warning(this, tr("Export"), m);
  });

  view_menu_ = menuBar()->addMenu(tr("&View"));
  for (QDockWidget* dock : findChildren<QDockWidget*>()) view_menu_->addAction(dock->toggleViewAction());
  view_menu_->addSeparator();
  view_menu_->addAction(tr("Reset chart view"), chart_, &LossChart::resetView);
  reset_layout_ = view_menu_->addAction(tr("Reset layout"), this, &MainWindow::resetLayout);
  reset_layout_->setToolTip(tr("Put every panel back where it was at the first start: docked, in its tab group, "
                               "with its default share of the window."));
  buildThemeMenu(view_menu_->addMenu(tr("Theme")));
  buildTimelineMenus();

  buildHelpMenu();
}

void MainWindow::buildThemeMenu(QMenu* menu) {
  menu->setToolTipsVisible(true);
  auto* group = new QActionGroup(menu);
  for (ThemeMode mode : {ThemeMode::System, ThemeMode::Light, ThemeMode::Dark}) {
    static const char* const labels[] = {QT_TR_NOOP("Follow the system"), QT_TR_NOOP("Light"), QT_TR_NOOP("Dark")};
    QAction* action = menu->addAction(tr(labels[static_cast<int>(mode)]));
    action->setCheckable(true);
    action->setChecked(currentThemeMode() == mode);
    action->setData(themeModeName(mode));
    group->addAction(action);
    connect(action, &QAction::triggered, this, [mode] { applyTheme(mode); });
  }
  menu->actions().front()->setToolTip(tr("Use the desktop's colours (exported figures are always light)."));
}

void MainWindow::connectFeed() {
  connect(feed_, &SessionFeed::sessionReset, this, &MainWindow::onSessionReset);
  connect(feed_, &SessionFeed::statusChanged, this, &MainWindow::onStatus);
  connect(feed_, &SessionFeed::metricsAppended, chart_, &LossChart::appendMetrics);
  connect(feed_, &SessionFeed::probeChanged, this, [this](std::shared_ptr<const ProbeSnapshot> probe) {
    modules_->setAblations(probe->ablations);
    modules_->setModuleMatrices(probe->matrices);
    onLiveProbe(probe);  // the views follow it unless the timeline shows an earlier probe
  });
  connect(feed_, &SessionFeed::eventsAppended, this, [this](const std::vector<EventRecord>& events) {
    chart_->appendEvents(events);
    const EventRecord& e = events.back();
    showMessage(tr("step %1: %2").arg(e.step).arg(QString::fromStdString(e.message)));
  });
}

void MainWindow::onSessionReset() {
  inspected_model_.clear();  // openModel sets it again once its session is in
  if (train_from_model_) train_from_model_->setEnabled(false);
  chart_->clear();
  modules_->clear();
  attention_->setSnapshot(nullptr);
  matrices_->setSnapshot(nullptr);
  resetTimeline();
  controls_->clearStatus();
  experiment_->setRunActive(false);
  model_config_json_.clear();
  n_layers_ = 0;
  last_state_ = RunState::Idle;
  resumed_run_.clear();
  form_follows_model_ = false;
}

bool MainWindow::formMatchesResumedRun() const {
  // Only Steps may differ: a form changed in anything else (another preset, another model)
  // asks for a new run, not for more steps of the resumed one.
  nlohmann::json form = experiment_->config();
  if (form.contains("train") && form["train"].is_object()) form["train"].erase("steps");
  return form == resumed_form_;
}

void MainWindow::fillFormFromOpenedModel() {
  const auto config = nlohmann::json::parse(model_config_json_, nullptr, false);
  if (!config.is_object()) return;
  form_follows_model_ = false;
  experiment_->setModelSettings(config);
}

void MainWindow::onStatus(const session::SessionStatus& status) {
  controls_->setStatus(status);
  if (status.model_config_json != model_config_json_) {
    model_config_json_ = status.model_config_json;
    const auto config = nlohmann::json::parse(model_config_json_, nullptr, false);
    n_layers_ = config.is_object() ? config.value("n_layers", 0) : 0;
    if (form_follows_model_) fillFormFromOpenedModel();
  }
  modules_->setModules(n_layers_, status.modules);
  experiment_->setRunActive(status.training &&
                            (status.state == RunState::Running || status.state == RunState::Paused));
  state_label_->setText(status.training ? QString::fromStdString(session::to_string(status.state))
                                        : tr("inspection"));
  if (status.state != last_state_ && (status.state == RunState::Error || status.state == RunState::Finished ||
                                      (status.state == RunState::Paused && !status.message.empty())))
    showMessage(status.message.empty() ? controls_->progressText() : QString::fromStdString(status.message), 0);
  last_state_ = status.state;
  const QString where = status.run_dir.empty() ? QString() : QString::fromStdString(status.run_dir);
  setWindowTitle(where.isEmpty() ? tr("HeadLab") : tr("HeadLab - %1").arg(where));
}

void MainWindow::onCommand(const Command& command) {
  if (command.is<session::cmd::Start>()) {
    const auto snap = feed_->snapshot();
    const bool training = feed_->hasSession() && snap && snap->status.training;
    // A resumed run continues in its own directory; Steps raised in the form trains it further.
    const bool resumed = training && !resumed_run_.isEmpty() && snap->status.run_dir == resumed_run_.toStdString() &&
                         (snap->status.state == RunState::Idle || snap->status.state == RunState::Finished) &&
                         formMatchesResumedRun();
    if (resumed && experiment_->stepsBox()->value() != snap->status.total_steps) {
      QString error;
      if (!trainResumedRunFurther(&error)) {
        showMessage(error);
        QMessageBox::warning(this, tr("Cannot train further"), error);
      }
      return;
    }
    if (resumed && snap->status.state == RunState::Finished) {
      showMessage(tr("%1 has trained all its %2 steps: raise Steps in the Experiment form to train it further.")
                      .arg(resumed_run_).arg(snap->status.total_steps), 0);
      return;
    }
    if (training && snap->status.state == RunState::Idle) {
      feed_->post(command);
      return;
    }
    QString error;
    if (!startExperiment(experiment_->config(), &error)) {
      showMessage(error);
      QMessageBox::warning(this, tr("Cannot start"), error);
    }
    return;
  }
  if (!feed_->hasSession()) {
    if (follower_ && follower_->following())
      showMessage(tr("This window follows a run that another process trains: its modules, learning rate and "
                     "probes are that process's to change."));
    return;
  }
  feed_->post(command);
  feed_->poll();  // pick up the echo without waiting for the next tick
}

bool MainWindow::startExperiment(const nlohmann::json& experiment, QString* error) {
  stopFollowing();
  // The structural check answers at once; the corpus, the model, the run directory and the
  // first probe are built by the launcher on a pool thread, while the window keeps drawing.
  const QString problem = QString::fromStdString(experimentStructureProblem(experiment));
  if (!problem.isEmpty() || launcher_->busy()) {
    if (error) *error = problem.isEmpty() ? tr("a run is being prepared already") : problem;
    return false;
  }
  if (compare_->isRunning()) {
    if (error) *error = tr("a comparison is training: wait for it or cancel it in the Compare dock first");
    return false;
  }
  const QString name = experiment_->runName();
  const QString base = QDir(runs_folder_).filePath(name + '-' + QDateTime::currentDateTime().toString("yyyyMMdd-HHmmss"));
  QString dir = base;
  for (int i = 2; QFileInfo::exists(dir); ++i) dir = base + QStringLiteral("-%1").arg(i);
  const std::string run_dir = dir.toStdString();
  const std::string runs_folder = runs_folder_.toStdString();
  const QString previous_run_dir = run_dir_;
  run_dir_ = dir;  // the run being prepared (put back if it cannot start)
  launcher_->launch(
      tr("Preparing the run (data, model, first probe)..."),
      [experiment, run_dir, runs_folder] {
        std::filesystem::create_directories(runs_folder);
        return session::Session::create_training(experiment, run_dir);
      },
      [this, dir, previous_run_dir](std::unique_ptr<session::Session> session, const QString& failure) {
        if (!session) {
          run_dir_ = previous_run_dir;
          return reportLaunchFailure(tr("Cannot start"), failure);
        }
        feed_->setSession(std::move(session));
        feed_->post(Command::start());
        if (!probe_bar_->text().isEmpty()) feed_->post(Command::set_probe_input(probe_bar_->text().toStdString()));
        showMessage(tr("Training into %1").arg(dir));
      });
  return true;
}

bool MainWindow::startDemo(int steps, QString* error) {
  if (!experiment_->selectPreset("induction-kha")) {
    if (error) *error = tr("the default preset induction-kha is missing");
    return false;
  }
  if (steps > 0) experiment_->stepsBox()->setValue(steps);
  return startExperiment(experiment_->config(), error);
}

void MainWindow::setRunsFolder(const QString& folder) {
  runs_folder_ = folder;
  QSettings().setValue("runs/folder", folder);
}

void MainWindow::showMessage(const QString& message, int timeout_ms) {
  statusBar()->showMessage(message, timeout_ms);
}

void MainWindow::askSetLearningRate() {
  const auto snap = feed_->snapshot();
  if (!snap || !snap->status.training) return;
  bool ok = false;
  const double lr = QInputDialog::getDouble(this, tr("Learning rate"), tr("New learning rate (replaces the schedule):"),
                                            snap->status.lr, 1e-7, 10.0, 6, &ok);
  if (ok) onCommand(Command::set_lr(lr));
}

void MainWindow::closeEvent(QCloseEvent* event) {
  QSettings settings;
  settings.setValue("window/geometry", saveGeometry());
  settings.setValue("window/state", saveState());
  feed_->closeSession();  // joins the worker before the widgets go away
  event->accept();
}

}  // namespace headlab::gui
