#pragma once
// The guided experiments of the Learn panel: which preset each starts, whether it is a
// comparison (and of which variants), and what to watch while it runs. Plain data, so the
// tests can check every tour against the shipped presets and compare variants.
#include <QString>
#include <QStringList>
#include <vector>

#include "head_history.h"

namespace headlab {

struct GuidedTour {
  QString id;               // stable name, e.g. "induction"
  QString title;            // the button's text
  QString preset;           // resources/presets/<preset>.json
  QStringList compare;      // variants to compare; empty: a single live run of the preset
  QString watch;            // HTML: what to look at, and when
  // Where the Heads view should look when the tour starts (layer -1: leave it as it is).
  HeadStatistic focus_statistic = HeadStatistic::Induction;
  int focus_layer = -1;
};

const std::vector<GuidedTour>& guidedTours();
// The tour with this id, or null.
const GuidedTour* findGuidedTour(const QString& id);

}  // namespace headlab
