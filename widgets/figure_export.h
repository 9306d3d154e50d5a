#pragma once
// Publication export of any QCustomPlot-based view (loss chart, attention map, matrices).
// The view sets its own title and axis labels; this only renders and writes. Files are
// written atomically (QSaveFile): a failed or interrupted export never leaves a half file.
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

// Renders `plot` into `path`, in the light plot colours (see plot_theme.h). Returns false and sets *error (when given) on failure:
// null plot, bad size or dpi, or a file that cannot be written.
bool exportFigure(QCustomPlot* plot, const QString& path, FigureFormat format,
                  const ExportOptions& options = {}, QString* error = nullptr);

// ".png" / ".svg" / ".pdf" (case-insensitive); nullopt for anything else.
std::optional<FigureFormat> figureFormatForPath(const QString& path);

}  // namespace headlab
