#include "plot_theme.h"

#include <qcustomplot.h>

#include <QEvent>
#include <QPalette>

namespace headlab {
namespace {

constexpr const char* kColorsProperty = "headlabPlotColors";

void styleAxis(QCPAxis* axis, const PlotColors& c) {
  const QPen pen(c.foreground, 0);
  axis->setBasePen(pen);
  axis->setTickPen(pen);
  axis->setSubTickPen(pen);
  axis->setTickLabelColor(c.foreground);
  axis->setLabelColor(c.foreground);
  axis->grid()->setPen(QPen(c.grid, 0, Qt::DotLine));
  axis->grid()->setSubGridPen(QPen(c.subgrid, 0, Qt::DotLine));
  axis->grid()->setZeroLinePen(Qt::NoPen);
}

// Keeps a plot's colours in step with its palette; owned by the plot.
class PaletteFollower : public QObject {
 public:
  explicit PaletteFollower(QCustomPlot* plot) : QObject(plot), plot_(plot) {}

 protected:
  bool eventFilter(QObject* watched, QEvent* event) override {
    if (watched == plot_ && event->type() == QEvent::PaletteChange) {
      const PlotColors wanted = plotColorsFor(plot_->palette());
      if (!(wanted == plotColorsOf(plot_))) {
        applyPlotColors(plot_, wanted);
        plot_->replot(QCustomPlot::rpQueuedReplot);
      }
    }
    return QObject::eventFilter(watched, event);
  }

 private:
  QCustomPlot* plot_;
};

}  // namespace

PlotColors PlotColors::light() { return {Qt::white, QColor(30, 30, 30), QColor(200, 200, 200), QColor(230, 230, 230)}; }
PlotColors PlotColors::dark() { return {QColor(35, 38, 41), QColor(225, 225, 225), QColor(80, 84, 88), QColor(58, 61, 64)}; }

bool isDarkPalette(const QPalette& palette) {
  return palette.color(QPalette::Window).lightness() < palette.color(QPalette::WindowText).lightness();
}

PlotColors plotColorsFor(const QPalette& palette) {
  if (!isDarkPalette(palette)) return PlotColors::light();
  PlotColors c = PlotColors::dark();
  c.background = palette.color(QPalette::Base);  // the same ground as the tables beside it
  c.foreground = palette.color(QPalette::Text);
  return c;
}

void applyPlotColors(QCustomPlot* plot, const PlotColors& c) {
  if (!plot) return;
  plot->setBackground(QBrush(c.background));
  for (QCPAxisRect* rect : plot->axisRects()) {
    rect->setBackground(Qt::NoBrush);
    for (QCPAxis* axis : rect->axes()) styleAxis(axis, c);
  }
  for (QCPLayoutElement* element : plot->plotLayout()->elements(true)) {
    if (auto* text = qobject_cast<QCPTextElement*>(element)) text->setTextColor(c.foreground);
    if (auto* scale = qobject_cast<QCPColorScale*>(element)) styleAxis(scale->axis(), c);
    if (auto* legend = qobject_cast<QCPLegend*>(element)) {
      legend->setBrush(QBrush(c.background));
      legend->setBorderPen(QPen(c.grid));
      legend->setTextColor(c.foreground);
      for (int i = 0; i < legend->itemCount(); ++i)
        if (auto* item = legend->item(i)) item->setTextColor(c.foreground);
    }
  }
  plot->setProperty(kColorsProperty, QVariant::fromValue(QList<QColor>{c.background, c.foreground, c.grid, c.subgrid}));
}

PlotColors plotColorsOf(const QCustomPlot* plot) {
  const auto list = plot ? plot->property(kColorsProperty).value<QList<QColor>>() : QList<QColor>{};
  if (list.size() != 4) return PlotColors::light();
  return {list[0], list[1], list[2], list[3]};
}

void followPaletteTheme(QCustomPlot* plot) {
  if (!plot) return;
  applyPlotColors(plot, plotColorsFor(plot->palette()));
  plot->installEventFilter(new PaletteFollower(plot));
  // Views add axis rects, titles and legend entries as data arrives; colour them too.
  QObject::connect(plot, &QCustomPlot::beforeReplot, plot, [plot] { applyPlotColors(plot, plotColorsOf(plot)); });
}

void setUpLineChart(QCustomPlot* plot, const QFont& base, int corner) {
  plot->legend->setVisible(true);
  QFont legend_font = base;
  legend_font.setPointSizeF(legend_font.pointSizeF() * 0.85);
  plot->legend->setFont(legend_font);
  plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::Alignment(corner));
  plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
}

}  // namespace headlab
