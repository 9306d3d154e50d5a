// The lab docks of the main window: Heads (statistics over training), Compare (variants
// trained side by side in the background, or a finished comparison opened from disk), Sample
// (text from the live model) and Learn (explanations and guided experiments), and how they
// are wired to the session and the other views. Kept apart from main_window.cpp so each
// feature reads on its own.
#include <QDateTime>
#include <QDir>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QMessageBox>
#include <filesystem>

#include "compare_controller.h"
#include "compare_curve_feed.h"
#include "compare_panel.h"
#include "common/json_file.h"
#include "comparison_chart.h"
#include "experiment_check.h"
#include "experiment_panel.h"
#include "guided_tours.h"
#include "heads_view.h"
#include "io/run_directory.h"
#include "learn_panel.h"
#include "main_window.h"
#include "sample_view.h"
#include "session_launcher.h"
#include "variant_description.h"
#include "session_feed.h"

namespace headlab::gui {

void MainWindow::buildLabDocks() {
  heads_ = new HeadsView(this);
  compare_panel_ = new ComparePanel(this);
  compare_ = new CompareController(this);
  sample_ = new SampleView(this);
  learn_ = new LearnPanel(this);
  // Tabs behind the existing docks (placeDocksByDefault), so the first-run layout stays roomy.
  QDockWidget* heads = addDock(heads_, tr("Heads"), "heads", Qt::RightDockWidgetArea);
  QDockWidget* compare = addDock(compare_panel_, tr("Compare"), "compare", Qt::BottomDockWidgetArea);
  addDock(sample_, tr("Sample"), "sample", Qt::BottomDockWidgetArea);
  addDock(learn_, tr("Learn"), "learn", Qt::LeftDockWidgetArea);

  // Heads: pulling the history copies it, so only a probe of a new step pulls it; a re-probe
  // at the same step (new probe text, a module toggled) just replaces the newest entry.
  connect(feed_, &SessionFeed::probeChanged, this, [this](std::shared_ptr<const ProbeSnapshot> probe) {
    if (heads_->isNewStep(probe->step) && feed_->session()) heads_->setHistory(feed_->session()->probe_history());
    else heads_->setLatest(probe);
  });
  connect(feed_, &SessionFeed::sessionReset, this, [this] {
    heads_->clear();
    sample_->setAvailable(feed_->hasSession());
  });

  // Sample: the request is a session command; the result comes back in the snapshot.
  connect(sample_, &SampleView::sampleRequested, this, &MainWindow::onCommand);
  connect(feed_, &SessionFeed::statusChanged, this, [this] {
    const auto snap = feed_->snapshot();
    if (snap && snap->sample) sample_->setResult(*snap->sample);
  });

  // Compare: what each variant really trains follows the form.
  auto describe_variants = [this] {
    const nlohmann::json base = experiment_->config();
    for (const QString& name : ComparePanel::variantNames())
      compare_panel_->setVariantDescription(name, describeVariant(name, base));
  };
  connect(experiment_, &ExperimentPanel::configChanged, this, describe_variants);
  describe_variants();

  // Compare: its own chart and table in the dock; the live run's loss chart is left alone.
  curve_feed_ = new CompareCurveFeed(compare_, compare_panel_->comparisonChart(), this);
  connect(curve_feed_, &CompareCurveFeed::problem, this, [this](const QString& m) { showMessage(m); });
  connect(compare_panel_, &ComparePanel::startRequested, this, [this](const CompareChoices& choices) {
    QString error;
    if (!startComparison(choices, &error)) compare_panel_->showError(error);
  });
  connect(compare_panel_, &ComparePanel::cancelRequested, compare_, &CompareController::cancel);
  connect(compare_, &CompareController::started, this, [this](const QString& out_dir) {
    compare_panel_->setRunning(true);
    showMessage(tr("Comparing variants into %1").arg(out_dir));
  });
  connect(compare_, &CompareController::progress, compare_panel_, &ComparePanel::setProgress);
  connect(compare_, &CompareController::finished, this, [this](const QString& out_dir) {
    compare_panel_->setSummary(out_dir, compare_->summaries());
    showMessage(tr("Comparison done: %1").arg(out_dir));
  });
  connect(compare_, &CompareController::cancelled, this, [this](const QString& message) {
    compare_panel_->setRunning(false);
    compare_panel_->showNotice(message);
  });
  connect(compare_, &CompareController::failed, this, [this](const QString& message) {
    compare_panel_->setRunning(false);
    compare_panel_->showError(message);
    showMessage(message);
  });

  // Learn: the guided experiments.
  connect(learn_, &LearnPanel::presetTourRequested, this, [this, heads](const QString& preset) {
    const auto snap = feed_->snapshot();
    const bool busy = snap && snap->status.training &&
                      (snap->status.state == session::RunState::Running || snap->status.state == session::RunState::Paused);
    if (busy && QMessageBox::question(this, tr("Guided experiment"),
                                      tr("Stop the current run and start the guided experiment?")) != QMessageBox::Yes)
      return;
    QString error;
    if (!experiment_->selectPreset(preset)) error = tr("the preset %1 is missing").arg(preset);
    else startExperiment(experiment_->config(), &error);
    if (!error.isEmpty()) {
      QMessageBox::warning(this, tr("Guided experiment"), error);
      return;
    }
    if (const GuidedTour* tour = findGuidedTour(learn_->activeTour()); tour && tour->focus_layer >= 0) {
      heads_->setStatistic(tour->focus_statistic);
      heads_->setMode(HeadsView::Mode::HeadsOfLayer);
      heads_->setLayer(tour->focus_layer);
    }
    heads->show();
    heads->raise();
  });
  connect(learn_, &LearnPanel::compareTourRequested, this,
          [this, compare](const QString& preset, const QStringList& variants) {
            QString error;
            if (!experiment_->selectPreset(preset)) {
              error = tr("the preset %1 is missing").arg(preset);
            } else if (!compare_panel_->sweepValid()) {
              error = tr("The Sweep field is not valid: %1").arg(compare_panel_->sweepError());
            } else {
              compare_panel_->setCheckedVariants(variants);
              startComparison(compare_panel_->choices(), &error);
            }
            if (!error.isEmpty()) compare_panel_->showError(error);
            compare->show();
            compare->raise();
          });
}

bool MainWindow::startComparison(const CompareChoices& choices, QString* error) {
  // One training at a time: a comparison next to a live run would slow both and make the
  // comparison's timings meaningless.
  const auto snap = feed_->snapshot();
  if (launcher_->busy() || (snap && snap->status.training && (snap->status.state == session::RunState::Running ||
                                                              snap->status.state == session::RunState::Paused))) {
    if (error) *error = tr("a run is training: stop it (Shift+F5) before starting a comparison");
    return false;
  }
  const nlohmann::json base = experiment_->config();
  const QString problem = QString::fromStdString(experimentConfigProblem(base));
  if (!problem.isEmpty()) {
    if (error) *error = tr("The experiment form is not valid: %1").arg(problem);
    return false;
  }
  QString dir = choices.out_dir;
  if (dir.isEmpty()) {
    const QString name = experiment_->runName();
    const QString stem =
        QDir(runs_folder_).filePath("compare-" + name + '-' + QDateTime::currentDateTime().toString("yyyyMMdd-HHmmss"));
    dir = stem;
    for (int i = 2; QFileInfo::exists(dir); ++i) dir = stem + QStringLiteral("-%1").arg(i);
  }
  CompareRequest request;
  request.base = base;
  for (const QString& v : choices.variants) request.variants.push_back(v.toStdString());
  request.interleave = choices.interleave;
  request.seeds = choices.seeds;
  request.sweeps = choices.sweeps;
  request.out_dir = dir.toStdString();
  return compare_->start(request, error);
}

}  // namespace headlab::gui

