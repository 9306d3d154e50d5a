#pragma once
// The Head Atlas drawn with QPainter: the software fallback when OpenGL is off or broken
// (and what renders under the offscreen platform), and the renderer of exported replay
// frames. Same model, same layout, same colours as the Dear ImGui renderer.
#include <QImage>
#include <QWidget>

#include "atlas_layout.h"

class QPainter;

namespace headlab {

class HeadAtlasModel;

// Pixel height of the caption line above each thumbnail, shared by both renderers so their
// grids coincide.
inline constexpr float kAtlasLabelHeight = 16.0f;

class HeadAtlasPainterCanvas : public QWidget {
  Q_OBJECT

 public:
  // `model` is owned by the caller (HeadAtlasView) and must outlive the canvas.
  HeadAtlasPainterCanvas(const HeadAtlasModel* model, QWidget* parent = nullptr);

  // The model's data, order or selection changed.
  void refresh();
  AtlasLayout layout() const;
  int hovered() const { return hovered_; }
  void setScroll(float scroll);
  float scroll() const { return scroll_; }

  // Draws `model` laid out by `layout` (no widget needed: the replay export uses it).
  static void paintAtlas(QPainter& painter, const HeadAtlasModel& model, const AtlasLayout& layout, int hovered,
                         const QPalette& palette);
  // A `size` image of the atlas on a white page (for export).
  static QImage renderImage(const HeadAtlasModel& model, QSize size);
  static AtlasLayout layoutFor(const HeadAtlasModel& model, QSizeF size, float scroll = 0.0f);

 signals:
  void headClicked(int index);
  void hoverChanged(int index);  // -1 when the mouse leaves the thumbnails

 protected:
  void paintEvent(QPaintEvent* event) override;
  void mouseMoveEvent(QMouseEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;
  void leaveEvent(QEvent* event) override;
  void wheelEvent(QWheelEvent* event) override;
  bool event(QEvent* event) override;

 private:
  int indexAt(QPointF point) const;
  void setHovered(int index);

  const HeadAtlasModel* model_;
  int hovered_ = -1;
  float scroll_ = 0;
};

}  // namespace headlab
