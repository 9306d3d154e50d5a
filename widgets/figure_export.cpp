#include "figure_export.h"

#include <qcustomplot.h>

#include <QBuffer>
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

QImage paintPng(QCustomPlot* plot, const ExportOptions& o) {
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
  return image;
}

bool paintSvg(QCustomPlot* plot, QBuffer& out, const ExportOptions& o, QString* error) {
  QSvgGenerator svg;
  svg.setOutputDevice(&out);
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

// The same recipe as QCustomPlot::savePdf.
bool paintPdf(QCustomPlot* plot, QBuffer& out, const ExportOptions& o, QString* error) {
  QPdfWriter pdf(&out);
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

std::optional<RenderedFigure> renderFigure(QCustomPlot* plot, FigureFormat format, const ExportOptions& options,
                                           QString* error) {
  QString problem;
  constexpr int kMaxSide = 20000;  // ~1.6 GB of ARGB beyond this: a typo, not a figure
  if (!plot)
    problem = QObject::tr("nothing to export");
  else if (options.width_px <= 0 || options.height_px <= 0 || options.width_px > kMaxSide ||
           options.height_px > kMaxSide)
    problem = QObject::tr("invalid figure size %1 x %2 px").arg(options.width_px).arg(options.height_px);
  else if (!(options.dpi >= 10.0 && options.dpi <= 2400.0))
    problem = QObject::tr("invalid dpi %1").arg(options.dpi);
  if (!problem.isEmpty()) {
    fail(error, problem);
    return std::nullopt;
  }

  RenderedFigure figure;
  figure.format = format;
  // Figures are for papers and slides: dark ink on white, whatever theme the screen shows.
  const PlotColors screen = plotColorsOf(plot);
  applyPlotColors(plot, PlotColors::light());
  bool ok = true;
  if (format == FigureFormat::Png) {
    figure.image = paintPng(plot, options);
  } else {
    QBuffer buffer(&figure.bytes);
    buffer.open(QIODevice::WriteOnly);
    ok = format == FigureFormat::Svg ? paintSvg(plot, buffer, options, error) : paintPdf(plot, buffer, options, error);
  }
  applyPlotColors(plot, screen);
  // toPainter re-laid the plot out at the export size; put the on-screen layout back.
  plot->replot(QCustomPlot::rpQueuedReplot);
  if (!ok) return std::nullopt;
  return figure;
}

bool writeRenderedFigure(const RenderedFigure& figure, const QString& path, QString* error) {
  QSaveFile file(path);
  if (!file.open(QIODevice::WriteOnly))
    return fail(error, QObject::tr("cannot write %1: %2").arg(path, file.errorString()));
  const bool written = figure.format == FigureFormat::Png ? figure.image.save(&file, "PNG")
                                                          : file.write(figure.bytes) == figure.bytes.size();
  if (!written) {
    const QString why = figure.format == FigureFormat::Png ? QObject::tr("cannot encode PNG for %1").arg(path)
                                                           : QObject::tr("cannot write %1: %2").arg(path, file.errorString());
    file.cancelWriting();
    return fail(error, why);
  }
  if (!file.commit()) return fail(error, QObject::tr("cannot save %1: %2").arg(path, file.errorString()));
  return true;
}

bool exportFigure(QCustomPlot* plot, const QString& path, FigureFormat format, const ExportOptions& options,
                  QString* error) {
  const auto figure = renderFigure(plot, format, options, error);
  return figure && writeRenderedFigure(*figure, path, error);
}

}  // namespace headlab
