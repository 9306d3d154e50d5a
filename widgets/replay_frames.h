#pragma once
// The frames of a replay export: the Head Atlas grid (drawn by the QPainter renderer, with a
// "step N" header) or one head's attention map (drawn by an off-screen AttentionMapView, the
// same plot as on screen). Each returns a FrameRenderer that draws every frame at one size.
#include <QSize>
#include <QString>

#include "head_atlas_model.h"
#include "replay_export.h"

namespace headlab {

// Height of the "Head atlas, step N" line above the grid.
inline constexpr int kAtlasFrameHeader = 28;

FrameRenderer atlasFrameRenderer(QSize size, const QString& role_filter = {},
                                 AtlasSortKey sort = AtlasSortKey::LayerHead, bool descending = true);
FrameRenderer attentionFrameRenderer(QSize size, int layer, int head);

}  // namespace headlab
