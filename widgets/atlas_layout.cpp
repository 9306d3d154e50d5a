#include "atlas_layout.h"

#include <algorithm>
#include <cmath>

namespace headlab {

AtlasLayout::AtlasLayout(int count, int columns, QSizeF viewport, float label_height, float scroll)
    : count_(std::max(0, count)),
      columns_(std::max(1, columns)),
      viewport_(viewport),
      label_height_(std::max(0.0f, label_height)) {
  rows_ = (count_ + columns_ - 1) / columns_;
  const float w = float(viewport.width());
  const float h = float(viewport.height());
  const float by_width = (w - kPadding * float(columns_ + 1)) / float(columns_);
  const float by_height = rows_ > 0 ? (h - kPadding * float(rows_ + 1)) / float(rows_) - label_height_ : by_width;
  // Whole pixels: every texel block of a thumbnail lands on the same pixel grid in both
  // renderers, and the tests can name exact pixels.
  side_ = std::max(kMinSide, std::floor(std::min(by_width, by_height)));
  const float grid_w = float(columns_) * side_ + float(columns_ + 1) * kPadding;
  x0_ = kPadding + std::max(0.0f, std::floor((w - grid_w) / 2.0f));
  scroll_ = std::clamp(scroll, 0.0f, maxScroll());
}

float AtlasLayout::contentHeight() const { return kPadding + float(rows_) * pitchY(); }

float AtlasLayout::maxScroll() const { return std::max(0.0f, contentHeight() - float(viewport_.height())); }

QRectF AtlasLayout::cellRect(int position) const {
  const int row = position / columns_;
  const int col = position % columns_;
  return QRectF(x0_ + float(col) * pitchX(), kPadding + float(row) * pitchY() - scroll_, side_, label_height_ + side_);
}

QRectF AtlasLayout::labelRect(int position) const {
  const QRectF cell = cellRect(position);
  return QRectF(cell.left(), cell.top(), side_, label_height_);
}

QRectF AtlasLayout::mapRect(int position) const {
  const QRectF cell = cellRect(position);
  return QRectF(cell.left(), cell.top() + label_height_, side_, side_);
}

int AtlasLayout::positionAt(QPointF point) const {
  if (count_ == 0) return -1;
  const float x = float(point.x()) - x0_;
  const float y = float(point.y()) + scroll_ - kPadding;
  if (x < 0 || y < 0) return -1;
  const int col = int(x / pitchX());
  const int row = int(y / pitchY());
  if (col >= columns_ || row >= rows_) return -1;
  // Inside the padding after a cell: between two thumbnails, not on one.
  if (x - float(col) * pitchX() >= side_ || y - float(row) * pitchY() >= label_height_ + side_) return -1;
  const int position = row * columns_ + col;
  return position < count_ ? position : -1;
}

int AtlasLayout::firstVisible() const {
  const int row = std::max(0, int((scroll_ - kPadding) / pitchY()));
  return std::min(count_, row * columns_);
}

int AtlasLayout::endVisible() const {
  const int row = int((scroll_ + float(viewport_.height())) / pitchY()) + 1;
  return std::min(count_, row * columns_);
}

}  // namespace headlab
