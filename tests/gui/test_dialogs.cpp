// The interactive halves of the menus: each test triggers the real menu action, fills in the
// modal dialog it opens (QFileDialog or the figure-options dialog) the way a user would, and
// checks what the window did with the answer. Also resume of a run directory and the theme.
#include <gtest/gtest.h>

#include <QAction>
#include <QApplication>
#include <QCheckBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QLineEdit>
#include <QMenu>
#include <QMenuBar>
#include <QPushButton>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>
#include <functional>
#include <nlohmann/json.hpp>
#include <qcustomplot.h>

#include "experiment_panel.h"
#include "export_controller.h"
#include "loss_chart.h"
#include "main_window.h"
#include "plot_theme.h"
#include "session_feed.h"
#include "session_launcher.h"
#include "theme.h"
#include "tiny_run.h"
#include "window_status.h"

using headlab::gui::MainWindow;
using headlab::session::RunState;

namespace {

// Runs `act` on the next modal dialog of type D as soon as it is shown: the menu action's
// exec() blocks, so the answer must come from the event loop.
template <class D>
void onNextDialog(std::function<void(D*)> act) {
  auto* timer = new QTimer;
  timer->setInterval(10);
  auto deadline = std::make_shared<int>(1000);  // ~10 s, then give up (the test fails on its checks)
  QObject::connect(timer, &QTimer::timeout, [timer, act, deadline] {
    if (auto* dialog = qobject_cast<D*>(QApplication::activeModalWidget())) {
      timer->stop();
      timer->deleteLater();
      act(dialog);
      // A dialog that did not take the answer must not hang the suite: the test then fails
      // on its checks instead.
      QTimer::singleShot(5000, dialog, [dialog] {
        if (dialog->isVisible()) dialog->reject();
      });
    } else if (--*deadline <= 0) {
      timer->stop();
      timer->deleteLater();
    }
  });
  timer->start();
}

void answerFileDialog(const QString& path, const QString& name_filter = {}) {
  onNextDialog<QFileDialog>([path, name_filter](QFileDialog* d) {
    if (!name_filter.isEmpty()) d->selectNameFilter(name_filter);
    // What a user does: go to the folder, type the name (selectFile of an absolute path that
    // does not exist yet would only change the folder).
    d->setDirectory(QFileInfo(path).absolutePath());
    d->selectFile(QFileInfo(path).fileName());
    // selectFile leaves the name field alone while it has the focus (a save dialog's does).
    if (auto* name = d->findChild<QLineEdit*>("fileNameEdit")) name->setText(QFileInfo(path).fileName());
    static_cast<QDialog*>(d)->accept();  // QFileDialog::accept is protected; the call is virtual
  });
}

QAction* menuAction(QWidget* window, const QString& menu_title, const QString& action_text) {
  for (QAction* top : window->findChild<QMenuBar*>()->actions()) {
    if (!top->menu() || top->text().remove('&') != menu_title) continue;
    for (QAction* a : top->menu()->actions())
      if (a->text().startsWith(action_text)) return a;
  }
  return nullptr;
}

bool waitFor(MainWindow& w, const std::function<bool(const headlab::session::SessionStatus&)>& pred, int ms = 60000) {
  return QTest::qWaitFor(
      [&] {
        w.feed()->poll();
        return pred(headlab::testing::windowStatus(w));
      },
      ms);
}

}  // namespace

