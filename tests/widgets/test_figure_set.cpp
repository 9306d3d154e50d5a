#include <gtest/gtest.h>

#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QTemporaryDir>

#include "attention_map_view.h"
#include "figure_set.h"
#include "loss_chart.h"
#include "matrix_view.h"

using headlab::FigureFormat;

namespace {

std::shared_ptr<headlab::ProbeSnapshot> snapshot() {
  auto s = std::make_shared<headlab::ProbeSnapshot>();
  s->n_layers = 2;
  s->n_heads = 2;
  s->seq_len = 3;
  s->token_labels = {"a", "b", "c"};
  const std::vector<float> map = {1, 0, 0, 0.5f, 0.5f, 0, 0.2f, 0.3f, 0.5f};
  for (int i = 0; i < 4; ++i) s->attention.insert(s->attention.end(), map.begin(), map.end());
  s->matrices.push_back({0, "kha", "t_q", {2, 2, {1.1f, 0.1f, 0.f, 0.9f}}, 0.17f, 0.1f, 2.f});
  return s;
}

}  // namespace

TEST(FigureSet, ExportsEveryViewInEveryFormatAndRestoresTheSelection) {
  QTemporaryDir dir;
  headlab::LossChart chart;
  std::vector<headlab::MetricPoint> points(50);
  for (int i = 0; i < 50; ++i) points[i] = {i, 3.0 - i * 0.02, 1e-3, i * 100, i * 0.1, {}};
  chart.appendMetrics(points);
  chart.appendEvents({{20, headlab::EventKind::Module, "bypass kha in layer 0"}});
  headlab::AttentionMapView attention;
  headlab::MatrixView matrices;
  const auto snap = snapshot();
  attention.setSnapshot(snap);
  matrices.setSnapshot(snap);
  attention.setLayerHead(1, 0);

  headlab::ExportOptions options;
  options.width_px = 400;
  options.height_px = 300;
  QString error;
  const QStringList files = headlab::exportAllFigures({&chart, &attention, &matrices}, dir.filePath("figs"),
                                                      {FigureFormat::Png, FigureFormat::Svg}, options, &error);
  EXPECT_TRUE(error.isEmpty()) << error.toStdString();
  QStringList names;
  for (const QString& f : files) names << QFileInfo(f).fileName();
  const QStringList expected = {"loss.png", "loss.svg",
                                "attention_layer0_head0.png", "attention_layer0_head0.svg",
                                "attention_layer0_head1.png", "attention_layer0_head1.svg",
                                "attention_layer1_head0.png", "attention_layer1_head0.svg",
                                "attention_layer1_head1.png", "attention_layer1_head1.svg",
                                "matrices_layer0.png", "matrices_layer0.svg"};  // layer 1 has no module
  EXPECT_EQ(names, expected);
  for (const QString& f : files) EXPECT_GT(QFileInfo(f).size(), 500) << f.toStdString();
  EXPECT_EQ(QImage(dir.filePath("figs/attention_layer1_head1.png")).size(), QSize(400, 300));
  EXPECT_EQ(attention.layer(), 1);
  EXPECT_EQ(attention.head(), 0);
  EXPECT_EQ(matrices.layer(), 0);
}

TEST(FigureSet, EmptyViewsAreSkippedAndFailuresReported) {
  QTemporaryDir dir;
  headlab::LossChart chart;
  headlab::AttentionMapView attention;
  QString error;
  EXPECT_TRUE(headlab::exportAllFigures({&chart, &attention, nullptr}, dir.path(), {FigureFormat::Pdf}, {}, &error)
                  .isEmpty());
  EXPECT_TRUE(error.isEmpty());
  chart.appendMetrics({{0, 1.0, 1e-3, 0, 0, {}}, {1, 0.9, 1e-3, 10, 0.1, {}}});
  EXPECT_TRUE(headlab::exportAllFigures({&chart, nullptr, nullptr}, "/proc/no-such-dir/x", {FigureFormat::Pdf}, {}, &error)
                  .isEmpty());
  EXPECT_FALSE(error.isEmpty());
}

TEST(FigureSet, ParsesFormatLists) {
  QString error;
  EXPECT_EQ(headlab::parseFigureFormats("png, pdf,png", &error), (QList<FigureFormat>{FigureFormat::Png, FigureFormat::Pdf}));
  EXPECT_TRUE(headlab::parseFigureFormats("png,jpg", &error).isEmpty());
  EXPECT_TRUE(error.contains("jpg"));
  EXPECT_TRUE(headlab::parseFigureFormats("", &error).isEmpty());
}
