#pragma once
// Which events the loss chart draws as one marker. A run logs a checkpoint every few hundred
// steps, a schedule can switch three modules at one step, and runs logged before the median
// spike detector have one spike event per step of an episode: drawn one line and one label
// each, they pile into a smear that hides the curve. Events closer than a small share of the
// visible x range become one group, labelled with a count and a step range per kind.
// Checkpoints group among themselves only: they are drawn as ticks on the x axis, not lines.
// Plain data in, plain data out (no plotting), so the rule is tested on its own.
#include <QString>
#include <cstdint>
#include <vector>

#include "common/records.h"

namespace headlab {

struct EventGroup {
  std::vector<EventRecord> events;  // in x order, at least one
  double x_first = 0;               // x of the first and last event on the chart's axis
  double x_last = 0;

  bool isCheckpoints() const { return events.front().kind == EventKind::Checkpoint; }
  // The kind whose colour the marker takes: the most alarming one in the group.
  EventKind leadKind() const;
  // "spike ×10 (steps 812-821)"; one event alone: "module: bypass kha in layer 0". Kinds are
  // listed by first appearance, joined with "; ".
  QString label() const;
};

// The share of the visible x range within which neighbouring events form one group.
inline constexpr double kEventGroupFraction = 0.015;

// `xs[i]` is where events[i] sits on the chart's axis (NaN: not drawn, left out). Events of
// a group are each within `gap` of the previous one.
std::vector<EventGroup> groupEvents(const std::vector<EventRecord>& events, const std::vector<double>& xs, double gap);

}  // namespace headlab
