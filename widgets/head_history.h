#pragma once
// Per-head statistics over training, pulled out of a probe history (oldest first) as plain
// series for the Heads view: one line per head of a layer, or per layer the maximum over its
// heads ("does any head of layer 1 do induction yet?"). No Qt: the numbers are tested alone.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "probe/snapshot.h"

namespace headlab {

enum class HeadStatistic { Entropy, PreviousToken, Induction, Sink, Self, MeanDistance };

inline constexpr HeadStatistic kAllHeadStatistics[] = {HeadStatistic::Entropy,   HeadStatistic::PreviousToken,
                                                      HeadStatistic::Induction, HeadStatistic::Sink,
                                                      HeadStatistic::Self,      HeadStatistic::MeanDistance};

// "entropy", "previous-token", "induction", "sink", "self", "mean distance".
std::string statisticName(HeadStatistic statistic);
float statisticValue(const HeadStats& stats, HeadStatistic statistic);

// One line of the chart: a value per probe step.
struct HeadSeries {
  std::string label;  // "L1 H0" or "layer 1 (max)"
  std::vector<double> steps;
  std::vector<double> values;
};

using ProbeHistory = std::vector<std::shared_ptr<const ProbeSnapshot>>;

// One series per head of `layer`, over every snapshot that has that layer. Snapshots whose
// heads list is short or missing (a corrupt or foreign probe) are skipped, never read past.
std::vector<HeadSeries> perHeadSeries(const ProbeHistory& history, int layer, HeadStatistic statistic);

// One series per layer: the maximum of the statistic over the layer's heads at each step.
std::vector<HeadSeries> maxPerLayerSeries(const ProbeHistory& history, HeadStatistic statistic);

// The stats of (layer, head) in a snapshot, or null when it has none.
const HeadStats* findHead(const ProbeSnapshot& snapshot, int layer, int head);

}  // namespace headlab
