// headlab --export-figures: every figure of a saved run, without a window.
#include <gtest/gtest.h>

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QProcess>
#include <QTemporaryDir>
#include <sstream>

#include "headless_export.h"
#include "offline_probe.h"
#include "tiny_run.h"

using headlab::FigureFormat;

namespace {

// One tiny run for every test of this file (training it takes a second or two).
const QString& tinyRun() {
  static QTemporaryDir dir;
  static const QString run = [] {
    const QString path = dir.filePath("run");
    headlab::testing::makeTinyRun(path.toStdString(), 12);
    return path;
  }();
  return run;
}

QByteArray head(const QString& path, int n) {
  QFile f(path);
  return f.open(QIODevice::ReadOnly) ? f.read(n) : QByteArray();
}

void expectFigureSet(const QString& out, int png_w, int png_h) {
  // 2 layers x 2 heads, modules in both layers.
  QStringList stems = {"loss", "matrices_layer0", "matrices_layer1"};
  for (int l = 0; l < 2; ++l)
    for (int h = 0; h < 2; ++h) stems << QStringLiteral("attention_layer%1_head%2").arg(l).arg(h);
  for (const QString& stem : stems) {
    const QString png = out + "/" + stem + ".png", svg = out + "/" + stem + ".svg", pdf = out + "/" + stem + ".pdf";
    EXPECT_EQ(QImage(png).size(), QSize(png_w, png_h)) << png.toStdString();
    EXPECT_GT(QFileInfo(svg).size(), 1000) << svg.toStdString();
    EXPECT_TRUE(head(svg, 100).contains("<svg") || head(svg, 100).startsWith("<?xml")) << svg.toStdString();
    EXPECT_TRUE(head(pdf, 4).startsWith("%PDF")) << pdf.toStdString();
    EXPECT_GT(QFileInfo(pdf).size(), 1000) << pdf.toStdString();
  }
  EXPECT_EQ(QDir(out).entryList(QDir::Files).size(), stems.size() * 3);
}

}  // namespace

TEST(ExportFigures, OfflineProbeUsesTheNewestModelAndTheTaskProbe) {
  const std::string run = tinyRun().toStdString();
  EXPECT_EQ(headlab::gui::newestModelPath(run), run + "/model");
  const auto probe = headlab::gui::probeRunDirectory(run);
  ASSERT_TRUE(probe.snapshot);
  EXPECT_EQ(probe.snapshot->n_layers, 2);
  EXPECT_EQ(probe.snapshot->n_heads, 2);
  EXPECT_EQ(probe.snapshot->seq_len, 16);  // train.seq_len tokens of the induction task
  EXPECT_EQ(probe.snapshot->step, 12);
  EXPECT_EQ(probe.snapshot->token_labels.size(), 16u);
  EXPECT_FALSE(probe.snapshot->matrices.empty());
  const auto text = headlab::gui::probeRunDirectory(run, "abcabc");
  EXPECT_EQ(text.snapshot->seq_len, 6);
  EXPECT_EQ(text.snapshot->token_labels.front(), "a");
}

TEST(ExportFigures, WritesEveryFigureInEveryFormatAtTheRequestedSize) {
  QTemporaryDir out;
  headlab::gui::ExportFiguresRequest request;
  request.run_dir = tinyRun();
  request.out_dir = out.filePath("figs");
  request.formats = {FigureFormat::Png, FigureFormat::Svg, FigureFormat::Pdf};
  request.options.width_px = 640;
  request.options.height_px = 480;
  std::ostringstream log, err;
  ASSERT_EQ(headlab::gui::exportRunFigures(request, log, err), 0) << err.str();
  expectFigureSet(request.out_dir, 640, 480);
  EXPECT_NE(log.str().find("wrote " + request.out_dir.toStdString() + "/loss.png"), std::string::npos) << log.str();
  EXPECT_NE(log.str().find("21 figure files"), std::string::npos) << log.str();
}

TEST(ExportFigures, RejectsAFolderThatIsNotARun) {
  QTemporaryDir dir;
  headlab::gui::ExportFiguresRequest request;
  request.run_dir = dir.path();
  request.out_dir = dir.filePath("out");
  std::ostringstream log, err;
  EXPECT_EQ(headlab::gui::exportRunFigures(request, log, err), 2);
  EXPECT_NE(err.str().find("is not a run directory"), std::string::npos) << err.str();
  EXPECT_FALSE(QFileInfo::exists(request.out_dir));
}

#ifdef HEADLAB_GUI_BINARY
// The real command line, with no QT_QPA_PLATFORM and no display: it must pick offscreen itself.
TEST(ExportFigures, CommandLineWorksWithoutADisplay) {
  QTemporaryDir out;
  QProcess p;
  QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
  env.remove("QT_QPA_PLATFORM");
  env.remove("DISPLAY");
  env.remove("WAYLAND_DISPLAY");
  env.insert("OMP_NUM_THREADS", "1");
  p.setProcessEnvironment(env);
  p.start(HEADLAB_GUI_BINARY, {"--export-figures", tinyRun(), "--out", out.path(), "--format", "png,svg,pdf",
                               "--size", "800x600", "--dpi", "120"});
  ASSERT_TRUE(p.waitForFinished(60000));
  const QString output = p.readAllStandardOutput() + p.readAllStandardError();
  ASSERT_EQ(p.exitCode(), 0) << output.toStdString();
  expectFigureSet(out.path(), 800, 600);
  EXPECT_NEAR(QImage(out.path() + "/loss.png").dotsPerMeterX() * 0.0254, 120.0, 0.5);
  EXPECT_TRUE(output.contains("wrote ")) << output.toStdString();

  p.start(HEADLAB_GUI_BINARY, {"--export-figures", tinyRun(), "--out", out.path(), "--format", "gif"});
  ASSERT_TRUE(p.waitForFinished(60000));
  EXPECT_EQ(p.exitCode(), 2);
  EXPECT_TRUE(QString(p.readAllStandardError()).contains("unknown figure format 'gif'"));
}
#endif
