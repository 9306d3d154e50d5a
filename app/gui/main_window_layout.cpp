// MainWindow, the layout side: where each dock goes by default (and back there on View >
// Reset layout), the share of the window each gets, and a window size that fits the screen.
// The docks scroll their panels (addDock), so no panel's minimum size can push the window
// past a 1366x768 screen; this file decides what is visible at once.
#include <QDockWidget>
#include <QGuiApplication>
#include <QScreen>
#include <QScrollArea>
#include <QScrollBar>
#include <QStyle>
#include <QToolBar>
#include <algorithm>

#include "main_window.h"

namespace headlab::gui {
namespace {

struct DockPlace {
  const char* name;
  Qt::DockWidgetArea area;
  const char* tab_of;  // the dock whose tab group it joins; nullptr: a place of its own
};

// Order matters: the first dock of an area is its top one, and a tab joins a dock placed
// before it. The maps stack on the right (the attention map over the whole-model overviews),
// the form on the left, the module table under the loss chart.
constexpr DockPlace kDefaultPlaces[] = {
    {"run", Qt::LeftDockWidgetArea, nullptr},      {"experiment", Qt::LeftDockWidgetArea, nullptr},
    {"learn", Qt::LeftDockWidgetArea, "experiment"}, {"attention", Qt::RightDockWidgetArea, nullptr},
    {"matrices", Qt::RightDockWidgetArea, nullptr}, {"atlas", Qt::RightDockWidgetArea, "matrices"},
    {"heads", Qt::RightDockWidgetArea, "matrices"}, {"modules", Qt::BottomDockWidgetArea, nullptr},
    {"compare", Qt::BottomDockWidgetArea, "modules"}, {"sample", Qt::BottomDockWidgetArea, "modules"},
};

// The tab shown in front of each group.
constexpr const char* kFrontTabs[] = {"experiment", "matrices", "modules"};

// The window's first size: roomy on a large screen, never larger than the screen.
constexpr QSize kPreferredSize(1500, 950);

}  // namespace

void MainWindow::placeDocksByDefault() {
  // The side columns run the full height; the bottom dock sits under the loss chart only,
  // so a short screen takes its height from the chart, not from the form or the maps.
  setCorner(Qt::BottomLeftCorner, Qt::LeftDockWidgetArea);
  setCorner(Qt::BottomRightCorner, Qt::RightDockWidgetArea);
  for (const DockPlace& place : kDefaultPlaces) {
    QDockWidget* dock = findChild<QDockWidget*>(place.name);
    if (!dock) continue;
    dock->setFloating(false);
    removeDockWidget(dock);  // re-adding puts it at the end of its area, in kDefaultPlaces order
    QDockWidget* group = place.tab_of ? findChild<QDockWidget*>(place.tab_of) : nullptr;
    if (group) {
      tabifyDockWidget(group, dock);
    } else {
      addDockWidget(place.area, dock, Qt::Vertical);
    }
    dock->show();
  }
  for (const char* name : kFrontTabs)
    if (QDockWidget* dock = findChild<QDockWidget*>(name)) dock->raise();
  if (auto* timeline = findChild<QToolBar*>("timeline")) {
    addToolBar(Qt::BottomToolBarArea, timeline);
    timeline->show();
  }
}

void MainWindow::sizeDocksByDefault() {
  auto dock = [this](const char* name) { return findChild<QDockWidget*>(name); };
  QDockWidget* run = dock("run");
  QDockWidget* experiment = dock("experiment");
  QDockWidget* attention = dock("attention");
  QDockWidget* matrices = dock("matrices");
  QDockWidget* modules = dock("modules");
  if (!run || !experiment || !attention || !matrices || !modules) return;
  // Shares of the window rather than pixels, so 1366x768 and 2560x1440 both look planned:
  // the form a quarter of the width, the maps a third, the loss chart the rest.
  const int w = width(), h = height();
  // The left column is at least as wide as its panels' minimum (the form's KHA row, the run
  // buttons) with room for the vertical scroll bar, so that on a laptop screen they scroll
  // only down, never sideways; up to 30% of the window.
  auto needed_width = [](QDockWidget* d) {
    auto* scroll = qobject_cast<QScrollArea*>(d->widget());
    if (!scroll || !scroll->widget()) return 0;
    return scroll->widget()->minimumSizeHint().width() + scroll->verticalScrollBar()->sizeHint().width() +
           2 * d->style()->pixelMetric(QStyle::PM_DockWidgetFrameWidth, nullptr, d) + 4;
  };
  const int wanted = std::max({w * 24 / 100, needed_width(run), needed_width(experiment)});
  const int left = std::clamp(wanted, 280, std::max(380, w * 30 / 100));
  const int right = std::clamp(w * 34 / 100, 360, 640);
  resizeDocks({experiment, attention}, {left, right}, Qt::Horizontal);
  // The dock's own hint: its panel's plus the title bar (the panel's alone left the status
  // line half hidden under a scroll bar).
  const int run_height = run->sizeHint().height();
  const int bottom = std::clamp(h * 20 / 100, 130, 260);
  // resizeDocks scales the sizes to the column's height: give it that height (less than the
  // window's: menu, tool and status bars), or the run dock comes out short.
  const int column = std::max(run->height() + experiment->height(), run_height + 200);
  resizeDocks({run, experiment}, {run_height, column - run_height}, Qt::Vertical);
  resizeDocks({attention, matrices}, {h * 55 / 100, h * 45 / 100}, Qt::Vertical);
  resizeDocks({modules}, {bottom}, Qt::Vertical);
}

void MainWindow::resetLayout() {
  // The docks only: the window keeps the size the user gave it (it fits the screen already,
  // fitIntoScreen saw to that when it opened).
  placeDocksByDefault();
  sizeDocksByDefault();
  showMessage(tr("Layout reset to the default."));
}

void MainWindow::fitIntoScreen() {
  const QScreen* screen = this->screen() ? this->screen() : QGuiApplication::primaryScreen();
  if (!screen) return;
  const QRect available = screen->availableGeometry();
  // A little less than the screen: the window frame and title bar are outside geometry().
  const QSize room(available.width() * 96 / 100, available.height() * 92 / 100);
  const QSize wanted = size().isValid() && testAttribute(Qt::WA_Resized) ? size() : kPreferredSize;
  const QSize fitted = wanted.boundedTo(room).expandedTo(minimumSizeHint().boundedTo(room));
  if (fitted != size()) resize(fitted);
  if (!available.contains(frameGeometry())) move(available.topLeft() + QPoint((available.width() - fitted.width()) / 2,
                                                                              (available.height() - fitted.height()) / 2));
}

}  // namespace headlab::gui