TEST(Dialogs, FigureOptionsDialogSetsSizeDpiAndFormatsAndNeedsAFormat) {
  MainWindow w;
  QAction* options = menuAction(&w, "Export", "Figure options");
  ASSERT_NE(options, nullptr);
  bool ok_enabled_without_format = true;
  onNextDialog<QDialog>([&](QDialog* d) {
    d->findChild<QDoubleSpinBox*>("dpi")->setValue(300);
    d->findChild<QSpinBox*>("width")->setValue(800);
    d->findChild<QSpinBox*>("height")->setValue(600);
    auto* png = d->findChild<QCheckBox*>("format_png");
    auto* svg = d->findChild<QCheckBox*>("format_svg");
    auto* pdf = d->findChild<QCheckBox*>("format_pdf");
    png->setChecked(false);
    svg->setChecked(false);
    pdf->setChecked(false);
    auto* ok = d->findChild<QDialogButtonBox*>()->button(QDialogButtonBox::Ok);
    ok_enabled_without_format = ok->isEnabled();
    svg->setChecked(true);
    QTest::mouseClick(ok, Qt::LeftButton);
  });
  options->trigger();
  EXPECT_FALSE(ok_enabled_without_format);
  EXPECT_EQ(w.exporter()->options().dpi, 300);
  EXPECT_EQ(w.exporter()->options().width_px, 800);
  EXPECT_EQ(w.exporter()->options().height_px, 600);
  EXPECT_EQ(w.exporter()->formats(), QList<headlab::FigureFormat>{headlab::FigureFormat::Svg});

  // Cancel changes nothing.
  onNextDialog<QDialog>([](QDialog* d) {
    d->findChild<QDoubleSpinBox*>("dpi")->setValue(72);
    d->reject();
  });
  options->trigger();
  EXPECT_EQ(w.exporter()->options().dpi, 300);
}

TEST(Dialogs, ExportViewDialogWritesTheChosenFormat) {
  QTemporaryDir dir;
  MainWindow w;
  QAction* loss = menuAction(&w, "Export", "Loss chart");
  ASSERT_NE(loss, nullptr);
  // No suffix typed: the chosen filter decides it.
  answerFileDialog(dir.filePath("loss"), "SVG vector (*.svg)");
  loss->trigger();
  QFile svg(dir.filePath("loss.svg"));
  ASSERT_TRUE(svg.open(QIODevice::ReadOnly)) << "the dialog's answer was not exported";
  EXPECT_TRUE(svg.readAll().contains("<svg"));
  EXPECT_FALSE(QFile::exists(dir.filePath("loss.png")));
}

TEST(Dialogs, OpenRunDirectoryAndSaveExperimentThroughTheirDialogs) {
  QTemporaryDir dir;
  const QString run = dir.filePath("run");
  headlab::testing::makeTinyRun(run.toStdString(), 10);
  MainWindow w;
  w.setRunsFolder(dir.path());
  answerFileDialog(run);
  menuAction(&w, "File", "Open run directory")->trigger();
  ASSERT_TRUE(QTest::qWaitFor([&] { return w.feed()->hasSession() && !w.launcher()->busy(); }, 10000));
  EXPECT_EQ(w.runDirectory(), run);
  EXPECT_GT(w.lossChart()->plottedRawPointCount(), 0);

  // Cancelling a dialog leaves everything as it was.
  onNextDialog<QFileDialog>([](QFileDialog* d) { d->reject(); });
  menuAction(&w, "File", "Open run directory")->trigger();
  ASSERT_TRUE(QTest::qWaitFor([&] { return w.feed()->hasSession() && !w.launcher()->busy(); }, 10000));
  EXPECT_EQ(w.runDirectory(), run);

  const QString saved = dir.filePath("experiment.json");
  answerFileDialog(saved);
  menuAction(&w, "File", "Save experiment JSON")->trigger();
  QFile file(saved);
  ASSERT_TRUE(file.open(QIODevice::ReadOnly));
  EXPECT_EQ(nlohmann::json::parse(file.readAll().toStdString()), w.experimentPanel()->config());
}

TEST(Dialogs, ResumeContinuesAnUnfinishedRunToItsLastStep) {
  QTemporaryDir dir;
  const QString run = dir.filePath("unfinished");
  headlab::testing::makeUnfinishedTinyRun(run.toStdString(), 16, 6);
  MainWindow w;
  w.setRunsFolder(dir.path());

  QString error;
  EXPECT_FALSE(w.resumeRun(dir.path(), &error));  // not a run directory
  EXPECT_TRUE(error.contains("not a run directory")) << error.toStdString();

  answerFileDialog(run);
  menuAction(&w, "File", "Resume run directory")->trigger();
  ASSERT_TRUE(QTest::qWaitFor([&] { return w.feed()->hasSession() && !w.launcher()->busy(); }, 10000));
  EXPECT_EQ(w.runDirectory(), run);
  EXPECT_EQ(headlab::testing::windowStatus(w).step, 6);
  EXPECT_EQ(headlab::testing::windowStatus(w).total_steps, 16);
  EXPECT_EQ(headlab::testing::windowStatus(w).state, RunState::Idle);
  EXPECT_EQ(w.lossChart()->plottedRawPointCount(), 6);  // the earlier curve comes back with the run

  // Start goes to the resumed session, not to a new run from the form.
  QAction* start = menuAction(&w, "Run", "Start");
  ASSERT_NE(start, nullptr);
  start->trigger();
  ASSERT_TRUE(waitFor(w, [](const auto& s) { return s.state == RunState::Finished; }));
  EXPECT_EQ(headlab::testing::windowStatus(w).step, 16);
  EXPECT_EQ(w.lossChart()->plottedRawPointCount(), 16);
  EXPECT_EQ(w.runDirectory(), run);
}

