#include "head_history.h"

#include <algorithm>

namespace headlab {

std::string statisticName(HeadStatistic statistic) {
  switch (statistic) {
    case HeadStatistic::Entropy: return "entropy";
    case HeadStatistic::PreviousToken: return "previous-token";
    case HeadStatistic::Induction: return "induction";
    case HeadStatistic::Sink: return "sink";
    case HeadStatistic::Self: return "self";
    case HeadStatistic::MeanDistance: return "mean distance";
  }
  return "?";
}

float statisticValue(const HeadStats& s, HeadStatistic statistic) {
  switch (statistic) {
    case HeadStatistic::Entropy: return s.entropy;
    case HeadStatistic::PreviousToken: return s.previous_token;
    case HeadStatistic::Induction: return s.induction;
    case HeadStatistic::Sink: return s.sink;
    case HeadStatistic::Self: return s.self;
    case HeadStatistic::MeanDistance: return s.mean_distance;
  }
  return 0;
}

const HeadStats* findHead(const ProbeSnapshot& snapshot, int layer, int head) {
  // Layer-major is the contract; look it up by the fields anyway, so a snapshot built in a
  // different order still reads right.
  const size_t index = static_cast<size_t>(layer) * static_cast<size_t>(std::max(snapshot.n_heads, 0)) + head;
  if (layer >= 0 && head >= 0 && head < snapshot.n_heads && index < snapshot.heads.size()) {
    const HeadStats& s = snapshot.heads[index];
    if (s.layer == layer && s.head == head) return &s;
  }
  for (const HeadStats& s : snapshot.heads)
    if (s.layer == layer && s.head == head) return &s;
  return nullptr;
}

std::vector<HeadSeries> perHeadSeries(const ProbeHistory& history, int layer, HeadStatistic statistic) {
  int n_heads = 0;
  for (const auto& snap : history)
    if (snap && layer >= 0 && layer < snap->n_layers) n_heads = std::max(n_heads, snap->n_heads);
  std::vector<HeadSeries> out(static_cast<size_t>(n_heads));
  for (int h = 0; h < n_heads; ++h) out[size_t(h)].label = "L" + std::to_string(layer) + " H" + std::to_string(h);
  for (const auto& snap : history) {
    if (!snap || layer < 0 || layer >= snap->n_layers) continue;
    for (int h = 0; h < n_heads; ++h) {
      const HeadStats* s = findHead(*snap, layer, h);
      if (!s) continue;
      out[size_t(h)].steps.push_back(double(snap->step));
      out[size_t(h)].values.push_back(statisticValue(*s, statistic));
    }
  }
  return out;
}

std::vector<HeadSeries> maxPerLayerSeries(const ProbeHistory& history, HeadStatistic statistic) {
  int n_layers = 0;
  for (const auto& snap : history)
    if (snap) n_layers = std::max(n_layers, snap->n_layers);
  std::vector<HeadSeries> out(static_cast<size_t>(n_layers));
  for (int l = 0; l < n_layers; ++l) out[size_t(l)].label = "layer " + std::to_string(l) + " (max)";
  for (const auto& snap : history) {
    if (!snap) continue;
    for (int l = 0; l < snap->n_layers; ++l) {
      bool any = false;
      float best = 0;
      for (int h = 0; h < snap->n_heads; ++h) {
        const HeadStats* s = findHead(*snap, l, h);
        if (!s) continue;
        const float v = statisticValue(*s, statistic);
        best = any ? std::max(best, v) : v;
        any = true;
      }
      if (!any) continue;
      out[size_t(l)].steps.push_back(double(snap->step));
      out[size_t(l)].values.push_back(best);
    }
  }
  return out;
}

}  // namespace headlab
