#include <gtest/gtest.h>
#include <qcustomplot.h>

#include <QApplication>
#include <QComboBox>
#include <cmath>

#include "matrix_view.h"

using headlab::MatrixView;
using headlab::ModuleMatrix;
using headlab::ProbeSnapshot;

namespace {
ModuleMatrix makeMatrix(int layer, const char* module, const char* name, int rows, int cols,
                        std::vector<float> values) {
  ModuleMatrix m;
  m.layer = layer;
  m.module = module;
  m.name = name;
  m.matrix = {rows, cols, std::move(values)};
  m.distance_from_identity = 0.625f;
  m.off_diagonal_mass = 0.25f;
  m.effective_rank = 1.75f;
  return m;
}

std::shared_ptr<ProbeSnapshot> makeSnapshot() {
  auto s = std::make_shared<ProbeSnapshot>();
  s->n_layers = 2;
  s->n_heads = 2;
  s->matrices.push_back(makeMatrix(0, "kha", "t_q", 2, 2, {1.5f, 0.2f, -0.3f, 0.9f}));
  s->matrices.push_back(makeMatrix(0, "kha", "t_k", 2, 2, {1.f, 0.f, 0.f, 1.f}));
  s->matrices.push_back(makeMatrix(1, "kha", "t_q", 2, 2, {1.f, -2.f, 0.f, 1.25f}));
  s->matrices.push_back(makeMatrix(1, "mea", "mix_k", 3, 2, {0.5f, 0.1f, 0.2f, 1.1f, 0.4f, -0.6f}));
  return s;
}

// One layer of 16 heads with a 16x16 identity matrix for each of `names` of `module`.
std::shared_ptr<ProbeSnapshot> sixteenHeadSnapshot(const char* module, std::initializer_list<const char*> names) {
  auto s = std::make_shared<ProbeSnapshot>();
  s->n_layers = 1;
  s->n_heads = 16;
  std::vector<float> values(16 * 16, 0.f);
  for (int i = 0; i < 16; ++i) values[size_t(i) * 16 + i] = 1.f;
  for (const char* name : names) s->matrices.push_back(makeMatrix(0, module, name, 16, 16, values));
  return s;
}
}  // namespace

TEST(MatrixView, RawAndMinusIdentityValues) {
  MatrixView view;
  view.setSnapshot(makeSnapshot());
  ASSERT_EQ(view.panelCount(), 2);  // layer 0: kha.t_q, kha.t_k
  EXPECT_FLOAT_EQ(view.displayedValue(0, 0, 0), 1.5f);
  EXPECT_FLOAT_EQ(view.displayedValue(0, 1, 0), -0.3f);  // row 1, column 0
  EXPECT_FLOAT_EQ(view.panelRangeUpper(0), 1.5f);        // symmetric +-max|value|

  view.setMinusIdentity(true);
  EXPECT_FLOAT_EQ(view.displayedValue(0, 0, 0), 0.5f);
  EXPECT_FLOAT_EQ(view.displayedValue(0, 0, 1), 0.2f);
  EXPECT_FLOAT_EQ(view.displayedValue(0, 1, 0), -0.3f);
  EXPECT_NEAR(view.displayedValue(0, 1, 1), -0.1, 1e-6);
  EXPECT_NEAR(view.panelRangeUpper(0), 0.5, 1e-6);
  // The identity minus the identity is all zero: drawn white, on a valid +-1 scale.
  EXPECT_EQ(view.displayedValue(1, 0, 0), 0.0);
  EXPECT_EQ(view.panelRangeUpper(1), 1.0);

  auto* map = qobject_cast<QCPColorMap*>(view.plot()->plottable(0));
  ASSERT_NE(map, nullptr);
  EXPECT_DOUBLE_EQ(map->dataRange().lower, -map->dataRange().upper);
  // Zero maps to (nearly, the gradient is a lookup table) white.
  const QColor mid(map->gradient().color(0.0, map->dataRange()));
  EXPECT_GE(std::min({mid.red(), mid.green(), mid.blue()}), 250);

  // Title names the matrix and its summary numbers.
  EXPECT_TRUE(view.panelTitle(0).contains("L0 kha.t_q"));
  EXPECT_TRUE(view.panelTitle(0).contains("0.625"));
  EXPECT_TRUE(view.panelTitle(0).contains("0.250"));
  EXPECT_TRUE(view.panelTitle(0).contains("1.75"));
}

TEST(MatrixView, NonSquareMinusIdentityUsesTruncatedIdentity) {
  MatrixView view;
  view.setSnapshot(makeSnapshot());
  view.setLayer(1);
  view.setMinusIdentity(true);
  ASSERT_EQ(view.panelCount(), 2);
  EXPECT_TRUE(view.panelTitle(1).contains("mea.mix_k"));
  // mix_k is 3 x 2: diagonal (0,0) and (1,1) get -1, row 2 is untouched.
  EXPECT_NEAR(view.displayedValue(1, 0, 0), -0.5, 1e-6);
  EXPECT_NEAR(view.displayedValue(1, 1, 1), 0.1, 1e-6);
  EXPECT_NEAR(view.displayedValue(1, 2, 1), -0.6, 1e-6);
  EXPECT_TRUE(std::isnan(view.displayedValue(1, 3, 0)));
}

