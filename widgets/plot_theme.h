#pragma once
// Light and dark colours for the QCustomPlot views. QCustomPlot paints with its own pens and
// brushes (white background, black axes) and ignores the widget palette, so on a dark system
// theme the plots would be white islands; followPaletteTheme() keeps a plot in step with its
// widget's palette, including when the palette changes while the app runs. Exported figures
// always use the light colours (exportFigure applies them for the duration of the export):
// papers and slides want dark ink on white whatever the screen shows.
#include <QColor>

class QFont;

class QCustomPlot;
class QPalette;

namespace headlab {

struct PlotColors {
  QColor background;
  QColor foreground;  // axes, ticks, tick labels, axis labels, titles, legend text
  QColor grid;
  QColor subgrid;

  static PlotColors light();
  static PlotColors dark();
  bool operator==(const PlotColors& o) const {
    return background == o.background && foreground == o.foreground && grid == o.grid && subgrid == o.subgrid;
  }
};

// A palette is dark when its window colour is darker than its text colour.
bool isDarkPalette(const QPalette& palette);
PlotColors plotColorsFor(const QPalette& palette);

// Sets every axis, grid, title, legend and colour-scale axis of `plot` to `colors`; no replot.
void applyPlotColors(QCustomPlot* plot, const PlotColors& colors);
// What applyPlotColors last set on `plot` (light() if never).
PlotColors plotColorsOf(const QCustomPlot* plot);

// Applies plotColorsFor(plot->palette()) now and again (with a replot) whenever the plot's
// palette changes: the application's theme switching or a parent setting a palette. Every
// replot re-applies them, so elements the view adds later (axis rects, legend entries) match.
void followPaletteTheme(QCustomPlot* plot);

// The line charts' common set-up: a legend in a slightly smaller font than `base` at
// `corner` (a Qt::Alignment) of the axis rect, and drag and wheel zoom.
void setUpLineChart(QCustomPlot* plot, const QFont& base, int corner);

}  // namespace headlab
