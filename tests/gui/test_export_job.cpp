// Export all as a job (issue #17 item 7): the window keeps handling events between figures,
// a progress dialog counts the files, PNG encoding and writing run on a worker thread, Cancel
// stops between two figures, and Curves as CSV writes the runs drawn for comparison too.
#include <gtest/gtest.h>

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QMutex>
#include <QSvgRenderer>
#include <QThread>
#include <QProgressDialog>
#include <QPushButton>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

#include "attention_map_view.h"
#include "export_controller.h"
#include "loss_chart.h"
#include "main_window.h"
#include "session_launcher.h"
#include "tiny_run.h"

using headlab::gui::ExportController;
using headlab::gui::MainWindow;

namespace {
void openTinyRun(MainWindow& w, const QString& run) {
  headlab::testing::makeTinyRun(run.toStdString(), 10);
  QString error;
  ASSERT_TRUE(w.openPath(run, &error)) << error.toStdString();
  ASSERT_TRUE(QTest::qWaitFor([&] { return !w.launcher()->busy() && w.attentionView()->snapshot(); }, 20000));
}

// A shown window with a tiny run open, exporting small figures in `formats`.
void openForExport(MainWindow& w, const QTemporaryDir& dir, const QList<headlab::FigureFormat>& formats,
                   double dpi = 96.0) {
  w.show();
  openTinyRun(w, dir.filePath("run"));
  headlab::ExportOptions options;
  options.width_px = 400;
  options.height_px = 300;
  options.dpi = dpi;
  w.exporter()->setOptions(options, formats);
}
}  // namespace

TEST(ExportJob, ExportAllRunsFigureByFigureWithProgressAndTheSameFiles) {
  QTemporaryDir dir;
  MainWindow w;
  openForExport(w, dir, {headlab::FigureFormat::Png});
  QString error;
  const QStringList at_once = w.exporter()->exportAll(dir.filePath("sync"), &error);
  ASSERT_TRUE(error.isEmpty()) << error.toStdString();
  ASSERT_GE(at_once.size(), 6);

  w.attentionView()->setLayerHead(1, 0);
  QSignalSpy done(w.exporter(), &ExportController::exportAllDone);
  int turns_during_job = 0;
  QTimer ticker;
  QObject::connect(&ticker, &QTimer::timeout, [&] { turns_during_job += w.exporter()->exportAllRunning(); });
  ticker.start(0);
  ASSERT_TRUE(w.exporter()->startExportAll(dir.filePath("job")));
  EXPECT_TRUE(w.exporter()->exportAllRunning());
  EXPECT_FALSE(w.exporter()->startExportAll(dir.filePath("again")));  // one job at a time
  auto* progress = w.findChild<QProgressDialog*>("exportProgress");
  ASSERT_NE(progress, nullptr);
  EXPECT_EQ(progress->maximum(), at_once.size());
  ASSERT_TRUE(done.wait(60000));
  const QStringList files = done.at(0).at(0).toStringList();
  EXPECT_FALSE(done.at(0).at(1).toBool());
  EXPECT_EQ(files.size(), at_once.size());
  for (const QString& f : files) EXPECT_TRUE(QFileInfo::exists(f)) << f.toStdString();
  // The event loop ran between the figures: the window was never frozen for the whole set.
  EXPECT_GE(turns_during_job, at_once.size() - 1);
  // The views are as the user left them.
  EXPECT_EQ(w.attentionView()->layer(), 1);
  EXPECT_EQ(w.attentionView()->head(), 0);
}

