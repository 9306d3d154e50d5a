#include "head_atlas_painter.h"

#include <QHelpEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QToolTip>
#include <QWheelEvent>

#include "head_atlas_model.h"

namespace headlab {

HeadAtlasPainterCanvas::HeadAtlasPainterCanvas(const HeadAtlasModel* model, QWidget* parent)
    : QWidget(parent), model_(model) {
  setMouseTracking(true);
  setFocusPolicy(Qt::StrongFocus);
  setMinimumSize(120, 120);
  setObjectName("atlasPainterCanvas");
}

AtlasLayout HeadAtlasPainterCanvas::layoutFor(const HeadAtlasModel& model, QSizeF size, float scroll) {
  return AtlasLayout(int(model.order().size()), model.columns(), size, kAtlasLabelHeight, scroll);
}

AtlasLayout HeadAtlasPainterCanvas::layout() const { return layoutFor(*model_, QSizeF(size()), scroll_); }

void HeadAtlasPainterCanvas::refresh() {
  scroll_ = layout().scroll();  // re-clamp: the number of visible heads may have changed
  if (hovered_ >= model_->headCount() || (hovered_ >= 0 && model_->positionOf(hovered_) < 0)) setHovered(-1);
  update();
}

void HeadAtlasPainterCanvas::setScroll(float scroll) {
  scroll_ = layoutFor(*model_, QSizeF(size()), scroll).scroll();
  update();
}

void HeadAtlasPainterCanvas::paintAtlas(QPainter& painter, const HeadAtlasModel& model, const AtlasLayout& layout,
                                        int hovered, const QPalette& palette) {
  QFont font = painter.font();
  font.setPixelSize(11);
  painter.setFont(font);
  if (!model.hasMaps() || model.order().empty()) {
    const QString text = !model.hasMaps() ? model.problem()
                                          : QObject::tr("No head has the role \"%1\" in this probe.").arg(model.roleFilter());
    painter.setPen(palette.color(QPalette::WindowText));
    painter.drawText(painter.viewport(), Qt::AlignCenter | Qt::TextWordWrap, text);
    return;
  }
  // Nearest-neighbour scaling: one flat block per attention weight, as in the big map.
  painter.setRenderHint(QPainter::SmoothPixmapTransform, false);
  const int T = model.seqLen();
  const auto& order = model.order();
  for (int position = layout.firstVisible(); position < layout.endVisible(); ++position) {
    const int index = order[size_t(position)];
    const QRectF map = layout.mapRect(position);
    painter.setPen(palette.color(QPalette::WindowText));
    const QFontMetricsF metrics(painter.font());
    painter.drawText(layout.labelRect(position), Qt::AlignLeft | Qt::AlignVCenter,
                     model.captionFitting(index, [&](const QString& t) { return metrics.horizontalAdvance(t); },
                                          layout.side()));
    const QImage image(model.textureOf(index), T, T, T * HeadAtlasModel::kBytesPerTexel, QImage::Format_RGBA8888);
    painter.drawImage(map, image);
    if (index == model.selected() || index == hovered) {
      const bool selected = index == model.selected();
      painter.setPen(QPen(selected ? palette.color(QPalette::Highlight) : palette.color(QPalette::WindowText),
                          selected ? 3.0 : 1.0));
      painter.setBrush(Qt::NoBrush);
      painter.drawRect(map.adjusted(-1.5, -1.5, 1.5, 1.5));
    }
  }
}

QImage HeadAtlasPainterCanvas::renderImage(const HeadAtlasModel& model, QSize size) {
  QImage image(size, QImage::Format_ARGB32);
  image.fill(Qt::white);
  QPainter painter(&image);
  QPalette palette;
  palette.setColor(QPalette::WindowText, Qt::black);
  palette.setColor(QPalette::Highlight, QColor(255, 80, 0));
  paintAtlas(painter, model, layoutFor(model, QSizeF(size)), -1, palette);
  return image;
}

void HeadAtlasPainterCanvas::paintEvent(QPaintEvent*) {
  QPainter painter(this);
  painter.fillRect(rect(), palette().color(QPalette::Window));
  paintAtlas(painter, *model_, layout(), hovered_, palette());
}

int HeadAtlasPainterCanvas::indexAt(QPointF point) const {
  const int position = layout().positionAt(point);
  return position < 0 ? -1 : model_->order()[size_t(position)];
}

void HeadAtlasPainterCanvas::setHovered(int index) {
  if (index == hovered_) return;
  hovered_ = index;
  update();
  emit hoverChanged(index);
}

void HeadAtlasPainterCanvas::mouseMoveEvent(QMouseEvent* event) { setHovered(indexAt(event->position())); }

void HeadAtlasPainterCanvas::mousePressEvent(QMouseEvent* event) {
  const int index = indexAt(event->position());
  if (event->button() == Qt::LeftButton && index >= 0) emit headClicked(index);
}

void HeadAtlasPainterCanvas::leaveEvent(QEvent*) { setHovered(-1); }

void HeadAtlasPainterCanvas::wheelEvent(QWheelEvent* event) {
  const AtlasLayout l = layout();
  if (l.maxScroll() <= 0) return event->ignore();
  setScroll(scroll_ - float(event->angleDelta().y()) / 120.0f * (l.side() + kAtlasLabelHeight) / 2.0f);
}

bool HeadAtlasPainterCanvas::event(QEvent* event) {
  if (event->type() == QEvent::ToolTip) {
    // A head's statistics over a thumbnail, the general explanation elsewhere.
    auto* help = static_cast<QHelpEvent*>(event);  // one tooltip at a time: this one
    const int index = indexAt(help->pos());
    QToolTip::showText(help->globalPos(), index >= 0 ? model_->hoverText(index) : toolTip(), this);
    return true;
  }
  return QWidget::event(event);
}

}  // namespace headlab