namespace headlab::gui {

bool MainWindow::openComparison(const QString& folder, QString* error) {
  if (compare_->isRunning()) {
    if (error) *error = tr("a comparison is running: wait for it or cancel it first");
    return false;
  }
  namespace fs = std::filesystem;
  const fs::path dir = folder.toStdString();
  std::vector<run::VariantSummary> rows;
  try {
    rows = run::summary_from_json(read_json_file(dir / "summary.json"));
  } catch (const std::exception& e) {
    if (error) *error = QString::fromStdString(e.what());
    return false;
  }
  ComparisonChart* chart = compare_panel_->comparisonChart();
  chart->clear();
  QStringList unreadable;
  for (const auto& row : rows)
    for (const auto& run : row.runs) {
      // The recorded path, else where the layout puts it under this folder: a comparison
      // moved or written with a relative --out still opens.
      fs::path run_dir = run.run_dir;
      if (!fs::exists(run_dir / "metrics.jsonl"))
        run_dir = run::run_directory_of(dir, row.name, run.seed, static_cast<int64_t>(row.runs.size()));
      try {
        chart->setRunMetrics(QString::fromStdString(row.name), run.seed, io::RunDirectory::read_metrics(run_dir));
      } catch (const std::exception& e) {
        unreadable << QString::fromStdString(e.what());
      }
    }
  compare_panel_->setSummary(folder, rows);
  if (!unreadable.isEmpty()) compare_panel_->showError(tr("Some curves could not be read: %1").arg(unreadable.join("; ")));
  if (auto* dock = findChild<QDockWidget*>("compare")) {
    dock->show();
    dock->raise();
  }
  showMessage(tr("Comparison opened: %1").arg(folder));
  return true;
}

void MainWindow::askOpenComparison() {
  const QString path = QFileDialog::getExistingDirectory(this, tr("Open a comparison folder (with summary.json)"),
                                                         runs_folder_);
  if (path.isEmpty()) return;
  QString error;
  reportOpen(openComparison(path, &error), path, error);
}

}  // namespace headlab::gui
