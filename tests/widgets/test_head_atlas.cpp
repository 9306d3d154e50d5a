// The Head Atlas: thumbnail bytes against the snapshot, the grid's hit test, filter and sort,
// the QPainter renderer's pixels, and the choice between OpenGL and the fallback.
#include <gtest/gtest.h>

#include <QApplication>
#include <QComboBox>
#include <QDockWidget>
#include <QMainWindow>
#include <QMouseEvent>
#include <QSettings>
#include <QSignalSpy>
#include <QTest>
#include <QToolTip>
#include <QHelpEvent>
#include <cmath>
#include <memory>

#include "atlas_colormap.h"
#include "atlas_layout.h"
#include "atlas_test_snapshot.h"
#include "head_atlas_gl.h"
#include "head_atlas_model.h"
#include "head_atlas_painter.h"
#include "head_atlas_view.h"

using headlab::AtlasLayout;
using headlab::AtlasSortKey;
using headlab::HeadAtlasModel;
using headlab::HeadAtlasPainterCanvas;
using headlab::HeadAtlasView;
namespace color = headlab::atlascolor;

namespace {

color::Rgba texel(const HeadAtlasModel& m, int layer, int head, int query, int key) {
  const uint8_t* p = m.textureOf(m.indexOf(layer, head)) + (size_t(query) * m.seqLen() + key) * 4;
  return {p[0], p[1], p[2], p[3]};
}

color::Rgba pixel(const QImage& image, QPointF at) {
  const QColor c = image.pixelColor(at.toPoint());
  return {uint8_t(c.red()), uint8_t(c.green()), uint8_t(c.blue()), uint8_t(c.alpha())};
}

// The centre of texel (query, key) of the thumbnail at `map`.
QPointF texelCentre(const QRectF& map, int query, int key) {
  const double block = map.width() / atlastest::kSeq;
  return {map.left() + (key + 0.5) * block, map.top() + (query + 0.5) * block};
}

HeadAtlasView::GlProbe noGl(const QString& reason) {
  return [reason](QString* why) {
    *why = reason;
    return false;
  };
}

void sendMouse(QWidget* w, QEvent::Type type, QPointF at) {
  QMouseEvent e(type, at, w->mapToGlobal(at), type == QEvent::MouseMove ? Qt::NoButton : Qt::LeftButton,
                type == QEvent::MouseButtonRelease || type == QEvent::MouseMove ? Qt::NoButton : Qt::LeftButton,
                Qt::NoModifier);
  QApplication::sendEvent(w, &e);
}

}  // namespace

TEST(AtlasColormap, BytesAndEndColours) {
  EXPECT_EQ(color::probabilityToByte(0.0f), 0);
  EXPECT_EQ(color::probabilityToByte(1.0f), 255);
  EXPECT_EQ(color::probabilityToByte(0.5f), 128);  // 127.5 rounds up
  EXPECT_EQ(color::probabilityToByte(0.2f), 51);
  EXPECT_EQ(color::probabilityToByte(-0.3f), 0);
  EXPECT_EQ(color::probabilityToByte(7.0f), 255);
  EXPECT_EQ(color::probabilityToByte(NAN), 0);
  // The viridis ends of the attention map's gradient, and its middle stop (byte 127.5 sits
  // halfway between two table entries: check the exact stop at 0.5 via its neighbours).
  EXPECT_EQ(color::lut()[0], (color::Rgba{68, 1, 84, 255}));
  EXPECT_EQ(color::lut()[255], (color::Rgba{253, 231, 37, 255}));
  EXPECT_NEAR(color::lut()[128].g, 145, 2);
  EXPECT_NEAR(color::lut()[128].b, 140, 2);
  // Brightness (green channel) rises monotonically: "more attention" always reads brighter.
  for (int i = 1; i < 256; ++i) EXPECT_GE(color::lut()[size_t(i)].g, color::lut()[size_t(i - 1)].g) << i;
}

