#pragma once
// Where each thumbnail of the Head Atlas sits: a grid of square maps, each with a one-line
// caption above it, fitted into the viewport (scrolling vertically only when the maps would
// otherwise be smaller than kMinSide). Both renderers (Dear ImGui and QPainter) draw from the
// same layout and hit-test with it, so a click lands on the same head in either.
#include <QPointF>
#include <QRectF>
#include <QSizeF>

namespace headlab {

class AtlasLayout {
 public:
  static constexpr float kPadding = 6.0f;
  static constexpr float kMinSide = 24.0f;

  AtlasLayout() = default;
  // `count` cells in rows of `columns`, in a viewport of `viewport` logical pixels; `scroll`
  // (pixels from the top) is clamped to what the content allows.
  AtlasLayout(int count, int columns, QSizeF viewport, float label_height, float scroll = 0.0f);

  int count() const { return count_; }
  int columns() const { return columns_; }
  int rows() const { return rows_; }
  float side() const { return side_; }  // the map square, whole pixels
  float scroll() const { return scroll_; }
  float maxScroll() const;
  float contentHeight() const;

  QRectF cellRect(int position) const;   // caption + map
  QRectF labelRect(int position) const;  // the caption line
  QRectF mapRect(int position) const;    // the map square
  // The position whose caption or map contains `point` (viewport coordinates), -1 for the gaps
  // between cells and for anything outside the grid.
  int positionAt(QPointF point) const;
  // First and one-past-last position that can intersect the viewport (for culling).
  int firstVisible() const;
  int endVisible() const;

 private:
  float pitchX() const { return side_ + kPadding; }
  float pitchY() const { return label_height_ + side_ + kPadding; }

  int count_ = 0;
  int columns_ = 1;
  int rows_ = 0;
  QSizeF viewport_;
  float label_height_ = 0;
  float side_ = kMinSide;
  float x0_ = kPadding;
  float scroll_ = 0;
};

}  // namespace headlab
