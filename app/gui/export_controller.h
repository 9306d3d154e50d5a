#pragma once
// The Export menu: each view to PNG (at the chosen DPI), SVG or PDF; "Export all figures"
// of the current run; the curves as CSV; attention maps and cross-head matrices as .npy.
// Figure size, DPI and the formats of "Export all" are remembered in QSettings.
#include <QList>
#include <QObject>
#include <QString>
#include <QStringList>
#include <memory>

#include "figure_set.h"
#include "probe/snapshot.h"

class QMenu;
class QWidget;
class QCustomPlot;

namespace headlab::gui {

class ExportController : public QObject {
  Q_OBJECT

 public:
  ExportController(QWidget* window, const FigureViews& views, QObject* parent = nullptr);

  QMenu* menu() const { return menu_; }

  ExportOptions options() const { return options_; }
  QList<FigureFormat> formats() const { return formats_; }
  void setOptions(const ExportOptions& options, const QList<FigureFormat>& formats);  // and saves them

  // The non-interactive halves of the menu's actions (return false / set *error on failure).
  bool exportView(QCustomPlot* plot, const QString& path, const QString& title, QString* error = nullptr);
  QStringList exportAll(const QString& dir, QString* error = nullptr);
  bool exportCurvesCsv(const QString& path, QString* error = nullptr);
  // attention.npy [layers, heads, T, T] and one layerL_module_name.npy per module matrix,
  // plus tokens.txt (one label per line) so the axes can be labelled in Python.
  QStringList exportProbeNpy(const QString& dir, QString* error = nullptr);

 signals:
  void exported(const QString& message);  // for the status bar
  void failed(const QString& message);

 private:
  void askViewExport(QCustomPlot* plot, const QString& stem, const QString& title);
  void askOptions();
  QString askFolder(const QString& caption);
  void report(bool ok, const QString& done, const QString& error);
  void rememberDir(const QString& path);

  QWidget* window_;
  FigureViews views_;
  QMenu* menu_ = nullptr;
  ExportOptions options_;
  QList<FigureFormat> formats_{FigureFormat::Png, FigureFormat::Svg, FigureFormat::Pdf};
  QString last_dir_;
};

}  // namespace headlab::gui
