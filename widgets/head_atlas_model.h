#pragma once
// What the Head Atlas shows, without any drawing: the thumbnail pixels of every layer x head
// attention map of a probe snapshot (RGBA8, colour map in atlas_colormap.h), which heads are
// visible (filter by role) and in which order (sort by a statistic), the selected head and the
// hover text. The OpenGL/ImGui renderer uploads textureOf() as textures, the QPainter renderer
// wraps the same bytes in QImages, so both show exactly the same thing.
#include <QString>
#include <functional>
#include <QStringList>
#include <cstdint>
#include <memory>
#include <vector>

#include "probe/snapshot.h"

namespace headlab {

enum class AtlasSortKey { LayerHead, Entropy, PreviousToken, Induction, Sink, Self, MeanDistance };

class HeadAtlasModel {
 public:
  static constexpr int kBytesPerTexel = 4;  // RGBA8

  // Recomputes the thumbnails. A null snapshot, one without attention maps or one whose
  // attention vector is shorter than its shape says shows nothing (problem() says why).
  void setSnapshot(std::shared_ptr<const ProbeSnapshot> snapshot);
  const std::shared_ptr<const ProbeSnapshot>& snapshot() const { return snapshot_; }
  bool hasMaps() const { return head_count_ > 0; }
  QString problem() const { return problem_; }
  int layers() const { return layers_; }
  int heads() const { return heads_; }
  int seqLen() const { return seq_len_; }
  int headCount() const { return head_count_; }
  // Changes whenever the pixels change: the GL renderer re-uploads only then.
  uint64_t revision() const { return revision_; }

  // Head index = layer * heads() + head (layer-major, like ProbeSnapshot::heads).
  int indexOf(int layer, int head) const { return layer * heads_ + head; }
  int layerOf(int index) const { return heads_ > 0 ? index / heads_ : 0; }
  int headOf(int index) const { return heads_ > 0 ? index % heads_ : 0; }

  // All thumbnails in one buffer: head after head (layer-major), each seq_len rows (query) of
  // seq_len texels (key), 4 bytes per texel.
  const std::vector<uint8_t>& textureData() const { return pixels_; }
  size_t textureBytes() const { return size_t(seq_len_) * seq_len_ * kBytesPerTexel; }
  size_t headOffset(int index) const { return size_t(index) * textureBytes(); }
  const uint8_t* textureOf(int index) const { return pixels_.data() + headOffset(index); }

  // Statistics of a head; null when the snapshot has none for it.
  const HeadStats* stats(int index) const;
  QString roleOf(int index) const;
  // The roles present in the snapshot, sorted (for the filter box).
  QStringList roles() const;

  // Empty: every head. Otherwise only heads whose role is `role`.
  void setRoleFilter(const QString& role);
  QString roleFilter() const { return role_filter_; }
  // LayerHead keeps layer-major order; a statistic sorts by its value (heads without
  // statistics last), ties in layer-major order.
  void setSort(AtlasSortKey key, bool descending);
  AtlasSortKey sortKey() const { return sort_key_; }
  bool sortDescending() const { return descending_; }
  // The visible heads, in drawing order.
  const std::vector<int>& order() const { return order_; }
  int positionOf(int index) const;  // -1 when filtered out
  // Grid width: one row per layer when nothing is filtered or reordered.
  int columns() const { return heads_ > 0 ? heads_ : 1; }

  // Selected head index, -1 for none. Clamped when the shape changes.
  void setSelected(int index);
  int selected() const { return selected_; }
  // Keyboard navigation: the head dx positions right and dy rows down of `index` in the
  // visible order (clamped to the grid); `index` itself when it is not visible.
  int neighbour(int index, int dx, int dy) const;

  // "Layer 1, head 3: induction" and one line per statistic.
  QString captionOf(int index) const;  // "L1 H3"
  // The longest caption of the head that fits `room` pixels as measured by `width`: "L1 H3
  // previous-token", "L1 H3 prev", "L1H3 prev", "L1 H3", "L1H3"; the shortest when none fits.
  // A role cut to "previ…" reads as a different role; an abbreviation does not.
  QString captionFitting(int index, const std::function<double(const QString&)>& width, double room) const;
  QString hoverText(int index) const;

  static float statValue(const HeadStats& s, AtlasSortKey key);
  static QString statName(AtlasSortKey key);

 private:
  void rebuildOrder();
  void rebuildPixels();

  std::shared_ptr<const ProbeSnapshot> snapshot_;
  QString problem_;
  int layers_ = 0, heads_ = 0, seq_len_ = 0, head_count_ = 0;
  std::vector<uint8_t> pixels_;
  uint64_t revision_ = 0;
  QString role_filter_;
  AtlasSortKey sort_key_ = AtlasSortKey::LayerHead;
  bool descending_ = true;
  std::vector<int> order_;
  int selected_ = -1;
};

}  // namespace headlab
