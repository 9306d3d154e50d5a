#include "event_groups.h"

#include <QObject>
#include <QStringList>
#include <algorithm>
#include <cmath>
#include <map>

namespace headlab {
namespace {

// Higher is more alarming: the group's colour says the worst thing that happened there.
int severity(EventKind kind) {
  switch (kind) {
    case EventKind::Error: return 9;
    case EventKind::Skip: return 8;
    case EventKind::Spike: return 7;
    case EventKind::Pause: return 6;
    case EventKind::Module: return 5;
    case EventKind::Fold: return 4;
    case EventKind::Lr: return 3;
    case EventKind::Resume: return 2;
    case EventKind::Command: return 1;
    case EventKind::Checkpoint: break;
  }
  return 0;
}

}  // namespace

EventKind EventGroup::leadKind() const {
  EventKind lead = events.front().kind;
  for (const EventRecord& e : events)
    if (severity(e.kind) > severity(lead)) lead = e.kind;
  return lead;
}

QString EventGroup::label() const {
  if (events.size() == 1) {
    const EventRecord& e = events.front();
    QString text = QString::fromUtf8(to_string(e.kind));
    if (!e.message.empty()) text += ": " + QString::fromStdString(e.message);
    return text;
  }
  std::vector<EventKind> order;
  std::map<EventKind, std::vector<const EventRecord*>> by_kind;
  for (const EventRecord& e : events) {
    if (!by_kind.count(e.kind)) order.push_back(e.kind);
    by_kind[e.kind].push_back(&e);
  }
  QStringList parts;
  for (EventKind kind : order) {
    const auto& list = by_kind[kind];
    const QString name = QString::fromUtf8(to_string(kind));
    if (list.size() == 1) {
      parts << (list.front()->message.empty() ? name : name + ": " + QString::fromStdString(list.front()->message));
      continue;
    }
    const auto [lo, hi] = std::minmax_element(list.begin(), list.end(),
                                              [](const EventRecord* a, const EventRecord* b) { return a->step < b->step; });
    const QString steps = (*lo)->step == (*hi)->step ? QObject::tr("step %1").arg((*lo)->step)
                                                     : QObject::tr("steps %1-%2").arg((*lo)->step).arg((*hi)->step);
    parts << QObject::tr("%1 ×%2 (%3)").arg(name).arg(list.size()).arg(steps);
  }
  return parts.join("; ");
}

std::vector<EventGroup> groupEvents(const std::vector<EventRecord>& events, const std::vector<double>& xs, double gap) {
  std::vector<size_t> order;
  for (size_t i = 0; i < events.size() && i < xs.size(); ++i)
    if (std::isfinite(xs[i])) order.push_back(i);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return xs[a] < xs[b]; });
  std::vector<EventGroup> groups;
  // One open group per lane: checkpoints (ticks on the axis) and everything else (lines).
  // Indices, not pointers: `groups` grows.
  std::ptrdiff_t open[2] = {-1, -1};
  for (size_t i : order) {
    const int lane = events[i].kind == EventKind::Checkpoint ? 0 : 1;
    if (open[lane] >= 0 && xs[i] - groups[size_t(open[lane])].x_last <= gap) {
      EventGroup& g = groups[size_t(open[lane])];
      g.events.push_back(events[i]);
      g.x_last = xs[i];
      continue;
    }
    groups.push_back(EventGroup{{events[i]}, xs[i], xs[i]});
    open[lane] = std::ptrdiff_t(groups.size()) - 1;
  }
  return groups;
}

}  // namespace headlab
