// The Heads view on hand-made probe histories: the series it draws, the similarity matrix
// and the sortable role table.
#include <gtest/gtest.h>

#include <QHeaderView>
#include <QImage>
#include <QLabel>
#include <QTemporaryDir>
#include <QTableWidget>

#include "figure_set.h"
#include "head_history.h"
#include "heads_view.h"

using namespace headlab;

namespace {

// A snapshot of 2 layers x 3 heads where head h of layer l has induction = base + 0.1 l + 0.01 h.
std::shared_ptr<const ProbeSnapshot> snapshot(int64_t step, float base) {
  auto s = std::make_shared<ProbeSnapshot>();
  s->step = step;
  s->n_layers = 2;
  s->n_heads = 3;
  for (int l = 0; l < 2; ++l) {
    for (int h = 0; h < 3; ++h) {
      HeadStats st;
      st.layer = l;
      st.head = h;
      st.induction = base + 0.1f * l + 0.01f * h;
      st.entropy = 2.0f - base - h;
      st.previous_token = 0.5f * h;
      st.role = h == 2 ? "previous-token" : "diffuse";
      s->heads.push_back(st);
    }
    PlainMatrix sim{3, 3, {1, 0.2f, 0.3f, 0.2f, 1, 0.4f + l, 0.3f, 0.4f + l, 1}};
    s->head_similarity.push_back(sim);
  }
  return s;
}

ProbeHistory history() { return {snapshot(0, 0.0f), snapshot(50, 0.2f), snapshot(100, 0.5f)}; }

}  // namespace

TEST(HeadHistory, PerHeadAndMaxPerLayerSeries) {
  const auto heads = perHeadSeries(history(), 1, HeadStatistic::Induction);
  ASSERT_EQ(heads.size(), 3u);
  EXPECT_EQ(heads[2].label, "L1 H2");
  EXPECT_EQ(heads[2].steps, (std::vector<double>{0, 50, 100}));
  EXPECT_NEAR(heads[2].values[0], 0.12, 1e-6);
  EXPECT_NEAR(heads[2].values[2], 0.62, 1e-6);

  const auto layers = maxPerLayerSeries(history(), HeadStatistic::Induction);
  ASSERT_EQ(layers.size(), 2u);
  EXPECT_NEAR(layers[0].values[1], 0.22, 1e-6);  // head 2 is the strongest of layer 0
  EXPECT_NEAR(layers[1].values[2], 0.62, 1e-6);
  // Entropy falls with the head index: the max is head 0's.
  const auto entropy = maxPerLayerSeries(history(), HeadStatistic::Entropy);
  EXPECT_NEAR(entropy[0].values[0], 2.0, 1e-6);
}

TEST(HeadHistory, ShortOrForeignSnapshotsAreSkippedNotReadPast) {
  auto broken = std::make_shared<ProbeSnapshot>();
  broken->step = 75;
  broken->n_layers = 2;
  broken->n_heads = 3;  // but no heads at all
  ProbeHistory h = history();
  h.insert(h.begin() + 2, broken);
  const auto heads = perHeadSeries(h, 0, HeadStatistic::Induction);
  EXPECT_EQ(heads[0].steps, (std::vector<double>{0, 50, 100}));
  EXPECT_TRUE(perHeadSeries(h, 5, HeadStatistic::Induction).empty());  // no such layer
}

TEST(HeadsView, DrawsTheChosenStatisticPerHeadOrPerLayer) {
  HeadsView view;
  view.setStatistic(HeadStatistic::Induction);
  view.setMode(HeadsView::Mode::HeadsOfLayer);
  view.setHistory(history());
  view.setLayer(1);
  ASSERT_EQ(view.seriesCount(), 3);
  EXPECT_EQ(view.seriesName(0), "L1 H0");
  EXPECT_EQ(view.seriesSteps(1), (std::vector<double>{0, 50, 100}));
  const auto values = view.seriesValues(1);
  ASSERT_EQ(values.size(), 3u);
  EXPECT_NEAR(values[0], 0.11, 1e-6);
  EXPECT_NEAR(values[1], 0.31, 1e-6);
  EXPECT_NEAR(values[2], 0.61, 1e-6);

  view.setStatistic(HeadStatistic::PreviousToken);
  EXPECT_NEAR(view.seriesValues(2)[0], 1.0, 1e-6);

  view.setMode(HeadsView::Mode::MaxPerLayer);
  view.setStatistic(HeadStatistic::Induction);
  ASSERT_EQ(view.seriesCount(), 2);
  EXPECT_EQ(view.seriesName(1), "layer 1 (max)");
  EXPECT_NEAR(view.seriesValues(0)[2], 0.52, 1e-6);
}

