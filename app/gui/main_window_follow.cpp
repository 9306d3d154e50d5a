// MainWindow, following a run that another process writes (File > Follow run directory): the
// RunFollower's metrics and events go to the loss chart, its probes the way a live probe goes
// (the timeline, the heads view, the module table, then the attention map, matrices and atlas
// unless the timeline shows an earlier probe), its status to the status bar. Anything else
// the window opens or starts stops the following first.
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QMessageBox>
#include <QStatusBar>

#include "attention_map_view.h"
#include "head_atlas_view.h"
#include "heads_view.h"
#include "loss_chart.h"
#include "main_window.h"
#include "matrix_view.h"
#include "model/module_types.h"
#include "module_panel.h"
#include "run_controls.h"
#include "run_follower.h"
#include "session_feed.h"
#include "timeline_bar.h"

namespace headlab::gui {
namespace {

// The module table of a followed run: there is no session to ask, but every module that is
// not absent has its matrices in the probe, with the module's state (the reader checked the
// names). A module inserted or toggled since shows with the next probe.
std::vector<session::ModuleCell> moduleCells(const ProbeSnapshot& probe) {
  std::vector<session::ModuleCell> cells;
  for (const ModuleMatrix& m : probe.matrices) {
    const session::ModuleCell cell{m.layer, model::module_kind_from_string(m.module),
                                   model::module_state_from_string(m.state)};
    const bool known = std::any_of(cells.begin(), cells.end(), [&](const session::ModuleCell& c) {
      return c.layer == cell.layer && c.module == cell.module;
    });
    if (!known) cells.push_back(cell);
  }
  return cells;
}

}  // namespace

bool MainWindow::followRunDirectory(const QString& path, QString* error) {
  if (!QFileInfo::exists(path + "/config.json")) {
    if (error) *error = tr("%1 is not a run directory (no config.json)").arg(path);
    return false;
  }
  const auto snap = feed_->snapshot();
  if (snap && snap->status.training &&
      (snap->status.state == session::RunState::Running || snap->status.state == session::RunState::Paused)) {
    if (error) *error = tr("a run is training in this window: stop it (Shift+F5) before following another");
    return false;
  }
  if (!follower_) {
    follower_ = new RunFollower(this);
    follow_label_ = new QLabel(this);
    follow_label_->setObjectName("followStatus");
    follow_label_->setToolTip(tr("The run this window follows: its newest step, when its logs last grew, and "
                                 "whether it has finished. File > Follow run directory; opening anything "
                                 "else stops following."));
    statusBar()->addPermanentWidget(follow_label_);
    connect(follower_, &RunFollower::restarted, this, [this] {
      chart_->clear();
      heads_->clear();
      modules_->clear();
      attention_->setSnapshot(nullptr);
      matrices_->setSnapshot(nullptr);
      resetTimeline();
    });
    connect(follower_, &RunFollower::metricsAppended, this, [this](const std::vector<MetricPoint>& points) {
      const bool first = chart_->metrics().empty();
      chart_->appendMetrics(points);
      if (first) chart_->resetView();
    });
    connect(follower_, &RunFollower::eventsAppended, this,
            [this](const std::vector<EventRecord>& events) { chart_->appendEvents(events); });
    connect(follower_, &RunFollower::probesAppended, this,
            [this](const std::vector<std::shared_ptr<const ProbeSnapshot>>& probes) {
              const auto& newest = probes.back();
              const auto history = follower_->probeHistory();
              timeline_->setHistory(history);
              heads_->setHistory(history);
              modules_->setModules(newest->n_layers, moduleCells(*newest));
              modules_->setAblations(newest->ablations);
              modules_->setModuleMatrices(newest->matrices);
              if (timeline_->isLive()) showProbe(newest);
              if (newest->attention.empty())
                showMessage(tr("The probe of step %1 has statistics but no attention maps (older HeadLab versions "
                               "recorded statistics only): open the run's model or checkpoint for its maps.")
                                .arg(newest->step));
            });
    connect(follower_, &RunFollower::statusChanged, this, [this](const QString& status) {
      follow_label_->setText(status);
      controls_->showFollowedRun(follower_->lastStep(), follower_->totalSteps(), follower_->finished(),
                                 QFileInfo(follower_->runDirectory()).fileName());
    });
    connect(follower_, &RunFollower::failed, this, [this](const QString& message) {
      follow_label_->clear();
      showMessage(message);
    });
  }
  feed_->closeSession();
  run_dir_ = path;
  loadFormFromRun(path);  // the form shows the followed run's settings, as for an opened run
  follow_label_->show();
  follower_->start(path);
  showMessage(tr("Following %1: the chart and the probe views grow as the run writes (every %2 ms at least)")
                  .arg(path)
                  .arg(RunFollower::kPollMs));
  return true;
}

void MainWindow::stopFollowing() {
  if (!follower_ || !follower_->following()) return;
  follower_->stop();
  if (!feed_->snapshot()) controls_->clearStatus();
  follow_label_->clear();
  follow_label_->hide();
}

void MainWindow::askFollowRunDirectory() {
  const QString path = QFileDialog::getExistingDirectory(this, tr("Follow a run directory"), runs_folder_);
  if (path.isEmpty()) return;
  QString error;
  if (!followRunDirectory(path, &error)) {
    showMessage(tr("Cannot follow %1: %2").arg(path, error));
    QMessageBox::warning(this, tr("Follow run directory"), tr("Cannot follow %1:\n%2").arg(path, error));
  }
}

}  // namespace headlab::gui
