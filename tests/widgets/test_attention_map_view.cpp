#include <gtest/gtest.h>
#include <qcustomplot.h>

#include <QApplication>
#include <QMouseEvent>
#include <QSignalSpy>
#include <QSpinBox>
#include <cmath>

#include "attention_map_view.h"

using headlab::AttentionMapView;
using headlab::ProbeSnapshot;

namespace {
// Row q of head (l, h): weights 1 + k * (2l + h + 1) over keys k <= q, normalized.
// Masked (future) cells hold 0, as a causal softmax would produce.
float expectedWeight(int l, int h, int q, int k) {
  if (k > q) return 0.f;
  float sum = 0;
  for (int j = 0; j <= q; ++j) sum += 1.f + j * (2 * l + h + 1);
  return (1.f + k * (2 * l + h + 1)) / sum;
}

std::shared_ptr<ProbeSnapshot> makeSnapshot() {
  auto s = std::make_shared<ProbeSnapshot>();
  s->step = 1234;
  s->n_layers = 2;
  s->n_heads = 2;
  s->seq_len = 4;
  s->token_labels = {"The", " cat", "\n", "sat"};
  for (int l = 0; l < 2; ++l)
    for (int h = 0; h < 2; ++h)
      for (int q = 0; q < 4; ++q)
        for (int k = 0; k < 4; ++k) s->attention.push_back(expectedWeight(l, h, q, k));
  for (int l = 0; l < 2; ++l)
    for (int h = 0; h < 2; ++h) {
      headlab::HeadStats st;
      st.layer = l;
      st.head = h;
      st.role = "previous-token";
      s->heads.push_back(st);
    }
  return s;
}
}  // namespace

TEST(AttentionMapView, ShowsCellValuesAndMaskForChosenHead) {
  AttentionMapView view;
  view.setSnapshot(makeSnapshot());
  EXPECT_EQ(view.layer(), 0);
  EXPECT_EQ(view.head(), 0);
  view.setLayerHead(1, 1);
  for (int q = 0; q < 4; ++q)
    for (int k = 0; k < 4; ++k) {
      if (k > q) {
        EXPECT_TRUE(std::isnan(view.cellValue(q, k))) << q << "," << k;
        EXPECT_TRUE(view.isMasked(q, k));
      } else {
        EXPECT_NEAR(view.cellValue(q, k), expectedWeight(1, 1, q, k), 1e-6) << q << "," << k;
      }
    }
  // Row 3 of head (1,1): weights 1,5,9,13 over 28.
  EXPECT_NEAR(view.cellValue(3, 2), 9.0 / 28.0, 1e-6);
  EXPECT_TRUE(std::isnan(view.cellValue(0, 3)));  // a masked upper cell
  EXPECT_TRUE(std::isnan(view.cellValue(4, 0)));  // out of range

  // Masked cells draw in the NaN colour, not as the colour of zero.
  auto* map = qobject_cast<QCPColorMap*>(view.plot()->plottable(0));
  ASSERT_NE(map, nullptr);
  EXPECT_EQ(map->gradient().nanHandling(), QCPColorGradient::nhNanColor);
  EXPECT_EQ(map->dataRange().lower, 0.0);
  EXPECT_EQ(map->dataRange().upper, 1.0);
  EXPECT_TRUE(view.plot()->yAxis->rangeReversed());  // row 0 at the top
}

TEST(AttentionMapView, TokenLabelsOnBothAxesAndHoverText) {
  AttentionMapView view;
  view.setSnapshot(makeSnapshot());
  const QStringList expected{"The", " cat", "\\n", "sat"};
  EXPECT_EQ(view.tokenLabels(), expected);
  for (QCPAxis* axis : {view.plot()->xAxis, view.plot()->yAxis}) {
    auto ticker = qSharedPointerDynamicCast<QCPAxisTickerText>(axis->ticker());
    ASSERT_TRUE(ticker);
    ASSERT_EQ(ticker->ticks().size(), 4);
    EXPECT_EQ(ticker->ticks().value(0), "The");
    EXPECT_EQ(ticker->ticks().value(2), "\\n");
  }
  view.setLayerHead(0, 1);
  // Head (0,1) row 1: weights 1, 3 over 4.
  EXPECT_EQ(view.hoverText(1, 0).toStdString(), "query ' cat' (1) -> key 'The' (0): 0.250");
  EXPECT_EQ(view.hoverText(1, 2).toStdString(), "query ' cat' (1) -> key '\\n' (2): masked (future token)");
  EXPECT_TRUE(view.hoverText(9, 0).isEmpty());
}