TEST(HeadsView, SimilarityOfTheSelectedLayerFromTheNewestProbe) {
  HeadsView view;
  view.setHistory(history());
  view.setLayer(0);
  ASSERT_EQ(view.similaritySize(), 3);
  EXPECT_NEAR(view.similarityValue(1, 2), 0.4, 1e-6);
  view.setLayer(1);
  EXPECT_NEAR(view.similarityValue(1, 2), 1.4, 1e-6);
  EXPECT_NEAR(view.similarityValue(0, 0), 1.0, 1e-6);
  view.setLayer(7);  // clamped to the last layer
  EXPECT_EQ(view.layer(), 1);
  view.clear();
  EXPECT_EQ(view.similaritySize(), 0);
  EXPECT_EQ(view.seriesCount(), 0);
}

TEST(HeadsView, RoleTableSortsByValueAndThrottlesByStep) {
  HeadsView view;
  view.setHistory(history());
  QTableWidget* table = view.roleTable();
  ASSERT_EQ(table->rowCount(), 6);
  table->sortByColumn(HeadsView::ColInduction, Qt::DescendingOrder);
  EXPECT_EQ(table->item(0, HeadsView::ColLayer)->text(), "1");
  EXPECT_EQ(table->item(0, HeadsView::ColHead)->text(), "2");
  EXPECT_EQ(table->item(0, HeadsView::ColInduction)->text(), "0.620");
  EXPECT_EQ(table->item(5, HeadsView::ColInduction)->text(), "0.500");
  EXPECT_EQ(table->item(0, HeadsView::ColRole)->text(), "previous-token");

  EXPECT_FALSE(view.isNewStep(100));
  EXPECT_TRUE(view.isNewStep(150));
  // A re-probe at the same step replaces the newest entry, and the sort order survives it.
  view.setLatest(snapshot(100, 0.9f));
  EXPECT_EQ(view.history().size(), 3u);
  EXPECT_EQ(table->item(0, HeadsView::ColInduction)->text(), "1.020");
  EXPECT_EQ(table->horizontalHeader()->sortIndicatorSection(), int(HeadsView::ColInduction));
  view.setLatest(snapshot(150, 0.9f));
  EXPECT_EQ(view.history().size(), 4u);
}

TEST(HeadsView, RoleTableStartsInLayerThenHeadOrder) {
  HeadsView view;
  view.setHistory(history());
  QTableWidget* table = view.roleTable();
  ASSERT_EQ(table->rowCount(), 6);
  EXPECT_EQ(table->item(0, HeadsView::ColLayer)->text(), "0");
  EXPECT_EQ(table->item(0, HeadsView::ColHead)->text(), "0");
  EXPECT_EQ(table->item(5, HeadsView::ColLayer)->text(), "1");
  EXPECT_EQ(table->item(5, HeadsView::ColHead)->text(), "2");
}