TEST(ExportJob, CancelStopsBetweenTwoFigures) {
  QTemporaryDir dir;
  MainWindow w;
  openForExport(w, dir, {headlab::FigureFormat::Png});
  QSignalSpy done(w.exporter(), &ExportController::exportAllDone);
  ASSERT_TRUE(w.exporter()->startExportAll(dir.filePath("job")));
  auto* progress = w.findChild<QProgressDialog*>("exportProgress");
  ASSERT_NE(progress, nullptr);
  const int total = progress->maximum();
  ASSERT_GE(total, 6);
  // Cancel once two figures are written (the dialog's button does the same).
  QTimer watcher;
  QObject::connect(&watcher, &QTimer::timeout, [&] {
    if (QDir(dir.filePath("job")).entryList(QDir::Files).size() >= 2) {
      if (auto* p = w.findChild<QProgressDialog*>("exportProgress"))
        if (auto* button = p->findChild<QPushButton*>()) button->click();
    }
  });
  watcher.start(0);
  ASSERT_TRUE(done.wait(60000));
  EXPECT_TRUE(done.at(0).at(1).toBool());
  const QStringList files = done.at(0).at(0).toStringList();
  EXPECT_GE(files.size(), 2);
  // The writes under way are finished (at most two wait at once), and no figure after them.
  EXPECT_LT(files.size(), total);
  for (const QString& f : files) EXPECT_TRUE(QFileInfo::exists(f)) << f.toStdString();
  EXPECT_EQ(QDir(dir.filePath("job")).entryList(QDir::Files).size(), files.size()) << "every file on disk is reported";
  EXPECT_FALSE(w.exporter()->exportAllRunning());
}

TEST(ExportJob, FilesAreEncodedAndWrittenOffTheGuiThreadAndComeOutWhole) {
  QTemporaryDir dir;
  MainWindow w;
  openForExport(w, dir, {headlab::FigureFormat::Png, headlab::FigureFormat::Svg}, 150.0);
  QMutex mutex;
  QStringList written_off_gui, written_on_gui;
  w.exporter()->setWriteObserver([&](const QString& path) {
    QMutexLocker lock(&mutex);
    (QThread::currentThread() == qApp->thread() ? written_on_gui : written_off_gui) << path;
  });
  QSignalSpy done(w.exporter(), &ExportController::exportAllDone);
  ASSERT_TRUE(w.exporter()->startExportAll(dir.filePath("job")));
  ASSERT_TRUE(done.wait(60000));
  const QStringList files = done.at(0).at(0).toStringList();
  EXPECT_TRUE(done.at(0).at(2).toString().isEmpty()) << done.at(0).at(2).toString().toStdString();
  ASSERT_GE(files.size(), 12);  // >= 6 figures, two formats each
  EXPECT_TRUE(written_on_gui.isEmpty()) << written_on_gui.join(", ").toStdString();
  EXPECT_EQ(written_off_gui.size(), files.size());
  for (const QString& f : files) {
    if (f.endsWith(".png")) {
      const QImage image(f);
      EXPECT_EQ(image.size(), QSize(400, 300)) << f.toStdString();
      EXPECT_NEAR(image.dotsPerMeterX() * 0.0254, 150.0, 0.5) << f.toStdString();
    } else {
      EXPECT_TRUE(QSvgRenderer(f).isValid()) << f.toStdString();
    }
  }
  // Only the finished files: no temporaries of the atomic writes are left.
  EXPECT_EQ(QDir(dir.filePath("job")).entryList(QDir::Files).size(), files.size());
}

TEST(ExportJob, CurvesCsvWritesTheComparedRunsToo) {
  QTemporaryDir dir;
  MainWindow w;
  openTinyRun(w, dir.filePath("run"));
  const QString other = dir.filePath("other run");
  headlab::testing::makeTinyRun(other.toStdString(), 6);
  QString error;
  ASSERT_TRUE(w.addOverlayRun(other, &error)) << error.toStdString();
  QStringList files;
  ASSERT_TRUE(w.exporter()->exportCurvesCsv(dir.filePath("curves.csv"), &error, &files)) << error.toStdString();
  ASSERT_EQ(files.size(), 2);
  EXPECT_EQ(files[1], dir.filePath("curves.other_run.csv"));
  QFile f(files[1]);
  ASSERT_TRUE(f.open(QIODevice::ReadOnly));
  EXPECT_EQ(QString(f.readAll()).trimmed().split('\n').size(), 1 + 6);  // header + 6 steps
}