TEST(Dialogs, ResumeIsRefusedWithAReasonForARunWithoutCheckpoint) {
  QTemporaryDir dir;
  const QString run = dir.filePath("run");
  headlab::testing::makeUnfinishedTinyRun(run.toStdString(), 16, 6);
  ASSERT_TRUE(QDir(run + "/checkpoints").removeRecursively());
  MainWindow w;
  QString error;
  EXPECT_FALSE(w.resumeRun(run, &error));
  EXPECT_TRUE(error.contains("checkpoint")) << error.toStdString();
  EXPECT_FALSE(w.feed()->hasSession());
}

TEST(Theme, DarkThemeRecoloursThePlotsAndExportsStayLight) {
  MainWindow w;
  QCustomPlot* plot = w.lossChart()->plot();
  ASSERT_EQ(headlab::plotColorsOf(plot), headlab::PlotColors::light());
  QAction* dark = menuAction(&w, "View", "Theme");
  ASSERT_NE(dark, nullptr);
  QAction* dark_item = nullptr;
  for (QAction* a : dark->menu()->actions())
    if (a->text() == "Dark") dark_item = a;
  ASSERT_NE(dark_item, nullptr);
  // A field marked faulty once, then fixed (the learning rate stayed white in the dark theme).
  w.experimentPanel()->lrEdit()->setText("fast");
  ASSERT_TRUE(w.experimentPanel()->lrEdit()->property("faulty").toBool());
  w.experimentPanel()->lrEdit()->setText("3e-3");
  dark_item->trigger();
  QApplication::processEvents();
  EXPECT_EQ(headlab::gui::currentThemeMode(), headlab::gui::ThemeMode::Dark);
  EXPECT_LT(w.experimentPanel()->lrEdit()->palette().color(QPalette::Base).lightness(), 80);
  EXPECT_EQ(w.experimentPanel()->lrEdit()->palette().color(QPalette::Base),
            w.experimentPanel()->headsBox()->palette().color(QPalette::Base));
  EXPECT_TRUE(headlab::isDarkPalette(plot->palette()));
  const auto colors = headlab::plotColorsOf(plot);
  EXPECT_LT(colors.background.lightness(), 80);
  EXPECT_GT(colors.foreground.lightness(), 180);
  EXPECT_EQ(plot->xAxis->tickLabelColor(), colors.foreground);
  // The screen shows the dark background...
  const QImage screen = plot->toPixmap(400, 300).toImage();
  EXPECT_LT(QColor(screen.pixel(2, 2)).lightness(), 80);
  // ...the exported figure is light, and exporting does not change the screen.
  QTemporaryDir dir;
  const QString png = dir.filePath("loss.png");
  ASSERT_TRUE(w.exporter()->exportView(plot, png, "Loss"));
  EXPECT_GT(QColor(QImage(png).pixel(2, 2)).lightness(), 240);
  EXPECT_EQ(headlab::plotColorsOf(plot), colors);
  // Back to the system look (light under the offscreen platform).
  headlab::gui::applyTheme(headlab::gui::ThemeMode::System);
  QApplication::processEvents();
  EXPECT_EQ(headlab::plotColorsOf(plot), headlab::PlotColors::light());
  EXPECT_EQ(headlab::gui::savedThemeMode(), headlab::gui::ThemeMode::System);
}