TEST(AtlasModel, TextureBytesMatchTheSnapshotLayerMajor) {
  HeadAtlasModel m;
  m.setSnapshot(atlastest::makeSnapshot());
  ASSERT_TRUE(m.hasMaps());
  EXPECT_EQ(m.headCount(), 6);
  EXPECT_EQ(m.textureBytes(), size_t(4 * 4 * 4));
  EXPECT_EQ(m.textureData().size(), size_t(6 * 4 * 4 * 4));
  // Layer-major: head (1, 0) is index 3, its texture starts 3 textures in.
  EXPECT_EQ(m.indexOf(1, 0), 3);
  EXPECT_EQ(m.headOffset(3), size_t(3 * 64));
  EXPECT_EQ(m.textureOf(3), m.textureData().data() + 192);
  EXPECT_EQ(m.layerOf(5), 1);
  EXPECT_EQ(m.headOf(5), 2);
  for (int l = 0; l < atlastest::kLayers; ++l)
    for (int h = 0; h < atlastest::kHeads; ++h)
      for (int q = 0; q < atlastest::kSeq; ++q)
        for (int k = 0; k < atlastest::kSeq; ++k) {
          const color::Rgba want =
              k > q ? color::kMasked : color::lut()[color::probabilityToByte(atlastest::weight(l, h, q, k))];
          ASSERT_EQ(texel(m, l, h, q, k), want) << l << ' ' << h << ' ' << q << ' ' << k;
        }
  // One spelled out: layer 1, head 2, query 3, key 1: p = 0.6 + 0.06 + 0.005 = 0.665 -> byte 170.
  EXPECT_EQ(color::probabilityToByte(atlastest::weight(1, 2, 3, 1)), 170);
  EXPECT_EQ(texel(m, 1, 2, 3, 1), color::lut()[170]);
  EXPECT_EQ(texel(m, 0, 0, 0, 1), color::kMasked);
}

TEST(AtlasModel, RevisionChangesWithThePixelsOnly) {
  HeadAtlasModel m;
  const uint64_t r0 = m.revision();
  m.setSnapshot(atlastest::makeSnapshot());
  const uint64_t r1 = m.revision();
  EXPECT_NE(r1, r0);
  m.setSort(AtlasSortKey::Induction, true);
  m.setRoleFilter("induction");
  m.setSelected(2);
  EXPECT_EQ(m.revision(), r1);  // no re-upload for a re-ordering
}

TEST(AtlasModel, BadSnapshotsShowNothingAndSayWhy) {
  HeadAtlasModel m;
  m.setSnapshot(nullptr);
  EXPECT_FALSE(m.hasMaps());
  EXPECT_TRUE(m.problem().contains("No probe yet"));
  auto s = atlastest::makeSnapshot();
  s->attention.resize(10);  // shorter than 2 x 3 x 4 x 4
  m.setSnapshot(s);
  EXPECT_FALSE(m.hasMaps());
  EXPECT_TRUE(m.problem().contains("incomplete (10 of 96 values)")) << m.problem().toStdString();
  EXPECT_TRUE(m.order().empty());
  EXPECT_TRUE(m.textureData().empty());
  auto none = std::make_shared<headlab::ProbeSnapshot>();
  m.setSnapshot(none);
  EXPECT_TRUE(m.problem().contains("no attention maps"));
}