// Export all figures includes the Heads view's two plots (statistic chart and similarity of
// the chosen layer) once it has a history, and skips it before.
TEST(HeadsView, ExportAllFiguresWritesItsTwoPlots) {
  QTemporaryDir dir;
  HeadsView view;
  view.resize(600, 400);
  headlab::FigureViews views;
  views.heads = &view;
  QString error;
  EXPECT_TRUE(headlab::exportAllFigures(views, dir.path(), {headlab::FigureFormat::Png}, {}, &error).isEmpty());
  view.setHistory(history());
  view.setLayer(1);
  const QStringList files = headlab::exportAllFigures(views, dir.path(), {headlab::FigureFormat::Png}, {}, &error);
  ASSERT_EQ(files.size(), 2) << error.toStdString();
  EXPECT_TRUE(files[0].endsWith("heads_induction.png")) << files[0].toStdString();
  EXPECT_TRUE(files[1].endsWith("head_similarity_layer1.png")) << files[1].toStdString();
  for (const QString& f : files) EXPECT_FALSE(QImage(f).isNull());
}

// The newest probe's head ablations in the role table (signed when resolved, "≈0" in grey when
// not, value ± SE in the tooltip) and the per-layer job shares under it.
TEST(HeadsView, HeadAblationsAndJobSharesOfTheNewestProbe) {
  auto newest = std::make_shared<ProbeSnapshot>(*snapshot(100, 0.5f));
  auto ablation = [](int layer, int head, double delta, double se) {
    HeadAblation a;
    a.layer = layer;
    a.head = head;
    a.delta = delta;
    a.standard_error = se;
    a.samples = 64;
    a.measured_on = "validation";
    return a;
  };
  newest->head_ablations = {ablation(0, 0, 0.25, 0.01), ablation(0, 1, 0.01, 0.02), ablation(1, 2, -0.125, 0.05)};
  HeadsView view;
  view.setHistory({snapshot(0, 0.0f), newest});
  QTableWidget* table = view.roleTable();
  table->sortByColumn(HeadsView::ColLayer, Qt::AscendingOrder);
  ASSERT_EQ(table->rowCount(), 6);
  EXPECT_EQ(table->horizontalHeaderItem(HeadsView::ColAblation)->text(), "ablation Δ");
  EXPECT_FALSE(table->horizontalHeaderItem(HeadsView::ColAblation)->toolTip().isEmpty());
  // Rows in layer-then-head order: L0 H0, L0 H1, L0 H2, L1 H0, L1 H1, L1 H2.
  const QTableWidgetItem* resolved = table->item(0, HeadsView::ColAblation);
  EXPECT_EQ(resolved->text(), "+0.2500");
  EXPECT_TRUE(resolved->toolTip().contains("+0.2500 ± 0.0100 (standard error) over 64 validation rows"))
      << resolved->toolTip().toStdString();
  EXPECT_TRUE(resolved->toolTip().contains("needs this head"));
  const QTableWidgetItem* noise = table->item(1, HeadsView::ColAblation);
  EXPECT_EQ(noise->text(), "≈0");
  EXPECT_EQ(noise->foreground().color(), QColor(128, 128, 128));
  EXPECT_TRUE(noise->toolTip().contains("0.0100 ± 0.0200"));
  EXPECT_EQ(table->item(2, HeadsView::ColAblation)->text(), "-");  // not measured
  EXPECT_EQ(table->item(5, HeadsView::ColAblation)->text(), "-0.1250");
  // Sorting goes by the value, resolved or not.
  table->sortByColumn(HeadsView::ColAblation, Qt::DescendingOrder);
  EXPECT_EQ(table->item(0, HeadsView::ColAblation)->text(), "+0.2500");
  EXPECT_EQ(table->item(1, HeadsView::ColAblation)->text(), "≈0");

  // Previous-token scores 0, 0.5, 1.0 in both layers; induction 0.5, 0.51, 0.52 in layer 0.
  const QStringList lines = view.jobSharesLabel()->text().split('\n');
  ASSERT_EQ(lines.size(), 2);
  EXPECT_EQ(lines[0].toStdString(),
            "layer 0 · previous-token: best head 2 at 1.00, top-2 1.50, top-3 1.50 · "
            "induction: best head 2 at 0.52, top-2 1.03, top-3 1.53");
  EXPECT_TRUE(lines[1].startsWith("layer 1 · previous-token: best head 2 at 1.00"));
  view.clear();
  EXPECT_TRUE(view.jobSharesLabel()->text().isEmpty());
}