TEST(AttentionMapView, LayerHeadSelectionEmitsAndClamps) {
  AttentionMapView view;
  QSignalSpy spy(&view, &AttentionMapView::layerHeadChanged);
  view.setSnapshot(makeSnapshot());
  EXPECT_EQ(spy.count(), 0);
  view.setLayerHead(1, 0);
  ASSERT_EQ(spy.count(), 1);
  EXPECT_EQ(spy.at(0).at(0).toInt(), 1);
  EXPECT_EQ(spy.at(0).at(1).toInt(), 0);
  view.setLayerHead(7, 9);  // clamped to (1, 1)
  ASSERT_EQ(spy.count(), 2);
  EXPECT_EQ(view.layer(), 1);
  EXPECT_EQ(view.head(), 1);
  view.setLayerHead(1, 1);  // no change, no signal
  EXPECT_EQ(spy.count(), 2);

  // The spin boxes in the widget drive the same selection.
  const auto boxes = view.findChildren<QSpinBox*>();
  ASSERT_EQ(boxes.size(), 2);
  boxes[0]->setValue(0);
  EXPECT_EQ(view.layer(), 0);
  EXPECT_EQ(spy.count(), 3);
  EXPECT_NEAR(view.cellValue(1, 1), expectedWeight(0, 1, 1, 1), 1e-6);
}

TEST(AttentionMapView, NoSnapshotOrMalformedShowsNothing) {
  AttentionMapView view;
  EXPECT_TRUE(std::isnan(view.cellValue(0, 0)));
  auto bad = makeSnapshot();
  bad->attention.resize(10);  // shorter than layers*heads*T*T
  view.setSnapshot(bad);
  EXPECT_TRUE(std::isnan(view.cellValue(0, 0)));
  EXPECT_TRUE(view.tokenLabels().isEmpty());
}

namespace {
// 48 tokens: "a".."x" twice (period 24), uniform causal attention.
std::shared_ptr<ProbeSnapshot> makeLongSnapshot() {
  auto s = std::make_shared<ProbeSnapshot>();
  s->n_layers = 1;
  s->n_heads = 1;
  s->seq_len = 48;
  for (int i = 0; i < 48; ++i) s->token_labels.push_back(std::string(1, char('a' + i % 24)));
  for (int q = 0; q < 48; ++q)
    for (int k = 0; k < 48; ++k) s->attention.push_back(k <= q ? 1.f / (q + 1) : 0.f);
  return s;
}

QMap<double, QString> tickLabels(QCPAxis* axis) {
  auto ticker = qSharedPointerDynamicCast<QCPAxisTickerText>(axis->ticker());
  return ticker ? ticker->ticks() : QMap<double, QString>{};
}

void layOut(AttentionMapView& view, QSize size) {
  view.resize(size);
  view.show();
  view.plot()->replot();
  view.plot()->replot();  // the labels planned after the first layout are drawn by the second
}
}  // namespace

// The case: 48 tokens and 24 labels made a period-24 sequence read as period 12.
// With room for them, all 48 tokens are labelled, each with its own token.
TEST(AttentionMapView, EveryTokenIsLabelledWhenTheLabelsFit) {
  AttentionMapView view;
  view.setSnapshot(makeLongSnapshot());
  layOut(view, QSize(1000, 1000));
  for (QCPAxis* axis : {view.plot()->xAxis, view.plot()->yAxis}) {
    const auto ticks = tickLabels(axis);
    ASSERT_EQ(ticks.size(), 48) << axis->label().toStdString();
    for (int i = 0; i < 48; ++i) EXPECT_EQ(ticks.value(i), QString(QChar('a' + i % 24))) << i;
    EXPECT_FALSE(axis->label().contains("1 label per"));
  }
  EXPECT_EQ(view.labelStride(Qt::Horizontal), 1);
  EXPECT_EQ(view.labelStride(Qt::Vertical), 1);
}

// Too little room: one label per `stride` tokens, ticks only where a label is, each label
// with its position, and the axis title saying how thinned it is.
TEST(AttentionMapView, AThinnedAxisShowsPositionsAndSaysSo) {
  AttentionMapView view;
  view.setSnapshot(makeLongSnapshot());
  layOut(view, QSize(330, 330));
  const int stride = view.labelStride(Qt::Vertical);
  ASSERT_GT(stride, 1);
  const auto ticks = tickLabels(view.plot()->yAxis);
  EXPECT_EQ(ticks.size(), (48 + stride - 1) / stride);
  for (auto it = ticks.begin(); it != ticks.end(); ++it) {
    const int i = int(it.key());
    EXPECT_EQ(i % stride, 0);
    EXPECT_EQ(it.value(), QStringLiteral("%1 (%2)").arg(QChar('a' + i % 24)).arg(i));
  }
  EXPECT_TRUE(view.plot()->yAxis->label().contains(QStringLiteral("1 label per %1 tokens").arg(stride)))
      << view.plot()->yAxis->label().toStdString();
  // The labels that are drawn fit: their pitch is at least one line of their font.
  const double pitch = view.plot()->yAxis->axisRect()->height() * double(stride) / 48.0;
  EXPECT_GE(pitch, QFontMetricsF(view.plot()->yAxis->tickLabelFont()).height());
}

