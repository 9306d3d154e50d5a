#include <gtest/gtest.h>
#include <qcustomplot.h>

#include <QFile>
#include <QImage>
#include <QTemporaryDir>
#include <cmath>

#include "attention_map_view.h"
#include "figure_export.h"
#include "loss_chart.h"
#include "matrix_view.h"

using headlab::exportFigure;
using headlab::ExportOptions;
using headlab::FigureFormat;

namespace {
void fill(headlab::LossChart& chart) {
  std::vector<headlab::MetricPoint> pts(200);
  for (int i = 0; i < 200; ++i) {
    pts[i].step = i;
    pts[i].loss = 4.0 * std::exp(-i / 50.0) + 1.0;
    if (i % 50 == 0) pts[i].val_loss = pts[i].loss + 0.1;
  }
  chart.appendMetrics(pts);
  chart.appendEvents({{100, headlab::EventKind::Lr, "lr -> 1e-4"}});
}

QByteArray head(const QString& path, int n) {
  QFile f(path);
  if (!f.open(QIODevice::ReadOnly)) return {};
  return f.read(n);
}
}  // namespace

TEST(FigureExport, PngHasRequestedPixelSizeAndDpi) {
  QTemporaryDir dir;
  headlab::LossChart chart;
  fill(chart);
  ExportOptions o;
  o.width_px = 640;
  o.height_px = 480;
  QString err;
  ASSERT_TRUE(exportFigure(chart.plot(), dir.filePath("a.png"), FigureFormat::Png, o, &err)) << err.toStdString();
  QImage a(dir.filePath("a.png"));
  EXPECT_EQ(a.size(), QSize(640, 480));

  o.width_px = 1501;  // odd size at 300 dpi: rounding must not change the pixel size
  o.height_px = 1000;
  o.dpi = 300;
  ASSERT_TRUE(exportFigure(chart.plot(), dir.filePath("b.png"), FigureFormat::Png, o, &err));
  QImage b(dir.filePath("b.png"));
  EXPECT_EQ(b.size(), QSize(1501, 1000));
  EXPECT_NEAR(b.dotsPerMeterX() * 0.0254, 300.0, 0.5);
  // Something was drawn: not a blank white page.
  bool non_white = false;
  for (int y = 0; y < b.height() && !non_white; y += 7)
    for (int x = 0; x < b.width() && !non_white; x += 7) non_white = b.pixel(x, y) != qRgb(255, 255, 255);
  EXPECT_TRUE(non_white);
}

TEST(FigureExport, SvgAndPdfHaveTheRightMagic) {
  QTemporaryDir dir;
  headlab::LossChart chart;
  fill(chart);
  ExportOptions o;
  o.title = "loss";
  QString err;
  ASSERT_TRUE(exportFigure(chart.plot(), dir.filePath("f.svg"), FigureFormat::Svg, o, &err)) << err.toStdString();
  ASSERT_TRUE(exportFigure(chart.plot(), dir.filePath("f.pdf"), FigureFormat::Pdf, o, &err)) << err.toStdString();
  const QByteArray svg = head(dir.filePath("f.svg"), 200);
  EXPECT_TRUE(svg.startsWith("<?xml") || svg.startsWith("<svg")) << svg.toStdString();
  EXPECT_GT(QFileInfo(dir.filePath("f.svg")).size(), 1000);
  EXPECT_TRUE(head(dir.filePath("f.pdf"), 4).startsWith("%PDF"));
  EXPECT_GT(QFileInfo(dir.filePath("f.pdf")).size(), 1000);
}

TEST(FigureExport, HeatmapViewsExportToo) {
  QTemporaryDir dir;
  auto s = std::make_shared<headlab::ProbeSnapshot>();
  s->n_layers = 1;
  s->n_heads = 1;
  s->seq_len = 3;
  s->token_labels = {"a", "b", "c"};
  s->attention = {1, 0, 0, 0.5f, 0.5f, 0, 0.2f, 0.3f, 0.5f};
  s->matrices.push_back({0, "talking_heads", "pre", {1, 1, {1.2f}}, 0.2f, 0.f, 1.f});
  headlab::AttentionMapView att;
  att.setSnapshot(s);
  headlab::MatrixView mat;
  mat.setSnapshot(s);
  QString err;
  EXPECT_TRUE(exportFigure(att.plot(), dir.filePath("att.svg"), FigureFormat::Svg, {}, &err)) << err.toStdString();
  EXPECT_TRUE(exportFigure(mat.plot(), dir.filePath("mat.pdf"), FigureFormat::Pdf, {}, &err)) << err.toStdString();
  EXPECT_TRUE(exportFigure(mat.plot(), dir.filePath("mat.png"), FigureFormat::Png, {}, &err)) << err.toStdString();
  EXPECT_EQ(QImage(dir.filePath("mat.png")).size(), QSize(1200, 800));
}

TEST(FigureExport, FailuresReturnFalseWithAReason) {
  headlab::LossChart chart;
  QString err;
  EXPECT_FALSE(exportFigure(chart.plot(), "/nonexistent-dir/sub/x.png", FigureFormat::Png, {}, &err));
  EXPECT_FALSE(err.isEmpty());
  EXPECT_FALSE(QFile::exists("/nonexistent-dir/sub/x.png"));
  err.clear();
  EXPECT_FALSE(exportFigure(nullptr, "/tmp/x.png", FigureFormat::Png, {}, &err));
  EXPECT_FALSE(err.isEmpty());
  ExportOptions bad;
  bad.width_px = 0;
  QTemporaryDir dir;
  EXPECT_FALSE(exportFigure(chart.plot(), dir.filePath("z.png"), FigureFormat::Png, bad, &err));
  EXPECT_FALSE(QFile::exists(dir.filePath("z.png")));
}

TEST(FigureExport, FormatFromSuffix) {
  EXPECT_EQ(headlab::figureFormatForPath("a/b.PNG"), FigureFormat::Png);
  EXPECT_EQ(headlab::figureFormatForPath("x.svg"), FigureFormat::Svg);
  EXPECT_EQ(headlab::figureFormatForPath("x.pdf"), FigureFormat::Pdf);
  EXPECT_FALSE(headlab::figureFormatForPath("x.jpg").has_value());
}
