#include "replay_frames.h"

#include <qcustomplot.h>

#include <QPainter>

#include "attention_map_view.h"
#include "head_atlas_painter.h"

namespace headlab {

FrameRenderer atlasFrameRenderer(QSize size, const QString& role_filter, AtlasSortKey sort, bool descending) {
  // One model for the whole export: its pixel buffer is reused from frame to frame.
  auto model = std::make_shared<HeadAtlasModel>();
  model->setRoleFilter(role_filter);
  model->setSort(sort, descending);
  return [model, size](const std::shared_ptr<const ProbeSnapshot>& snapshot) {
    if (size.width() <= 0 || size.height() <= kAtlasFrameHeader) return QImage();
    model->setSnapshot(snapshot);
    QImage frame(size, QImage::Format_RGB32);
    frame.fill(Qt::white);
    QPainter painter(&frame);
    QFont font = painter.font();
    font.setPixelSize(15);
    font.setBold(true);
    painter.setFont(font);
    painter.setPen(Qt::black);
    QString header = QObject::tr("Head atlas, step %1").arg(snapshot->step);
    if (!model->roleFilter().isEmpty()) header += QObject::tr("  (role: %1)").arg(model->roleFilter());
    if (model->sortKey() != AtlasSortKey::LayerHead)
      header += QObject::tr("  sorted by %1").arg(HeadAtlasModel::statName(model->sortKey()));
    painter.drawText(QRect(8, 0, size.width() - 16, kAtlasFrameHeader), Qt::AlignLeft | Qt::AlignVCenter, header);
    painter.drawImage(0, kAtlasFrameHeader,
                      HeadAtlasPainterCanvas::renderImage(*model, QSize(size.width(), size.height() - kAtlasFrameHeader)));
    painter.end();
    model->setSnapshot(nullptr);  // hold no history entry past the frame
    return frame;
  };
}

FrameRenderer attentionFrameRenderer(QSize size, int layer, int head) {
  // Never shown: QCustomPlot lays out and paints into the image at the requested size.
  auto view = std::make_shared<AttentionMapView>();
  view->resize(size);
  return [view, size, layer, head](const std::shared_ptr<const ProbeSnapshot>& snapshot) {
    if (size.width() <= 0 || size.height() <= 0) return QImage();
    view->setSnapshot(snapshot);
    view->setLayerHead(layer, head);
    QImage frame(size, QImage::Format_RGB32);
    frame.fill(Qt::white);
    {
      QCPPainter painter(&frame);
      painter.setMode(QCPPainter::pmNoCaching);
      view->plot()->toPainter(&painter, size.width(), size.height());
    }
    view->setSnapshot(nullptr);
    return frame;
  };
}

}  // namespace headlab
