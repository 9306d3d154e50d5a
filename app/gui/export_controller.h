#pragma once
// The Export menu: each view to PNG (at the chosen DPI), SVG or PDF; "Export all figures"
// of the current run; the curves as CSV; attention maps and cross-head matrices as .npy.
// Figure size, DPI and the formats of "Export all" are remembered in QSettings.
#include <QList>
#include <QObject>
#include <QString>
#include <QStringList>
#include <QThreadPool>
#include <functional>
#include <memory>

#include "figure_set.h"
#include "probe/snapshot.h"

class QAction;
class QMenu;
class QProgressDialog;
class QWidget;
class QCustomPlot;

namespace headlab::gui {

class ExportController : public QObject {
  Q_OBJECT

 public:
  ExportController(QWidget* window, const FigureViews& views, QObject* parent = nullptr);
  ~ExportController() override;  // waits for figure writes in progress

  QMenu* menu() const { return menu_; }

  ExportOptions options() const { return options_; }
  QList<FigureFormat> formats() const { return formats_; }
  void setOptions(const ExportOptions& options, const QList<FigureFormat>& formats);  // and saves them

  // The non-interactive halves of the menu's actions (return false / set *error on failure).
  bool exportView(QCustomPlot* plot, const QString& path, const QString& title, QString* error = nullptr);
  QStringList exportAll(const QString& dir, QString* error = nullptr);
  // The live run's curves to `path`; each run drawn next to it (File > Compare with run) to
  // PATH-STEM.RUN-NAME.csv beside it, same columns. `written` gets every file.
  bool exportCurvesCsv(const QString& path, QString* error = nullptr, QStringList* written = nullptr);

  // Export all as a job: one figure painted per event-loop turn, so the window keeps drawing,
  // with a progress dialog (object name "exportProgress", one step per file) whose Cancel
  // stops between two figures. The views are widgets, so the GUI thread paints them; PNG
  // encoding and the file writes run on a worker thread, overlapping the next figure. Ends
  // with exportAllDone once every write has ended; false when a job is running already.
  bool startExportAll(const QString& dir);
  bool exportAllRunning() const { return plan_ != nullptr; }
  void cancelExportAll();
  // Called on the writing thread with each file's path, just before it is written (tests).
  void setWriteObserver(std::function<void(const QString&)> observer) { write_observer_ = std::move(observer); }
  // attention.npy [layers, heads, T, T] and one layerL_module_name.npy per module matrix,
  // plus tokens.txt (one label per line) so the axes can be labelled in Python.
  QStringList exportProbeNpy(const QString& dir, QString* error = nullptr);

 signals:
  void exported(const QString& message);  // for the status bar
  void failed(const QString& message);
  void exportAllDone(const QStringList& files, bool cancelled, const QString& error);

 private:
  void askViewExport(QCustomPlot* plot, const QString& stem, const QString& title);
  void askOptions();
  QString askFolder(const QString& caption);
  void report(bool ok, const QString& done, const QString& error);
  void rememberDir(const QString& path);
  void exportNextFigure();
  void startWrite(FigureSetPlan::Pending figure);
  void onFigureWritten(quint64 job, const QString& path, const QString& error);
  void endExportAllOnceWritten();
  void finishExportAll(bool cancelled, const QString& error);

  QWidget* window_;
  FigureViews views_;
  QMenu* menu_ = nullptr;
  ExportOptions options_;
  QList<FigureFormat> formats_{FigureFormat::Png, FigureFormat::Svg, FigureFormat::Pdf};
  QString last_dir_;
  std::unique_ptr<FigureSetPlan> plan_;  // the Export all job in progress
  int next_figure_ = 0;
  QString export_dir_;
  QProgressDialog* progress_ = nullptr;
  QAction* export_all_action_ = nullptr;
  // The job's writes: at most kMaxWritesInFlight figures wait in memory at once.
  static constexpr int kMaxWritesInFlight = 2;
  QThreadPool writers_;
  int writes_in_flight_ = 0;
  quint64 job_id_ = 0;      // a write's answer counts only for the job that started it
  bool cancel_requested_ = false;
  QString job_error_;       // the first failure; the job ends once its writes have
  std::function<void(const QString&)> write_observer_;
};

}  // namespace headlab::gui
