#include "figure_export.h"

#include <qcustomplot.h>

#include <QFileInfo>
#include <QImage>
#include <QPageSize>
#include <QPdfWriter>
#include <QSaveFile>
#include <QSvgGenerator>

#include "plot_theme.h"

namespace headlab {
namespace {

// QCustomPlot lays text out with the screen's font metrics. Painting onto a device with the
// same logical dpi keeps every label where the layout put it; the requested dpi is applied
// separately (PNG: by scaling, SVG/PDF: by the physical page size).
int layoutDpi(const QCustomPlot* plot) { return plot->logicalDpiX() > 0 ? plot->logicalDpiX() : 96; }

bool fail(QString* error, const QString& message) {
  if (error) *error = message;
  return false;
}

bool openTarget(QSaveFile& file, QString* error) {
  if (file.open(QIODevice::WriteOnly)) return true;
  return fail(error, QObject::tr("cannot write %1: %2").arg(file.fileName(), file.errorString()));
}

bool commit(QSaveFile& file, QString* error) {
  if (file.commit()) return true;
  return fail(error, QObject::tr("cannot save %1: %2").arg(file.fileName(), file.errorString()));
}

bool writePng(QCustomPlot* plot, QSaveFile& file, const ExportOptions& o, QString* error) {
  const double scale = o.dpi / 96.0;
  const int logical_w = std::max(1, qRound(o.width_px / scale));
  const int logical_h = std::max(1, qRound(o.height_px / scale));
  QImage image(o.width_px, o.height_px, QImage::Format_ARGB32_Premultiplied);
  image.fill(Qt::white);
  const int dpm_layout = qRound(layoutDpi(plot) / 0.0254);
  image.setDotsPerMeterX(dpm_layout);
  image.setDotsPerMeterY(dpm_layout);
  {
    QCPPainter painter(&image);
    painter.setMode(QCPPainter::pmNoCaching);
    // Cosmetic (1-px) pens would stay hairlines at 300 dpi; scale them with everything else.
    if (scale > 1.0) painter.setMode(QCPPainter::pmNonCosmetic);
    // Exact factors per axis so rounding of the logical size never changes the pixel size.
    painter.scale(double(o.width_px) / logical_w, double(o.height_px) / logical_h);
    plot->toPainter(&painter, logical_w, logical_h);
  }
  const int dpm = qRound(o.dpi / 0.0254);
  image.setDotsPerMeterX(dpm);
  image.setDotsPerMeterY(dpm);
  if (!image.save(&file, "PNG"))
    return fail(error, QObject::tr("cannot encode PNG for %1").arg(file.fileName()));
  return true;
}

bool writeSvg(QCustomPlot* plot, QSaveFile& file, const ExportOptions& o, QString* error) {
  QSvgGenerator svg;
  svg.setOutputDevice(&file);
  svg.setSize(QSize(o.width_px, o.height_px));
  svg.setViewBox(QRect(0, 0, o.width_px, o.height_px));
  svg.setResolution(layoutDpi(plot));
  svg.setTitle(o.title);
  svg.setDescription(QObject::tr("HeadLab figure"));
  QCPPainter painter;
  if (!painter.begin(&svg)) return fail(error, QObject::tr("cannot start SVG painter"));
  painter.setMode(QCPPainter::pmVectorized);
  painter.setMode(QCPPainter::pmNoCaching);
  plot->toPainter(&painter, o.width_px, o.height_px);
  painter.end();
  return true;
}

// The same recipe as QCustomPlot::savePdf, but onto a QSaveFile so the write is atomic.
bool writePdf(QCustomPlot* plot, QSaveFile& file, const ExportOptions& o, QString* error) {
  QPdfWriter pdf(&file);
  pdf.setCreator(QStringLiteral("HeadLab"));
  pdf.setTitle(o.title);
  pdf.setResolution(layoutDpi(plot));
  const QSizeF points(o.width_px * 72.0 / o.dpi, o.height_px * 72.0 / o.dpi);
  pdf.setPageLayout(QPageLayout(QPageSize(points, QPageSize::Point, QString(), QPageSize::ExactMatch),
                                QPageLayout::Portrait, QMarginsF(0, 0, 0, 0)));
  QCPPainter painter;
  if (!painter.begin(&pdf)) return fail(error, QObject::tr("cannot start PDF painter"));
  painter.setMode(QCPPainter::pmVectorized);
  painter.setMode(QCPPainter::pmNoCaching);
  painter.setWindow(0, 0, o.width_px, o.height_px);  // logical units = figure pixels
  plot->toPainter(&painter, o.width_px, o.height_px);
  painter.end();
  return true;
}

}  // namespace

std::optional<FigureFormat> figureFormatForPath(const QString& path) {
  const QString suffix = QFileInfo(path).suffix().toLower();
  if (suffix == "png") return FigureFormat::Png;
  if (suffix == "svg") return FigureFormat::Svg;
  if (suffix == "pdf") return FigureFormat::Pdf;
  return std::nullopt;
}

bool exportFigure(QCustomPlot* plot, const QString& path, FigureFormat format,
                  const ExportOptions& options, QString* error) {
  if (!plot) return fail(error, QObject::tr("nothing to export"));
  constexpr int kMaxSide = 20000;  // ~1.6 GB of ARGB beyond this: a typo, not a figure
  if (options.width_px <= 0 || options.height_px <= 0 || options.width_px > kMaxSide ||
      options.height_px > kMaxSide)
    return fail(error, QObject::tr("invalid figure size %1 x %2 px")
                           .arg(options.width_px).arg(options.height_px));
  if (!(options.dpi >= 10.0 && options.dpi <= 2400.0))
    return fail(error, QObject::tr("invalid dpi %1").arg(options.dpi));

  QSaveFile file(path);
  if (!openTarget(file, error)) return false;
  // Figures are for papers and slides: dark ink on white, whatever theme the screen shows.
  const PlotColors screen = plotColorsOf(plot);
  applyPlotColors(plot, PlotColors::light());
  bool ok = false;
  switch (format) {
    case FigureFormat::Png: ok = writePng(plot, file, options, error); break;
    case FigureFormat::Svg: ok = writeSvg(plot, file, options, error); break;
    case FigureFormat::Pdf: ok = writePdf(plot, file, options, error); break;
  }
  applyPlotColors(plot, screen);
  // toPainter re-laid the plot out at the export size; put the on-screen layout back.
  plot->replot(QCustomPlot::rpQueuedReplot);
  if (!ok) {
    file.cancelWriting();
    return false;
  }
  return commit(file, error);
}

}  // namespace headlab