TEST(AtlasModel, FilterByRoleAndSortByStatistic) {
  HeadAtlasModel m;
  m.setSnapshot(atlastest::makeSnapshot());
  EXPECT_EQ(m.order(), (std::vector<int>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(m.roles(), (QStringList{"diffuse", "induction", "previous-token", "sink"}));

  m.setRoleFilter("induction");
  EXPECT_EQ(m.order(), (std::vector<int>{1, 3, 5}));
  m.setSort(AtlasSortKey::Induction, true);  // 0.7, 0.9, 0.5
  EXPECT_EQ(m.order(), (std::vector<int>{3, 1, 5}));
  m.setSort(AtlasSortKey::Induction, false);
  EXPECT_EQ(m.order(), (std::vector<int>{5, 1, 3}));
  EXPECT_EQ(m.positionOf(3), 2);
  EXPECT_EQ(m.positionOf(0), -1);  // filtered out

  m.setRoleFilter({});
  m.setSort(AtlasSortKey::Sink, true);  // sink falls with the index
  EXPECT_EQ(m.order(), (std::vector<int>{0, 1, 2, 3, 4, 5}));
  m.setSort(AtlasSortKey::Entropy, true);  // entropy rises with the index
  EXPECT_EQ(m.order(), (std::vector<int>{5, 4, 3, 2, 1, 0}));
  m.setSort(AtlasSortKey::LayerHead, true);
  EXPECT_EQ(m.order(), (std::vector<int>{0, 1, 2, 3, 4, 5}));

  m.setRoleFilter("nonexistent");
  EXPECT_TRUE(m.order().empty());
}

TEST(AtlasModel, KeyboardNeighboursFollowTheVisibleGrid) {
  HeadAtlasModel m;
  m.setSnapshot(atlastest::makeSnapshot());
  EXPECT_EQ(m.columns(), 3);
  EXPECT_EQ(m.neighbour(0, 1, 0), 1);
  EXPECT_EQ(m.neighbour(1, 0, 1), 4);   // one row down = next layer
  EXPECT_EQ(m.neighbour(4, 0, 1), 5);   // clamped to the last
  EXPECT_EQ(m.neighbour(0, -1, 0), 0);  // clamped to the first
  m.setSort(AtlasSortKey::Entropy, true);  // order 5 4 3 2 1 0
  EXPECT_EQ(m.neighbour(5, 1, 0), 4);
}

TEST(AtlasModel, HoverTextNamesTheHeadItsRoleAndEveryStatistic) {
  HeadAtlasModel m;
  m.setSnapshot(atlastest::makeSnapshot());
  const QString t = m.hoverText(m.indexOf(1, 0));
  EXPECT_TRUE(t.startsWith("Layer 1, head 0: induction")) << t.toStdString();
  EXPECT_TRUE(t.contains("entropy (nats)  1.300"));
  EXPECT_TRUE(t.contains("previous token  0.150"));
  EXPECT_TRUE(t.contains("induction  0.900"));
  EXPECT_TRUE(t.contains("sink  0.150"));
  EXPECT_TRUE(t.contains("self  0.030"));
  EXPECT_TRUE(t.contains("mean distance (tokens)  5.00"));
  EXPECT_EQ(m.captionOf(5), "L1 H2");
  EXPECT_TRUE(m.hoverText(99).isEmpty());
}

TEST(AtlasLayout, HitTestFindsTheCellUnderAPoint) {
  // 6 heads in rows of 3 in 300 x 200: side = min((300 - 24) / 3, (200 - 18) / 2 - 16) = 75,
  // the grid (249 px wide) centred: first column at x = 31; pitch 81 across, 97 down.
  const AtlasLayout l(6, 3, QSizeF(300, 200), 16);
  EXPECT_EQ(l.rows(), 2);
  EXPECT_EQ(l.side(), 75.0f);
  EXPECT_EQ(l.mapRect(4), QRectF(112, 119, 75, 75));
  EXPECT_EQ(l.labelRect(4), QRectF(112, 103, 75, 16));
  EXPECT_EQ(l.positionAt(QPointF(149, 156)), 4);
  EXPECT_EQ(l.positionAt(QPointF(113, 104)), 4);  // on its caption
  EXPECT_EQ(l.positionAt(QPointF(31, 6)), 0);
  EXPECT_EQ(l.positionAt(QPointF(108, 150)), -1);  // the gap between columns 0 and 1
  EXPECT_EQ(l.positionAt(QPointF(150, 100)), -1);  // the gap between the rows
  EXPECT_EQ(l.positionAt(QPointF(280, 150)), -1);  // right of the grid
  EXPECT_EQ(l.positionAt(QPointF(20, 150)), -1);   // left of it
  EXPECT_EQ(l.positionAt(QPointF(150, 199)), -1);  // below the last row
  EXPECT_EQ(l.maxScroll(), 0.0f);

  // 5 cells: the last row is short, its empty slot is no cell.
  const AtlasLayout five(5, 3, QSizeF(300, 200), 16);
  EXPECT_EQ(five.positionAt(QPointF(149 + 81, 156)), -1);

  // Too many to fit: maps keep kMinSide and the grid scrolls.
  const AtlasLayout tall(144, 12, QSizeF(400, 200), 16, 1e9f);
  EXPECT_EQ(tall.side(), AtlasLayout::kMinSide);
  EXPECT_GT(tall.maxScroll(), 0.0f);
  EXPECT_EQ(tall.scroll(), tall.maxScroll());  // clamped
  EXPECT_EQ(tall.endVisible(), 144);
  EXPECT_GT(tall.firstVisible(), 0);
  EXPECT_EQ(tall.positionAt(tall.mapRect(140).center()), 140);
}

TEST(AtlasPainter, RendersTheThumbnailsInTheColourMap) {
  HeadAtlasModel m;
  m.setSnapshot(atlastest::makeSnapshot());
  const QImage image = HeadAtlasPainterCanvas::renderImage(m, QSize(300, 200));
  ASSERT_EQ(image.size(), QSize(300, 200));
  const AtlasLayout l = HeadAtlasPainterCanvas::layoutFor(m, QSizeF(300, 200));
  const QRectF map = l.mapRect(m.positionOf(m.indexOf(1, 0)));
  EXPECT_EQ(map, QRectF(31, 16 + 6 + 75 + 6 + 16, 75, 75));
  EXPECT_EQ(pixel(image, texelCentre(map, 2, 1)), color::lut()[color::probabilityToByte(atlastest::weight(1, 0, 2, 1))]);
  EXPECT_EQ(pixel(image, texelCentre(map, 3, 3)), color::lut()[color::probabilityToByte(atlastest::weight(1, 0, 3, 3))]);
  EXPECT_EQ(pixel(image, texelCentre(map, 0, 3)), color::kMasked);
  // Sorted by entropy (descending) head (1, 2) comes first: the top-left thumbnail.
  m.setSort(AtlasSortKey::Entropy, true);
  const QImage sorted = HeadAtlasPainterCanvas::renderImage(m, QSize(300, 200));
  EXPECT_EQ(pixel(sorted, texelCentre(l.mapRect(0), 2, 1)), color::lut()[color::probabilityToByte(atlastest::weight(1, 2, 2, 1))]);
  // Nothing to show: a message, not a crash, and no thumbnail colours.
  m.setSnapshot(nullptr);
  const QImage empty = HeadAtlasPainterCanvas::renderImage(m, QSize(300, 200));
  EXPECT_EQ(empty.pixelColor(texelCentre(map, 2, 1).toPoint()), QColor(Qt::white));
}

TEST(AtlasView, OffscreenOrFailedOpenGlSelectsTheFallback) {
  QSettings().remove("atlas/softwareRendering");
  {
    HeadAtlasView forced(nullptr, noGl("forced failure"));
    EXPECT_EQ(forced.renderer(), HeadAtlasView::Renderer::Software);
    EXPECT_EQ(forced.glProblem(), "forced failure");
    ASSERT_NE(forced.painterCanvas(), nullptr);
    EXPECT_EQ(forced.glCanvas(), nullptr);
    EXPECT_FALSE(forced.softwareRendering());  // the setting is untouched: GL may work next time
  }
  {
    // The real probe: the offscreen platform shows no GL windows.
    HeadAtlasView real;
    if (QGuiApplication::platformName() == "offscreen") {
      EXPECT_EQ(real.renderer(), HeadAtlasView::Renderer::Software);
      EXPECT_TRUE(real.glProblem().contains("offscreen")) << real.glProblem().toStdString();
    }
  }
  {
    // GL accepted at first, then the canvas reports a broken context: the panel swaps itself.
    HeadAtlasView view(nullptr, [](QString*) { return true; });
    EXPECT_EQ(view.renderer(), HeadAtlasView::Renderer::OpenGL);
    ASSERT_NE(view.glCanvas(), nullptr);
    view.reportGlFailure("the OpenGL context is invalid");
    EXPECT_EQ(view.renderer(), HeadAtlasView::Renderer::Software);
    EXPECT_NE(view.painterCanvas(), nullptr);
    EXPECT_EQ(view.glCanvas(), nullptr);
    EXPECT_EQ(view.glProblem(), "the OpenGL context is invalid");
    view.setSnapshot(atlastest::makeSnapshot());
    EXPECT_TRUE(view.model().hasMaps());
  }
}

TEST(AtlasView, SoftwareRenderingSettingIsRememberedAndWins) {
  QSettings().remove("atlas/softwareRendering");
  {
    HeadAtlasView view(nullptr, [](QString*) { return true; });
    EXPECT_EQ(view.renderer(), HeadAtlasView::Renderer::OpenGL);
    view.softwareAction()->setChecked(true);
    EXPECT_EQ(view.renderer(), HeadAtlasView::Renderer::Software);
    EXPECT_TRUE(view.glProblem().isEmpty());
  }
  EXPECT_TRUE(QSettings().value("atlas/softwareRendering").toBool());
  {
    HeadAtlasView again(nullptr, [](QString*) { return true; });
    EXPECT_TRUE(again.softwareRendering());
    EXPECT_EQ(again.renderer(), HeadAtlasView::Renderer::Software);
    again.setSoftwareRendering(false);
    EXPECT_EQ(again.renderer(), HeadAtlasView::Renderer::OpenGL);
  }
  QSettings().remove("atlas/softwareRendering");
}

TEST(AtlasView, ClickHoverKeysFilterAndSortOnTheFallback) {
  QSettings().remove("atlas/sortKey");
  HeadAtlasView view(nullptr, noGl("test"));
  view.resize(420, 360);
  view.show();
  view.setSnapshot(atlastest::makeSnapshot());
  QApplication::processEvents();
  HeadAtlasPainterCanvas* canvas = view.painterCanvas();
  ASSERT_NE(canvas, nullptr);
  QSignalSpy selected(&view, &HeadAtlasView::headSelected);

  const HeadAtlasModel& m = view.model();
  const QPointF on_1_2 = canvas->layout().mapRect(m.positionOf(m.indexOf(1, 2))).center();
  sendMouse(canvas, QEvent::MouseMove, on_1_2);
  EXPECT_EQ(canvas->hovered(), m.indexOf(1, 2));
  EXPECT_TRUE(view.hoverText().startsWith("Layer 1, head 2: induction")) << view.hoverText().toStdString();
  sendMouse(canvas, QEvent::MouseButtonPress, on_1_2);
  ASSERT_EQ(selected.count(), 1);
  EXPECT_EQ(selected.at(0).at(0).toInt(), 1);
  EXPECT_EQ(selected.at(0).at(1).toInt(), 2);
  EXPECT_EQ(m.selected(), m.indexOf(1, 2));
  // The selection frame is drawn in the highlight colour at the thumbnail's edge.
  const QImage shown = canvas->grab().toImage();
  const QRectF map = canvas->layout().mapRect(m.positionOf(m.indexOf(1, 2)));
  EXPECT_EQ(shown.pixelColor(QPoint(int(map.center().x() * shown.devicePixelRatio()),
                                    int((map.top() - 1) * shown.devicePixelRatio()))),
            canvas->palette().color(QPalette::Highlight));

  // Arrow keys move the selection over the grid and open the head too.
  QTest::keyClick(&view, Qt::Key_Up);
  ASSERT_EQ(selected.count(), 2);
  EXPECT_EQ(selected.at(1).at(0).toInt(), 0);
  EXPECT_EQ(selected.at(1).at(1).toInt(), 2);

  // A click between thumbnails selects nothing.
  sendMouse(canvas, QEvent::MouseButtonPress, QPointF(2, 2));
  EXPECT_EQ(selected.count(), 2);

  // Filter and sort through the boxes: induction heads only, best induction first.
  view.roleBox()->setCurrentIndex(view.roleBox()->findData("induction"));
  EXPECT_EQ(m.order(), (std::vector<int>{1, 3, 5}));
  view.sortBox()->setCurrentIndex(view.sortBox()->findData(int(AtlasSortKey::Induction)));
  EXPECT_EQ(m.order(), (std::vector<int>{3, 1, 5}));
  EXPECT_EQ(QSettings().value("atlas/sortKey").toInt(), int(AtlasSortKey::Induction));
  const QPointF first = canvas->layout().mapRect(0).center();
  sendMouse(canvas, QEvent::MouseButtonPress, first);
  ASSERT_EQ(selected.count(), 3);
  EXPECT_EQ(selected.at(2).at(0).toInt(), 1);  // head 3 = layer 1, head 0
  EXPECT_EQ(selected.at(2).at(1).toInt(), 0);

  // Selecting from outside (the attention map's pickers) highlights without echoing back.
  view.setSelectedHead(0, 1);
  EXPECT_EQ(m.selected(), 1);
  EXPECT_EQ(selected.count(), 3);
  QSettings().remove("atlas/sortKey");
}

// A shown OpenGL atlas with the test snapshot; skips where this machine has no OpenGL.
class AtlasGl : public ::testing::Test {
 protected:
  void SetUp() override {
    QString why;
    if (!headlab::HeadAtlasGlCanvas::probeOpenGl(&why)) GTEST_SKIP() << "no OpenGL here: " << why.toStdString();
    QSettings().remove("atlas/softwareRendering");
    view = std::make_unique<HeadAtlasView>();
    ASSERT_EQ(view->renderer(), HeadAtlasView::Renderer::OpenGL);
    view->resize(420, 360);
    view->show();
    ASSERT_TRUE(QTest::qWaitForWindowExposed(view.get()));
    view->setSnapshot(atlastest::makeSnapshot());
    gl = view->glCanvas();
    ASSERT_NE(gl, nullptr);
  }
  std::unique_ptr<HeadAtlasView> view;
  headlab::HeadAtlasGlCanvas* gl = nullptr;
};

TEST_F(AtlasGl, RendersWithDearImGuiWhenOpenGlWorks) {
  const QImage frame = gl->grabFramebuffer();  // runs initializeGL + paintGL
  ASSERT_FALSE(gl->failed());
  EXPECT_EQ(gl->textureCount(), 6);
  EXPECT_GE(gl->uploadCount(), 1);
  const HeadAtlasModel& m = view->model();
  const QRectF map = gl->layout().mapRect(m.positionOf(m.indexOf(1, 0)));
  const double dpr = frame.devicePixelRatio();
  auto at = [&](int q, int k) {
    const QPointF p = texelCentre(map, q, k) * dpr;
    return pixel(frame, p);
  };
  EXPECT_EQ(at(2, 1), color::lut()[color::probabilityToByte(atlastest::weight(1, 0, 2, 1))]);
  EXPECT_EQ(at(0, 3), color::kMasked);
  // A redraw without a new snapshot uploads nothing.
  const int uploads = gl->uploadCount();
  gl->grabFramebuffer();
  EXPECT_EQ(gl->uploadCount(), uploads);
  view->setSnapshot(atlastest::makeSnapshot(200));
  const QImage plain = gl->grabFramebuffer();
  EXPECT_EQ(gl->uploadCount(), uploads + 1);

  // Hover: the bridge hands the mouse to ImGui, which draws the statistics tooltip next to it
  // (the frame changes beside the cursor) and the panel's hover line names the head.
  sendMouse(gl, QEvent::MouseMove, map.center());
  EXPECT_EQ(gl->hovered(), m.indexOf(1, 0));
  EXPECT_TRUE(view->hoverText().startsWith("Layer 1, head 0: induction"));
  gl->grabFramebuffer();  // ImGui lays a new tooltip out hidden on its first frame
  const QImage hovered = gl->grabFramebuffer();
  if (qEnvironmentVariableIsSet("HEADLAB_ATLAS_SHOT")) hovered.save(qEnvironmentVariable("HEADLAB_ATLAS_SHOT"));
  int changed = 0;
  const QRect beside(QPoint(int(map.center().x() + 20), int(map.center().y() + 20)) * dpr, QSize(60, 40) * dpr);
  for (int y = beside.top(); y < beside.bottom() && y < plain.height(); ++y)
    for (int x = beside.left(); x < beside.right() && x < plain.width(); ++x) changed += plain.pixel(x, y) != hovered.pixel(x, y);
  EXPECT_GT(changed, 200);

  // A click opens the head.
  QSignalSpy selected(view.get(), &HeadAtlasView::headSelected);
  sendMouse(gl, QEvent::MouseButtonPress, map.center());
  ASSERT_EQ(selected.count(), 1);
  EXPECT_EQ(selected.at(0).at(0).toInt(), 1);
  EXPECT_EQ(selected.at(0).at(1).toInt(), 0);
}

TEST_F(AtlasGl, SurvivesItsDockFloatingIntoANewWindow) {
  // A floating dock is a new top-level window with a new GL context: the canvas must free its
  // textures and ImGui's GL objects with the old context and rebuild them on the new one.
  this->view->hide();  // the fixture's own view; this test docks one of its own
  QMainWindow window;
  auto* dock = new QDockWidget("atlas", &window);
  auto* view = new HeadAtlasView(dock);
  dock->setWidget(view);
  window.addDockWidget(Qt::RightDockWidgetArea, dock);
  window.resize(800, 600);
  window.show();
  ASSERT_TRUE(QTest::qWaitForWindowExposed(&window));
  view->setSnapshot(atlastest::makeSnapshot());
  auto* gl = view->glCanvas();
  ASSERT_NE(gl, nullptr);
  gl->grabFramebuffer();
  ASSERT_EQ(gl->textureCount(), 6);
  const int uploads = gl->uploadCount();

  dock->setFloating(true);
  dock->resize(420, 360);
  ASSERT_TRUE(QTest::qWaitForWindowExposed(dock));
  QApplication::processEvents();
  const QImage frame = gl->grabFramebuffer();
  ASSERT_FALSE(gl->failed());
  EXPECT_EQ(view->renderer(), HeadAtlasView::Renderer::OpenGL);
  EXPECT_EQ(gl->textureCount(), 6);
  EXPECT_EQ(gl->uploadCount(), uploads + 1);  // the same snapshot, uploaded again into the new context
  const HeadAtlasModel& m = view->model();
  const QRectF map = gl->layout().mapRect(m.positionOf(m.indexOf(0, 1)));
  EXPECT_EQ(pixel(frame, texelCentre(map, 3, 2) * frame.devicePixelRatio()),
            color::lut()[color::probabilityToByte(atlastest::weight(0, 1, 3, 2))]);
}

// A caption is shortened by abbreviating the role, never by cutting it ("previ…").
TEST(AtlasModel, CaptionsFitTheirThumbnailWithoutCuttingTheRole) {
  headlab::HeadAtlasModel m;
  m.setSnapshot(atlastest::makeSnapshot());
  const auto width = [](const QString& text) { return 7.0 * text.size(); };  // a fixed 7 px per character
  EXPECT_EQ(m.captionFitting(0, width, 400), "L0 H0 previous-token");
  EXPECT_EQ(m.captionFitting(0, width, 70), "L0 H0 prev");
  EXPECT_EQ(m.captionFitting(0, width, 63), "L0H0 prev");
  EXPECT_EQ(m.captionFitting(1, width, 63), "L0 H1 ind");
  EXPECT_EQ(m.captionFitting(0, width, 40), "L0 H0");
  EXPECT_EQ(m.captionFitting(0, width, 10), "L0H0");
  for (int i = 0; i < m.headCount(); ++i)
    for (double room : {10.0, 40.0, 63.0, 70.0, 400.0}) EXPECT_FALSE(m.captionFitting(i, width, room).contains(QChar(0x2026)));
}

// Over a head, ImGui draws the head's statistics; Qt must not put the view's explanation on
// top of it (two overlapping boxes). Between heads, Qt's explanation is the one shown.
TEST_F(AtlasGl, OneTooltipAtATime) {
  gl->grabFramebuffer();
  const HeadAtlasModel& m = view->model();
  const QPointF over_head = gl->layout().mapRect(m.positionOf(m.indexOf(0, 1))).center();
  QMouseEvent move(QEvent::MouseMove, over_head, gl->mapToGlobal(over_head), Qt::NoButton, Qt::NoButton, Qt::NoModifier);
  QApplication::sendEvent(gl, &move);
  QHelpEvent help(QEvent::ToolTip, over_head.toPoint(), gl->mapToGlobal(over_head.toPoint()));
  QApplication::sendEvent(gl, &help);
  EXPECT_FALSE(QToolTip::isVisible());
  QToolTip::hideText();
}

// A pretrained model's atlas: 30 layers x 16 heads (480 maps) in a laptop dock.
// The maps keep a readable side, the grid scrolls, only the rows in view are drawn, and a
// thumbnail deep in the grid is drawn right after scrolling to it.
TEST(AtlasLayout, ThirtyLayersOfSixteenHeadsStayUsable) {
  constexpr int L = 30, H = 16, T = 16;
  auto s = std::make_shared<headlab::ProbeSnapshot>();
  s->n_layers = L;
  s->n_heads = H;
  s->seq_len = T;
  s->token_labels.assign(T, "x");
  s->attention.assign(size_t(L) * H * T * T, 0.0f);
  for (int l = 0; l < L; ++l)
    for (int h = 0; h < H; ++h) {
      for (int q = 0; q < T; ++q) s->attention[((size_t(l) * H + h) * T + q) * T + q] = 1.0f;  // the diagonal
      headlab::HeadStats st;
      st.layer = l;
      st.head = h;
      st.role = "self";
      s->heads.push_back(st);
    }
  HeadAtlasModel m;
  m.setSnapshot(s);
  const QSizeF dock(640, 420);
  const AtlasLayout top = HeadAtlasPainterCanvas::layoutFor(m, dock);
  EXPECT_EQ(top.columns(), H);
  EXPECT_GE(top.side(), AtlasLayout::kMinSide);
  EXPECT_GT(top.maxScroll(), 0.0f);
  const int rows_in_view = int(dock.height() / (top.side() + top.labelRect(0).height() + AtlasLayout::kPadding)) + 2;
  EXPECT_LE(top.endVisible() - top.firstVisible(), rows_in_view * H);  // culled: not 480 maps a frame
  const int last = L * H - 1;
  const AtlasLayout bottom = HeadAtlasPainterCanvas::layoutFor(m, dock, 1e9f);
  EXPECT_EQ(bottom.endVisible(), L * H);
  EXPECT_EQ(bottom.positionAt(bottom.mapRect(last).center()), last);
  HeadAtlasPainterCanvas canvas(&m);
  canvas.resize(dock.toSize());
  canvas.setScroll(1e9f);
  const QImage image = canvas.grab().toImage();
  const QRectF map = canvas.layout().mapRect(last);
  // The diagonal is drawn (probability 1) and a future key is masked.
  const double block = map.width() / T;
  auto texel = [&](int query, int key) { return QPointF(map.left() + (key + 0.5) * block, map.top() + (query + 0.5) * block); };
  EXPECT_EQ(pixel(image, texel(T - 1, T - 1)), color::lut()[color::probabilityToByte(1.0f)]);
  EXPECT_EQ(pixel(image, texel(0, T - 1)), color::kMasked);
}
