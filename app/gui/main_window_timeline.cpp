// MainWindow, the history side: the Head Atlas dock, the evolution timeline (a toolbar under
// the window) and the replay export. While the timeline is Live the views follow the newest
// probe from the session feed; once the user scrubs or plays, they show the timeline's
// snapshot and new probes only extend the slider.
#include <QDockWidget>
#include <QMenu>
#include <QMessageBox>
#include <QStatusBar>
#include <QToolBar>

#include "attention_map_view.h"
#include "export_controller.h"
#include "head_atlas_view.h"
#include "loss_chart.h"
#include "main_window.h"
#include "matrix_view.h"
#include "replay_export_controller.h"
#include "run_follower.h"
#include "session_feed.h"
#include "timeline_bar.h"

namespace headlab::gui {

void MainWindow::buildAtlasAndTimeline() {
  atlas_ = new HeadAtlasView(this);
  // Shares the space of the matrices (a tab, placeDocksByDefault): both are overviews of the
  // whole model, while the attention map above stays visible to open the head clicked here.
  QDockWidget* atlas_dock = addDock(atlas_, tr("Head atlas"), "atlas", Qt::RightDockWidgetArea);
  atlas_dock->setToolTip(atlas_->toolTip());

  timeline_ = new TimelineBar(this);
  auto* bar = new QToolBar(tr("Timeline"), this);
  bar->setObjectName("timeline");  // saveState/restoreState find toolbars by name
  bar->setToolTip(timeline_->toolTip());
  bar->addWidget(timeline_);
  addToolBar(Qt::BottomToolBarArea, bar);

  connect(atlas_, &HeadAtlasView::headSelected, attention_, &AttentionMapView::setLayerHead);
  connect(attention_, &AttentionMapView::layerHeadChanged, atlas_, &HeadAtlasView::setSelectedHead);
  connect(timeline_, &TimelineBar::snapshotChosen, this, [this](std::shared_ptr<const ProbeSnapshot> probe) {
    showProbe(probe);
    chart_->setCursorStep(probe->step);  // where on the curve the replayed maps come from
    showMessage(tr("Showing the probe of step %1 (timeline); tick Live to follow training again.").arg(probe->step));
  });
  connect(timeline_, &TimelineBar::liveChanged, this, [this](bool live) {
    if (!live) return;
    chart_->setCursorStep(std::nullopt);
    // The newest probe again: of the run this window follows, or of its session.
    const auto followed = follower_ && follower_->following() ? follower_->probeHistory() : TimelineBar::History{};
    const auto snap = feed_->snapshot();
    if (!followed.empty()) showProbe(followed.back());
    else if (snap && snap->probe) showProbe(snap->probe);
  });
}

void MainWindow::buildTimelineMenus() {
  view_menu_->addSeparator();
  view_menu_->addAction(atlas_->softwareAction());
  for (QAction* a : timeline_->shortcutActions()) view_menu_->addAction(a);

  replay_ = new ReplayExportController(this, timeline_, atlas_, attention_, this);
  QMenu* menu = exporter_->menu();
  // Next to the other figure exports, before "Figure options...".
  QAction* before = menu->actions().isEmpty() ? nullptr : menu->actions().back();
  QAction* separator = menu->insertSeparator(before);
  menu->insertAction(separator, replay_->gifAction());
  menu->insertAction(separator, replay_->pngAction());
  connect(replay_, &ReplayExportController::exported, this, [this](const QString& m) { showMessage(m); });
  connect(replay_, &ReplayExportController::failed, this, [this](const QString& m) {
    showMessage(m);
    QMessageBox::warning(this, tr("Export"), m);
  });
}

void MainWindow::onLiveProbe(std::shared_ptr<const ProbeSnapshot> probe) {
  session::Session* session = feed_->session();
  timeline_->setHistory(session ? session->probe_history() : TimelineBar::History{probe});
  if (timeline_->isLive()) showProbe(probe);
}

void MainWindow::showProbe(std::shared_ptr<const ProbeSnapshot> probe) {
  attention_->setSnapshot(probe);
  matrices_->setSnapshot(probe);
  atlas_->setSnapshot(probe);
}

void MainWindow::resetTimeline() {
  timeline_->setHistory({});
  timeline_->setLive(true);
  atlas_->setSnapshot(nullptr);
}

}  // namespace headlab::gui
