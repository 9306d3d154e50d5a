#pragma once
// Publication export of any QCustomPlot-based view (loss chart, attention map, matrices).
// The view sets its own title and axis labels; this only renders and writes. Files are
// written atomically (QSaveFile): a failed or interrupted export never leaves a half file.
#include <QByteArray>
#include <QImage>
#include <QString>
#include <optional>

class QCustomPlot;

namespace headlab {

enum class FigureFormat { Png, Svg, Pdf };

struct ExportOptions {
  // Size of the figure in pixels. PNG: the image is exactly width_px x height_px.
  int width_px = 1200;
  int height_px = 800;
  // PNG: text and lines scale by dpi/96 (a 300-dpi figure has print-sized text) and the
  // dpi is stored in the file. SVG/PDF: the physical page is width_px/dpi inches wide.
  double dpi = 96.0;
  // Document title metadata (SVG <title>, PDF title). The visible title is the view's.
  QString title;
};

// A figure painted but not yet in a file. Painting needs the plot, a widget, so it happens on
// the GUI thread; encoding a PNG (most of the time of a 300-dpi figure) and writing do not,
// so "Export all" hands this to a worker thread while the window draws on.
struct RenderedFigure {
  FigureFormat format = FigureFormat::Png;
  QImage image;      // PNG: the pixels, dpi set
  QByteArray bytes;  // SVG, PDF: the finished document
};

// Paints `plot` in the light plot colours (see plot_theme.h) at the options' size. GUI thread.
// nullopt and *error (when given) on failure: null plot, bad size or dpi, a painter that fails.
std::optional<RenderedFigure> renderFigure(QCustomPlot* plot, FigureFormat format, const ExportOptions& options = {},
                                           QString* error = nullptr);
// Encodes and writes `figure` to `path` atomically (QSaveFile). Any thread.
bool writeRenderedFigure(const RenderedFigure& figure, const QString& path, QString* error = nullptr);

// renderFigure then writeRenderedFigure. Returns false and sets *error (when given) on failure.
bool exportFigure(QCustomPlot* plot, const QString& path, FigureFormat format,
                  const ExportOptions& options = {}, QString* error = nullptr);

// ".png" / ".svg" / ".pdf" (case-insensitive); nullopt for anything else.
std::optional<FigureFormat> figureFormatForPath(const QString& path);

}  // namespace headlab
