// Plot colours follow the widget palette (dark system themes), including elements a view
// adds after the palette changed; figure export always paints the light colours.
#include <gtest/gtest.h>
#include <qcustomplot.h>

#include <QApplication>
#include <QPalette>
#include <QTemporaryDir>

#include "attention_map_view.h"
#include "figure_export.h"
#include "loss_chart.h"
#include "plot_theme.h"

using namespace headlab;

namespace {

QPalette darkTestPalette() {
  QPalette p;
  p.setColor(QPalette::Window, QColor(40, 40, 40));
  p.setColor(QPalette::WindowText, QColor(230, 230, 230));
  p.setColor(QPalette::Base, QColor(20, 22, 24));
  p.setColor(QPalette::Text, QColor(240, 240, 240));
  return p;
}

std::vector<MetricPoint> points(int n) {
  std::vector<MetricPoint> out;
  for (int i = 1; i <= n; ++i) {
    MetricPoint m;
    m.step = i;
    m.tokens = 100 * i;
    m.loss = 3.0 / i;
    out.push_back(m);
  }
  return out;
}

}  // namespace

TEST(PlotTheme, PaletteDecidesTheColours) {
  EXPECT_FALSE(isDarkPalette(QPalette(Qt::white)));
  EXPECT_TRUE(isDarkPalette(darkTestPalette()));
  EXPECT_EQ(plotColorsFor(QPalette(Qt::white)), PlotColors::light());
  const PlotColors dark = plotColorsFor(darkTestPalette());
  EXPECT_EQ(dark.background, QColor(20, 22, 24));  // the palette's Base
  EXPECT_EQ(dark.foreground, QColor(240, 240, 240));  // and its Text
}

TEST(PlotTheme, ViewsFollowAPaletteChangeAndColourLaterElements) {
  LossChart chart;
  chart.resize(500, 350);
  QCustomPlot* plot = chart.plot();
  EXPECT_EQ(plotColorsOf(plot), PlotColors::light());
  chart.setPalette(darkTestPalette());  // reaches the plot as a PaletteChange event
  const PlotColors dark = plotColorsOf(plot);
  EXPECT_EQ(dark.background, QColor(20, 22, 24));
  EXPECT_EQ(plot->yAxis->labelColor(), QColor(240, 240, 240));
  // An overlay added afterwards gets a legend entry; the next replot colours it too.
  chart.addOverlay("other run", points(5));
  plot->replot();
  ASSERT_GT(plot->legend->itemCount(), 0);
  EXPECT_EQ(plot->legend->item(plot->legend->itemCount() - 1)->textColor(), QColor(240, 240, 240));
  const QImage image = plot->toPixmap(500, 350).toImage();
  EXPECT_EQ(QColor(image.pixel(1, 1)), QColor(20, 22, 24));

  AttentionMapView map;
  map.setPalette(darkTestPalette());
  EXPECT_EQ(plotColorsOf(map.plot()).foreground, QColor(240, 240, 240));
}

TEST(PlotTheme, ExportPaintsLightAndRestoresTheScreenColours) {
  LossChart chart;
  chart.appendMetrics(points(20));
  chart.setPalette(darkTestPalette());
  const PlotColors screen = plotColorsOf(chart.plot());
  QTemporaryDir dir;
  ExportOptions o;
  o.width_px = 400;
  o.height_px = 300;
  ASSERT_TRUE(exportFigure(chart.plot(), dir.filePath("f.png"), FigureFormat::Png, o));
  const QImage png(dir.filePath("f.png"));
  EXPECT_EQ(QColor(png.pixel(1, 1)), QColor(Qt::white));
  EXPECT_EQ(plotColorsOf(chart.plot()), screen);
}
