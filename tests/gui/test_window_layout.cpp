// The main window's layout on common screens (issue #17 item 1): it fits 1366x768 and
// 1920x1080 with every dock inside and none drawn over another, the Heads tab does not widen
// it, the charts keep a readable size, and View > Reset layout restores the default.
#include <gtest/gtest.h>

#include <QDockWidget>
#include <QScrollArea>
#include <QScrollBar>
#include <QSlider>
#include <QTest>
#include <qcustomplot.h>

#include "heads_view.h"
#include "loss_chart.h"
#include "main_window.h"

using headlab::gui::MainWindow;

namespace {

QList<QDockWidget*> docksOnScreen(const MainWindow& w) {
  QList<QDockWidget*> shown;
  for (QDockWidget* d : w.findChildren<QDockWidget*>())
    if (d->isVisible() && !d->visibleRegion().isEmpty()) shown << d;
  return shown;
}

void showAt(MainWindow& w, QSize size) {
  w.resize(size);
  w.show();
  ASSERT_TRUE(QTest::qWaitForWindowExposed(&w));
  w.resetLayout();  // the default arrangement, sized for this window
  QTest::qWait(50);
}

void expectFitsAndApart(const MainWindow& w, QSize size) {
  EXPECT_LE(w.minimumSizeHint().width(), size.width());
  EXPECT_LE(w.minimumSizeHint().height(), size.height());
  EXPECT_EQ(w.size(), size);
  const QList<QDockWidget*> docks = docksOnScreen(w);
  EXPECT_GE(docks.size(), 5);  // run, experiment, attention, matrices, modules (the front tabs)
  QList<QPair<QString, QRect>> rects = {{"central", w.centralWidget()->geometry()}};
  for (QDockWidget* d : docks) rects.append({d->objectName(), d->geometry()});
  for (int i = 0; i < rects.size(); ++i) {
    EXPECT_TRUE(w.rect().contains(rects[i].second)) << rects[i].first.toStdString();
    for (int j = i + 1; j < rects.size(); ++j)
      EXPECT_FALSE(rects[i].second.intersects(rects[j].second))
          << rects[i].first.toStdString() << " overlaps " << rects[j].first.toStdString();
  }
  // A panel that needs more room than its dock has scrolls: it is never squeezed below its
  // own minimum (that is what drew the form over the Modules dock).
  for (QDockWidget* d : docks) {
    auto* scroll = qobject_cast<QScrollArea*>(d->widget());
    ASSERT_NE(scroll, nullptr) << d->objectName().toStdString();
    const QWidget* panel = scroll->widget();
    EXPECT_GE(panel->height(), panel->minimumSizeHint().height()) << d->objectName().toStdString();
    EXPECT_GE(panel->width(), panel->minimumSizeHint().width()) << d->objectName().toStdString();
  }
  // The panels fit their columns' width: they scroll down, never sideways (at 1366x768 the
  // form's KHA row and the Save checkpoint button were cut at the dock's edge, and so was
  // the matrices' "minus identity").
  for (const char* name : {"run", "experiment", "attention", "matrices"}) {
    auto* scroll = qobject_cast<QScrollArea*>(w.findChild<QDockWidget*>(name)->widget());
    ASSERT_NE(scroll, nullptr) << name;
    EXPECT_EQ(scroll->horizontalScrollBar()->maximum(), 0) << name << ": the panel is wider than its dock";
  }
  // The run controls are shown whole: buttons, progress and the status line, no scrolling.
  auto* run_scroll = qobject_cast<QScrollArea*>(w.findChild<QDockWidget*>("run")->widget());
  ASSERT_NE(run_scroll, nullptr);
  EXPECT_EQ(run_scroll->verticalScrollBar()->maximum(), 0) << "the run panel is taller than its dock";
  EXPECT_GE(w.lossChart()->smoothingSlider()->width(), headlab::LossChart::kMinSliderWidth);
  EXPECT_GE(w.lossChart()->plot()->height(), 200);
  // The module table holds a few rows: it gets a strip under the chart, not a quarter of it.
  EXPECT_LE(w.findChild<QDockWidget*>("modules")->height(), size.height() / 4 + 30);
}

}  // namespace

TEST(WindowLayout, FitsA1366x768ScreenWithEveryDockInsideAndApart) {
  MainWindow w;
  showAt(w, QSize(1366, 768));
  expectFitsAndApart(w, QSize(1366, 768));
}

TEST(WindowLayout, FitsA1920x1080Screen) {
  MainWindow w;
  showAt(w, QSize(1920, 1080));
  expectFitsAndApart(w, QSize(1920, 1080));
}

TEST(WindowLayout, TheHeadsTabNeitherWidensTheWindowNorSqueezesItsChart) {
  MainWindow w;
  showAt(w, QSize(1366, 768));
  QDockWidget* heads = w.findChild<QDockWidget*>("heads");
  ASSERT_NE(heads, nullptr);
  heads->raise();
  QTest::qWait(50);
  EXPECT_EQ(w.size(), QSize(1366, 768));
  EXPECT_FALSE(heads->visibleRegion().isEmpty());
  EXPECT_GE(w.headsView()->chart()->height(), headlab::HeadsView::kMinChartHeight);
  EXPECT_GE(w.headsView()->similarityPlot()->width(), headlab::HeadsView::kMinChartHeight);
}

TEST(WindowLayout, ResetLayoutPutsMovedClosedAndFloatingDocksBack) {
  MainWindow w;
  showAt(w, QSize(1366, 768));
  auto dock = [&](const char* name) { return w.findChild<QDockWidget*>(name); };
  dock("experiment")->setFloating(true);
  dock("attention")->hide();
  w.addDockWidget(Qt::LeftDockWidgetArea, dock("matrices"));
  w.addDockWidget(Qt::TopDockWidgetArea, dock("modules"));
  QTest::qWait(20);
  ASSERT_EQ(w.dockWidgetArea(dock("matrices")), Qt::LeftDockWidgetArea);

  w.resetLayoutAction()->trigger();
  QTest::qWait(50);
  EXPECT_FALSE(dock("experiment")->isFloating());
  EXPECT_TRUE(dock("attention")->isVisible());
  EXPECT_EQ(w.dockWidgetArea(dock("run")), Qt::LeftDockWidgetArea);
  EXPECT_EQ(w.dockWidgetArea(dock("experiment")), Qt::LeftDockWidgetArea);
  EXPECT_EQ(w.dockWidgetArea(dock("attention")), Qt::RightDockWidgetArea);
  EXPECT_EQ(w.dockWidgetArea(dock("matrices")), Qt::RightDockWidgetArea);
  EXPECT_EQ(w.dockWidgetArea(dock("modules")), Qt::BottomDockWidgetArea);
  const auto behind_matrices = w.tabifiedDockWidgets(dock("matrices"));
  EXPECT_TRUE(behind_matrices.contains(dock("atlas")));
  EXPECT_TRUE(behind_matrices.contains(dock("heads")));
  EXPECT_TRUE(w.tabifiedDockWidgets(dock("modules")).contains(dock("compare")));
  EXPECT_TRUE(w.tabifiedDockWidgets(dock("experiment")).contains(dock("learn")));
  expectFitsAndApart(w, QSize(1366, 768));
}