// Zooming in on 12 tokens labels all of them again; zoom stays inside the map.
TEST(AttentionMapView, ZoomLabelsTheTokensInView) {
  AttentionMapView view;
  view.setSnapshot(makeLongSnapshot());
  layOut(view, QSize(330, 330));
  ASSERT_GT(view.labelStride(Qt::Horizontal), 1);
  view.plot()->xAxis->setRange(11.5, 23.5);
  view.plot()->yAxis->setRange(11.5, 23.5);
  layOut(view, QSize(330, 330));
  EXPECT_EQ(view.labelStride(Qt::Horizontal), 1);
  EXPECT_EQ(view.labelStride(Qt::Vertical), 1);
  EXPECT_EQ(tickLabels(view.plot()->xAxis).value(12), "m");
  view.plot()->xAxis->setRange(-30, 100);  // past the map: clamped to it
  EXPECT_DOUBLE_EQ(view.plot()->xAxis->range().lower, -0.5);
  EXPECT_DOUBLE_EQ(view.plot()->xAxis->range().upper, 47.5);
  view.resetZoom();
  EXPECT_DOUBLE_EQ(view.plot()->yAxis->range().upper, 47.5);
}

// Hovering a cell outlines its query row and key column.
TEST(AttentionMapView, HoverOutlinesTheRowAndColumn) {
  AttentionMapView view;
  view.setSnapshot(makeLongSnapshot());
  layOut(view, QSize(600, 600));
  QCustomPlot* plot = view.plot();
  const QPointF at(plot->xAxis->coordToPixel(3), plot->yAxis->coordToPixel(7));
  QMouseEvent move(QEvent::MouseMove, at, plot->mapToGlobal(at), Qt::NoButton, Qt::NoButton, Qt::NoModifier);
  QApplication::sendEvent(plot, &move);
  EXPECT_EQ(view.hoveredQuery(), 7);
  EXPECT_EQ(view.hoveredKey(), 3);
  EXPECT_TRUE(view.hoverLabelText().startsWith("query 'h' (7) -> key 'd' (3)"));
  int outlines = 0;
  for (int i = 0; i < plot->itemCount(); ++i) {
    auto* rect = qobject_cast<QCPItemRect*>(plot->item(i));
    if (!rect || !rect->visible()) continue;
    ++outlines;
    const QRectF r = QRectF(rect->topLeft->coords(), rect->bottomRight->coords()).normalized();
    EXPECT_TRUE((r.height() == 1.0 && r.center().y() == 7.0) || (r.width() == 1.0 && r.center().x() == 3.0));
  }
  EXPECT_EQ(outlines, 2);
  QEvent leave(QEvent::Leave);
  QApplication::sendEvent(plot, &leave);
  EXPECT_EQ(view.hoveredQuery(), -1);
}

// A narrow dock cut both ends of the one-line title ("yer 1, head 2 ... entropy 1.15 na" at
// 1366x768): there it breaks at its gaps, onto two lines or three, each fitting its cell.
TEST(AttentionMapView, ALongTitleTakesTwoLinesInsteadOfBeingCut) {
  AttentionMapView view;
  view.setSnapshot(makeSnapshot());
  auto* title = qobject_cast<QCPTextElement*>(view.plot()->plotLayout()->element(0, 0));
  ASSERT_NE(title, nullptr);
  layOut(view, QSize(1200, 600));
  EXPECT_EQ(title->text(), "Layer 0, head 0  (step 1234)  role: previous-token  entropy 0.00 nats");

  // The title does not set the panel's minimum width (a dock narrower than that scrolled the
  // panel sideways and showed the middle of the title).
  const QFontMetricsF title_metrics(title->font());
  EXPECT_LT(view.minimumSizeHint().width(), title_metrics.horizontalAdvance(title->text()));

  // Narrower: the head and step on one line, role and entropy on the next...
  layOut(view, QSize(450, 400));
  const QStringList lines = title->text().split('\n');
  ASSERT_EQ(lines.size(), 2) << title->text().toStdString() << " title cell " << title->outerRect().width();
  EXPECT_EQ(lines[0], "Layer 0, head 0  (step 1234)");
  EXPECT_EQ(lines[1], "role: previous-token  entropy 0.00 nats");
  const QFontMetricsF metrics(title->font());
  EXPECT_GE(title->outerRect().height(), 2 * metrics.height()) << "laid out with room for both lines";
  // ...and in a narrow dock, a line each (the text stays whole, broken only at its gaps).
  layOut(view, QSize(330, 400));
  EXPECT_EQ(title->text(), "Layer 0, head 0  (step 1234)\nrole: previous-token\nentropy 0.00 nats");
  EXPECT_GE(title->outerRect().height(), 3 * metrics.height());

  layOut(view, QSize(1200, 600));
  EXPECT_FALSE(title->text().contains('\n')) << "wide again: one line";

  // At every dock width, each line fits the title's own cell, which leaves out the colour
  // scale's column (measuring the whole plot let a line through that the cell then cut).
  for (int width = 330; width <= 900; width += 15) {
    layOut(view, QSize(width, 400));
    for (const QString& line : title->text().split('\n'))
      EXPECT_LE(metrics.horizontalAdvance(line), title->outerRect().width())
          << "at " << width << " px: " << line.toStdString();
  }
}
