#include "head_atlas_model.h"

#include <QStringList>

#include <QCoreApplication>
#include <algorithm>
#include <cmath>
#include <set>

#include "atlas_colormap.h"

namespace headlab {
namespace {

QString tr(const char* text) { return QCoreApplication::translate("HeadAtlas", text); }

}  // namespace

void HeadAtlasModel::setSnapshot(std::shared_ptr<const ProbeSnapshot> snapshot) {
  snapshot_ = std::move(snapshot);
  layers_ = heads_ = seq_len_ = head_count_ = 0;
  problem_.clear();
  if (!snapshot_) {
    problem_ = tr("No probe yet: start training or open a model.");
  } else {
    const ProbeSnapshot& s = *snapshot_;
    const size_t need = size_t(std::max(0, s.n_layers)) * std::max(0, s.n_heads) * std::max(0, s.seq_len) *
                        std::max(0, s.seq_len);
    if (s.n_layers <= 0 || s.n_heads <= 0 || s.seq_len <= 0) {
      problem_ = tr("This probe has no attention maps.");
    } else if (s.attention.size() < need) {
      // A malformed snapshot shows nothing rather than reading out of bounds.
      problem_ = tr("This probe's attention data is incomplete (%1 of %2 values).").arg(s.attention.size()).arg(need);
    } else {
      layers_ = s.n_layers;
      heads_ = s.n_heads;
      seq_len_ = s.seq_len;
      head_count_ = layers_ * heads_;
    }
  }
  if (selected_ >= head_count_) selected_ = head_count_ > 0 ? head_count_ - 1 : -1;
  rebuildPixels();
  rebuildOrder();
  ++revision_;
}

void HeadAtlasModel::rebuildPixels() {
  pixels_.resize(size_t(head_count_) * textureBytes());
  if (head_count_ == 0) return;
  const auto& table = atlascolor::lut();
  const float* value = snapshot_->attention.data();
  uint8_t* out = pixels_.data();
  // Runs on the GUI thread for every probe: a flat walk, no per-texel division
  // (12 x 12 heads x 128 x 128 tokens is 2.4 M texels).
  for (int head = 0; head < head_count_; ++head)
    for (int query = 0; query < seq_len_; ++query)
      for (int key = 0; key < seq_len_; ++key, ++value, out += kBytesPerTexel) {
        const atlascolor::Rgba c = key > query ? atlascolor::kMasked : table[atlascolor::probabilityToByte(*value)];
        out[0] = c.r;
        out[1] = c.g;
        out[2] = c.b;
        out[3] = c.a;
      }
}

const HeadStats* HeadAtlasModel::stats(int index) const {
  if (!snapshot_ || index < 0 || index >= head_count_) return nullptr;
  const auto& all = snapshot_->heads;
  const int layer = layerOf(index), head = headOf(index);
  // Layer-major by contract; search only when a snapshot does not follow it.
  if (size_t(index) < all.size() && all[size_t(index)].layer == layer && all[size_t(index)].head == head)
    return &all[size_t(index)];
  for (const HeadStats& s : all)
    if (s.layer == layer && s.head == head) return &s;
  return nullptr;
}

QString HeadAtlasModel::roleOf(int index) const {
  const HeadStats* s = stats(index);
  return s ? QString::fromStdString(s->role) : QString();
}

QStringList HeadAtlasModel::roles() const {
  std::set<QString> found;
  for (int i = 0; i < head_count_; ++i)
    if (const QString r = roleOf(i); !r.isEmpty()) found.insert(r);
  return QStringList(found.begin(), found.end());
}

void HeadAtlasModel::setRoleFilter(const QString& role) {
  role_filter_ = role;
  rebuildOrder();
}

void HeadAtlasModel::setSort(AtlasSortKey key, bool descending) {
  sort_key_ = key;
  descending_ = descending;
  rebuildOrder();
}

float HeadAtlasModel::statValue(const HeadStats& s, AtlasSortKey key) {
  switch (key) {
    case AtlasSortKey::Entropy: return s.entropy;
    case AtlasSortKey::PreviousToken: return s.previous_token;
    case AtlasSortKey::Induction: return s.induction;
    case AtlasSortKey::Sink: return s.sink;
    case AtlasSortKey::Self: return s.self;
    case AtlasSortKey::MeanDistance: return s.mean_distance;
    case AtlasSortKey::LayerHead: break;
  }
  return 0.0f;
}

QString HeadAtlasModel::statName(AtlasSortKey key) {
  switch (key) {
    case AtlasSortKey::LayerHead: return tr("layer, head");
    case AtlasSortKey::Entropy: return tr("entropy");
    case AtlasSortKey::PreviousToken: return tr("previous token");
    case AtlasSortKey::Induction: return tr("induction");
    case AtlasSortKey::Sink: return tr("sink");
    case AtlasSortKey::Self: return tr("self");
    case AtlasSortKey::MeanDistance: return tr("mean distance");
  }
  return {};
}

void HeadAtlasModel::rebuildOrder() {
  order_.clear();
  for (int i = 0; i < head_count_; ++i)
    if (role_filter_.isEmpty() || roleOf(i) == role_filter_) order_.push_back(i);
  // Layer/head order is reading order either way: "descending" applies to statistics only.
  if (sort_key_ == AtlasSortKey::LayerHead) return;
  auto value = [this](int i) {
    const HeadStats* s = stats(i);
    return s ? statValue(*s, sort_key_) : NAN;
  };
  std::stable_sort(order_.begin(), order_.end(), [&](int a, int b) {
    const float va = value(a), vb = value(b);
    if (std::isnan(va) || std::isnan(vb)) return !std::isnan(va) && std::isnan(vb);  // missing last
    return descending_ ? va > vb : va < vb;
  });
}

int HeadAtlasModel::positionOf(int index) const {
  const auto it = std::find(order_.begin(), order_.end(), index);
  return it == order_.end() ? -1 : int(it - order_.begin());
}

void HeadAtlasModel::setSelected(int index) { selected_ = (index >= 0 && index < head_count_) ? index : -1; }

int HeadAtlasModel::neighbour(int index, int dx, int dy) const {
  const int position = positionOf(index);
  if (position < 0) return order_.empty() ? index : order_.front();
  const int target = std::clamp(position + dx + dy * columns(), 0, int(order_.size()) - 1);
  return order_[size_t(target)];
}

QString HeadAtlasModel::captionOf(int index) const { return tr("L%1 H%2").arg(layerOf(index)).arg(headOf(index)); }

QString HeadAtlasModel::captionFitting(int index, const std::function<double(const QString&)>& width,
                                       double room) const {
  static const std::pair<const char*, const char*> kShortRoles[] = {
      {"previous-token", "prev"}, {"induction", "ind"}, {"diffuse", "diff"}, {"local", "local"}, {"sink", "sink"}};
  const QString role = roleOf(index);
  QString short_role = role;
  for (const auto& [full, abbreviation] : kShortRoles)
    if (role == full) short_role = abbreviation;
  const QString spaced = captionOf(index);
  const QString tight = tr("L%1H%2").arg(layerOf(index)).arg(headOf(index));
  QStringList candidates;
  if (!role.isEmpty()) candidates << spaced + ' ' + role << spaced + ' ' + short_role << tight + ' ' + short_role;
  candidates << spaced << tight;
  for (const QString& c : candidates)
    if (width(c) <= room) return c;
  return candidates.back();
}

QString HeadAtlasModel::hoverText(int index) const {
  if (index < 0 || index >= head_count_) return {};
  QString text = tr("Layer %1, head %2").arg(layerOf(index)).arg(headOf(index));
  const HeadStats* s = stats(index);
  if (!s) return text + tr("\n(no statistics in this probe)");
  if (!s->role.empty()) text += tr(": %1").arg(QString::fromStdString(s->role));
  auto line = [](const QString& name, float v, int decimals) { return QStringLiteral("\n%1  %2").arg(name).arg(double(v), 0, 'f', decimals); };
  text += line(tr("entropy (nats)"), s->entropy, 3);
  text += line(tr("previous token"), s->previous_token, 3);
  text += line(tr("induction"), s->induction, 3);
  text += line(tr("sink"), s->sink, 3);
  text += line(tr("self"), s->self, 3);
  text += line(tr("mean distance (tokens)"), s->mean_distance, 2);
  return text;
}

}  // namespace headlab
