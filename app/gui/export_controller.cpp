#include "export_controller.h"

#include <QCheckBox>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QMenu>
#include <QProgressDialog>
#include <QPushButton>
#include <QRegularExpression>
#include <QSaveFile>
#include <QSettings>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTimer>

#include "attention_map_view.h"
#include "csv_export.h"
#include "head_history.h"
#include "heads_view.h"
#include "io/npy.h"
#include "loss_chart.h"
#include "matrix_view.h"

namespace headlab::gui {

ExportController::ExportController(QWidget* window, const FigureViews& views, QObject* parent)
    : QObject(parent), window_(window), views_(views) {
  QSettings settings;
  options_.dpi = settings.value("export/dpi", 150.0).toDouble();
  options_.width_px = settings.value("export/width", 1500).toInt();
  options_.height_px = settings.value("export/height", 1000).toInt();
  const auto formats = parseFigureFormats(settings.value("export/formats", "png,svg,pdf").toString());
  if (!formats.isEmpty()) formats_ = formats;
  last_dir_ = settings.value("export/dir", QStandardPaths::writableLocation(QStandardPaths::DocumentsLocation)).toString();

  menu_ = new QMenu(tr("&Export"), window);
  menu_->setToolTipsVisible(true);
  auto add = [this](const QString& text, const QString& tip, auto slot) {
    QAction* a = menu_->addAction(text, this, slot);
    a->setToolTip(tip);
    return a;
  };
  add(tr("Loss chart..."), tr("The loss chart as PNG, SVG or PDF"),
      [this] { askViewExport(views_.loss->plot(), "loss", tr("Loss")); });
  add(tr("Attention map..."), tr("The attention map shown now"), [this] {
    askViewExport(views_.attention->plot(),
                  QStringLiteral("attention_layer%1_head%2").arg(views_.attention->layer()).arg(views_.attention->head()),
                  tr("Attention map"));
  });
  add(tr("Cross-head matrices..."), tr("The matrices shown now"), [this] {
    askViewExport(views_.matrices->plot(), QStringLiteral("matrices_layer%1").arg(views_.matrices->layer()),
                  tr("Cross-head matrices"));
  });
  add(tr("Head statistics chart..."), tr("The Heads view's statistic over training, as shown now"), [this] {
    if (!views_.heads) return;
    askViewExport(views_.heads->chart(),
                  QStringLiteral("heads_%1").arg(QString::fromStdString(statisticName(views_.heads->statistic()))),
                  tr("Head statistics"));
  });
  add(tr("Head similarity..."), tr("The head-similarity matrix of the Heads view's layer"), [this] {
    if (!views_.heads) return;
    askViewExport(views_.heads->similarityPlot(), QStringLiteral("head_similarity_layer%1").arg(views_.heads->layer()),
                  tr("Head similarity"));
  });
  menu_->addSeparator();
  export_all_action_ =
      add(tr("Export all figures..."), tr("Every view of this run (every layer and head) in the chosen formats"), [this] {
        const QString dir = askFolder(tr("Export all figures into"));
        if (!dir.isEmpty()) startExportAll(dir);
      });
  add(tr("Curves as CSV..."),
      tr("step, tokens, time, loss, lr and validation loss of every logged step; one more file per run drawn for "
         "comparison"),
      [this] {
        const QString path = QFileDialog::getSaveFileName(window_, tr("Curves as CSV"),
                                                          QDir(last_dir_).filePath("metrics.csv"), tr("CSV (*.csv)"));
        if (path.isEmpty()) return;
        rememberDir(path);
        QString error;
        QStringList files;
        const bool ok = exportCurvesCsv(path, &error, &files);
        report(ok, files.size() > 1 ? tr("Curves written to %1 and %2 more files beside it").arg(path).arg(files.size() - 1)
                                    : tr("Curves written to %1").arg(path),
               error);
      });
  add(tr("Maps and matrices as .npy..."), tr("attention.npy [layers, heads, T, T] and each module matrix, for numpy.load"),
      [this] {
        const QString dir = askFolder(tr("Write .npy files into"));
        if (dir.isEmpty()) return;
        QString error;
        const QStringList files = exportProbeNpy(dir, &error);
        report(error.isEmpty(), tr("%1 files written to %2").arg(files.size()).arg(dir), error);
      });
  menu_->addSeparator();
  add(tr("Figure options..."), tr("Size, DPI and the formats of Export all"), [this] { askOptions(); });
}

void ExportController::setOptions(const ExportOptions& options, const QList<FigureFormat>& formats) {
  options_ = options;
  if (!formats.isEmpty()) formats_ = formats;
  QStringList names;
  for (FigureFormat f : formats_) names << figureFormatSuffix(f);
  QSettings settings;
  settings.setValue("export/dpi", options_.dpi);
  settings.setValue("export/width", options_.width_px);
  settings.setValue("export/height", options_.height_px);
  settings.setValue("export/formats", names.join(','));
}

bool ExportController::exportView(QCustomPlot* plot, const QString& path, const QString& title, QString* error) {
  const auto format = figureFormatForPath(path);
  if (!format) {
    if (error) *error = tr("%1: use a .png, .svg or .pdf file name").arg(path);
    return false;
  }
  ExportOptions o = options_;
  o.title = title;
  return exportFigure(plot, path, *format, o, error);
}

QStringList ExportController::exportAll(const QString& dir, QString* error) {
  return exportAllFigures(views_, dir, formats_, options_, error);
}

bool ExportController::exportCurvesCsv(const QString& path, QString* error, QStringList* written) {
  if (!exportMetricsCsv(views_.loss->metrics(), path, error)) return false;
  if (written) *written << path;
  const QFileInfo info(path);
  for (int i = 0; i < views_.loss->overlayCount(); ++i) {
    // The run's folder name, kept to characters every file system takes.
    QString name = views_.loss->overlayName(i);
    name.replace(QRegularExpression(QStringLiteral("[^A-Za-z0-9._-]")), QStringLiteral("_"));
    const QString overlay = info.dir().filePath(info.completeBaseName() + '.' + name + ".csv");
    if (!exportMetricsCsv(views_.loss->overlayMetrics(i), overlay, error)) return false;
    if (written) *written << overlay;
  }
  return true;
}

ExportController::~ExportController() {
  // A write in flight posts its answer to this object: let it end first (its posted answer is
  // then dropped with the object).
  writers_.waitForDone();
}

bool ExportController::startExportAll(const QString& dir) {
  if (plan_) return false;
  plan_ = std::make_unique<FigureSetPlan>(views_, dir, formats_, options_);
  next_figure_ = 0;
  ++job_id_;
  writes_in_flight_ = 0;
  cancel_requested_ = false;
  job_error_.clear();
  export_dir_ = dir;
  export_all_action_->setEnabled(false);
  const int files = plan_->count() * int(formats_.size());
  progress_ = new QProgressDialog(tr("Exporting figures..."), tr("Cancel"), 0, files, window_);
  progress_->setObjectName("exportProgress");
  progress_->setWindowTitle(tr("Export all figures"));
  // Window-modal: the window keeps drawing, but its views cannot be changed under the job.
  progress_->setWindowModality(Qt::WindowModal);
  progress_->setMinimumDuration(0);
  progress_->setAutoClose(false);
  progress_->setAutoReset(false);
  connect(progress_, &QProgressDialog::canceled, this, &ExportController::cancelExportAll);
  progress_->show();
  QTimer::singleShot(0, this, &ExportController::exportNextFigure);
  return true;
}

void ExportController::exportNextFigure() {
  if (!plan_ || cancel_requested_ || !job_error_.isEmpty()) return;  // ending: writes drain
  if (writes_in_flight_ >= kMaxWritesInFlight) return;  // the next written file calls again
  if (next_figure_ >= plan_->count()) return endExportAllOnceWritten();
  progress_->setLabelText(
      tr("Writing %1 (%2 of %3)").arg(plan_->stem(next_figure_)).arg(next_figure_ + 1).arg(plan_->count()));
  QString error;
  auto figures = plan_->render(next_figure_, &error);
  if (!error.isEmpty()) {
    job_error_ = error;
    return endExportAllOnceWritten();
  }
  ++next_figure_;
  for (auto& figure : figures) startWrite(std::move(figure));
  // Back to the event loop before the next figure: repaints, input and Cancel get through.
  QTimer::singleShot(0, this, &ExportController::exportNextFigure);
}

void ExportController::startWrite(FigureSetPlan::Pending figure) {
  ++writes_in_flight_;
  writers_.start([this, figure = std::move(figure), job = job_id_, observer = write_observer_] {
    if (observer) observer(figure.path);
    QString error;
    writeRenderedFigure(figure.figure, figure.path, &error);
    QMetaObject::invokeMethod(
        this, [this, job, path = figure.path, error] { onFigureWritten(job, path, error); }, Qt::QueuedConnection);
  });
}

void ExportController::onFigureWritten(quint64 job, const QString& path, const QString& error) {
  if (job != job_id_ || !plan_) return;
  --writes_in_flight_;
  if (error.isEmpty())
    plan_->noteWritten(path);
  else if (job_error_.isEmpty())
    job_error_ = error;
  const int written = int(plan_->written().size());
  if (cancel_requested_ || !job_error_.isEmpty() || next_figure_ >= plan_->count())
    endExportAllOnceWritten();
  else
    exportNextFigure();  // it may have waited for room
  // Last: a window-modal progress dialog runs the event loop in setValue, where this job can
  // take its next steps or end.
  if (progress_ && plan_ && job == job_id_) progress_->setValue(written);
}

void ExportController::endExportAllOnceWritten() {
  if (writes_in_flight_ > 0) return;  // the last write's answer comes back here
  finishExportAll(cancel_requested_ && job_error_.isEmpty(), job_error_);
}

void ExportController::cancelExportAll() {
  if (!plan_ || cancel_requested_) return;
  cancel_requested_ = true;
  if (progress_) progress_->setLabelText(tr("Cancelling: finishing the files being written..."));
  endExportAllOnceWritten();
}

void ExportController::finishExportAll(bool cancelled, const QString& error) {
  plan_->finish();
  const QStringList files = plan_->written();
  plan_.reset();
  export_all_action_->setEnabled(true);
  if (progress_) {
    progress_->disconnect(this);
    progress_->close();
    progress_->deleteLater();
    progress_ = nullptr;
  }
  if (cancelled)
    emit exported(tr("Export cancelled: %1 figure files written to %2").arg(files.size()).arg(export_dir_));
  else
    report(error.isEmpty(), tr("%1 figure files written to %2").arg(files.size()).arg(export_dir_), error);
  emit exportAllDone(files, cancelled, error);
}

QStringList ExportController::exportProbeNpy(const QString& dir, QString* error) {
  QStringList written;
  const auto snap = views_.attention ? views_.attention->snapshot() : nullptr;
  if (!snap || snap->seq_len <= 0) {
    if (error) *error = tr("no probe yet: nothing to export");
    return written;
  }
  if (!QDir().mkpath(dir)) {
    if (error) *error = tr("cannot create folder %1").arg(dir);
    return written;
  }
  const QDir out(dir);
  try {
    const QString att = out.filePath("attention.npy");
    io::write_npy(att.toStdString(), snap->attention, {snap->n_layers, snap->n_heads, snap->seq_len, snap->seq_len});
    written << att;
    for (const ModuleMatrix& m : snap->matrices) {
      const QString path = out.filePath(QStringLiteral("layer%1_%2_%3.npy")
                                            .arg(m.layer)
                                            .arg(QString::fromStdString(m.module), QString::fromStdString(m.name)));
      io::write_npy(path.toStdString(), m.matrix.values, {m.matrix.rows, m.matrix.cols});
      written << path;
    }
  } catch (const std::exception& e) {
    if (error) *error = QString::fromStdString(e.what());
    return written;
  }
  QSaveFile tokens(out.filePath("tokens.txt"));
  QString text;
  for (const auto& label : snap->token_labels) text += AttentionMapView::displayToken(label) + '\n';
  if (!tokens.open(QIODevice::WriteOnly) || tokens.write(text.toUtf8()) < 0 || !tokens.commit()) {
    if (error) *error = tr("cannot write %1").arg(tokens.fileName());
    return written;
  }
  written << out.filePath("tokens.txt");
  return written;
}

void ExportController::askViewExport(QCustomPlot* plot, const QString& stem, const QString& title) {
  QString filter;
  const QString path = QFileDialog::getSaveFileName(window_, tr("Export %1").arg(title), QDir(last_dir_).filePath(stem + ".png"),
                                                    tr("PNG image (*.png);;SVG vector (*.svg);;PDF (*.pdf)"), &filter);
  if (path.isEmpty()) return;
  QString target = path;
  if (!figureFormatForPath(target)) target += filter.contains("svg") ? ".svg" : filter.contains("pdf") ? ".pdf" : ".png";
  rememberDir(target);
  QString error;
  report(exportView(plot, target, title, &error), tr("Figure written to %1").arg(target), error);
}

void ExportController::askOptions() {
  QDialog dialog(window_);
  dialog.setWindowTitle(tr("Figure options"));
  auto* form = new QFormLayout(&dialog);
  auto* dpi = new QDoubleSpinBox(&dialog);
  dpi->setObjectName("dpi");
  dpi->setRange(10, 2400);
  dpi->setValue(options_.dpi);
  dpi->setToolTip(tr("PNG: text and lines scale with the DPI; SVG/PDF: sets the page size."));
  auto* width = new QSpinBox(&dialog);
  auto* height = new QSpinBox(&dialog);
  width->setObjectName("width");
  height->setObjectName("height");
  for (QSpinBox* box : {width, height}) box->setRange(100, 20000);
  width->setValue(options_.width_px);
  height->setValue(options_.height_px);
  auto* formats = new QHBoxLayout;
  QList<QPair<FigureFormat, QCheckBox*>> boxes;
  for (FigureFormat f : {FigureFormat::Png, FigureFormat::Svg, FigureFormat::Pdf}) {
    auto* box = new QCheckBox(figureFormatSuffix(f).toUpper(), &dialog);
    box->setObjectName("format_" + figureFormatSuffix(f));
    box->setChecked(formats_.contains(f));
    formats->addWidget(box);
    boxes.append({f, box});
  }
  form->addRow(tr("DPI"), dpi);
  form->addRow(tr("Width (px)"), width);
  form->addRow(tr("Height (px)"), height);
  form->addRow(tr("Export all as"), formats);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, &dialog);
  form->addRow(buttons);
  connect(buttons, &QDialogButtonBox::accepted, &dialog, &QDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
  // Export all with no format would write nothing: OK needs at least one.
  auto update_ok = [buttons, boxes] {
    bool any = false;
    for (const auto& entry : boxes) any = any || entry.second->isChecked();
    buttons->button(QDialogButtonBox::Ok)->setEnabled(any);
    buttons->button(QDialogButtonBox::Ok)->setToolTip(any ? QString() : tr("Pick at least one format"));
  };
  for (const auto& entry : boxes) connect(entry.second, &QCheckBox::toggled, &dialog, update_ok);
  update_ok();
  if (dialog.exec() != QDialog::Accepted) return;
  ExportOptions o = options_;
  o.dpi = dpi->value();
  o.width_px = width->value();
  o.height_px = height->value();
  QList<FigureFormat> chosen;
  for (const auto& [f, box] : boxes)
    if (box->isChecked()) chosen << f;
  setOptions(o, chosen);
}

QString ExportController::askFolder(const QString& caption) {
  const QString dir = QFileDialog::getExistingDirectory(window_, caption, last_dir_);
  if (!dir.isEmpty()) rememberDir(dir + "/");
  return dir;
}

void ExportController::rememberDir(const QString& path) {
  last_dir_ = QFileInfo(path).absolutePath();
  QSettings().setValue("export/dir", last_dir_);
}

void ExportController::report(bool ok, const QString& done, const QString& error) {
  if (ok) emit exported(done);
  else emit failed(tr("Export failed: %1").arg(error));
}

}  // namespace headlab::gui