TEST(MatrixView, AcrossLayersSharesOneColourRange) {
  MatrixView view;
  view.setSnapshot(makeSnapshot());
  EXPECT_EQ(view.matrixKeys(), (QStringList{"kha.t_q", "kha.t_k", "mea.mix_k"}));
  view.setArrangement(MatrixView::Arrangement::AcrossLayers);
  view.setMatrixKey("kha.t_q");
  ASSERT_EQ(view.panelCount(), 2);
  EXPECT_TRUE(view.panelTitle(0).startsWith("L0"));
  EXPECT_TRUE(view.panelTitle(1).startsWith("L1"));
  EXPECT_FLOAT_EQ(view.displayedValue(1, 0, 1), -2.f);
  EXPECT_FLOAT_EQ(view.panelRangeUpper(0), 2.f);
  EXPECT_FLOAT_EQ(view.panelRangeUpper(1), 2.f);

  view.setMatrixKey("mea.mix_k");
  EXPECT_EQ(view.panelCount(), 1);
}

TEST(MatrixView, EmptyLayerAndNoSnapshot) {
  MatrixView view;
  EXPECT_EQ(view.panelCount(), 0);
  auto s = makeSnapshot();
  s->n_layers = 3;
  view.setSnapshot(s);
  view.setLayer(2);
  EXPECT_EQ(view.panelCount(), 0);
  view.setLayer(0);
  EXPECT_EQ(view.panelCount(), 2);
}

// 16 heads in a dock that is wider than tall (or taller than wide): the cells stay square,
// every cell stays in view, and the tick labels are thinned so they never touch.
TEST(MatrixView, SixteenHeadMatricesKeepSquareCellsAndReadableTicks) {
  auto s = sixteenHeadSnapshot("talking_heads", {"pre", "post"});
  for (QSize size : {QSize(700, 260), QSize(260, 700)}) {
    MatrixView view;
    view.resize(size);
    view.show();
    view.setSnapshot(s);
    ASSERT_EQ(view.panelCount(), 2);
    view.plot()->replot();
    view.plot()->replot();  // the second frame draws with the ranges the first layout chose
    const int label_px = QFontMetrics(view.font()).height();
    for (QCPAxisRect* rect : view.plot()->axisRects()) {
      for (QCPAxis* axis : {rect->axis(QCPAxis::atBottom), rect->axis(QCPAxis::atLeft)}) {
        EXPECT_LE(axis->range().lower, -0.5 + 1e-9) << size.width();
        EXPECT_GE(axis->range().upper, 15.5 - 1e-9) << size.width();
        const QVector<double> ticks = axis->tickVector();
        ASSERT_GE(ticks.size(), 2);
        const double gap = std::abs(axis->coordToPixel(ticks[1]) - axis->coordToPixel(ticks[0]));
        EXPECT_GE(gap, label_px) << "ticks " << ticks.size() << " in " << size.width() << "x" << size.height();
      }
    }
    for (int p = 0; p < view.panelCount(); ++p) EXPECT_NEAR(view.panelCellAspect(p), 1.0, 0.02) << size.width();
  }
}

// At 1366x768 the right dock is about 460 px wide. Three KHA matrices side by side made the
// panel wider than that (each title set its cell's minimum width, and so did the toolbar's
// combos), so it scrolled sideways and cut titles and "minus identity" at the dock's edge.
TEST(MatrixView, FitsALaptopDockAndWrapsTitlesToTheirCells) {
  auto s = sixteenHeadSnapshot("kha", {"t_q", "t_k", "t_v"});
  for (ModuleMatrix& m : s->matrices) {
    m.distance_from_identity = 1.586f;
    m.effective_rank = 15.11f;
  }
  MatrixView view;
  view.setSnapshot(s);
  ASSERT_EQ(view.panelCount(), 3);
  EXPECT_LE(view.minimumSizeHint().width(), 400);
  for (int width = 300; width <= 900; width += 50) {
    view.resize(width, 420);
    view.show();
    view.plot()->replot();
    view.plot()->replot();
    for (int i = 0; i < view.plot()->plotLayout()->elementCount(); ++i) {
      auto* cell = qobject_cast<QCPLayoutGrid*>(view.plot()->plotLayout()->elementAt(i));
      if (!cell) continue;
      auto* title = qobject_cast<QCPTextElement*>(cell->element(0, 0));
      ASSERT_NE(title, nullptr);
      const QFontMetricsF metrics(title->font());
      for (const QString& line : title->text().split('\n'))
        EXPECT_LE(metrics.horizontalAdvance(line), title->outerRect().width()) << "at " << width << " px: "
                                                                               << line.toStdString();
    }
  }
  // Where the dock has room, the arrangement's combo shows its whole text again.
  view.resize(600, 420);
  QApplication::processEvents();
  auto* arrangement = view.findChildren<QComboBox*>().value(0);
  ASSERT_NE(arrangement, nullptr);
  EXPECT_GE(arrangement->width(), arrangement->fontMetrics().horizontalAdvance(arrangement->itemText(0)) + 16);
  // The full title stays available (tests and tooltips read it unwrapped).
  EXPECT_EQ(view.panelTitle(0), "L0 kha.t_q\n|M-I| 1.586  off-diag 0.250  erank 15.11");
}
