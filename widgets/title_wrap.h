#pragma once
// Plot titles in narrow docks. A QCustomPlot text element that sets its own minimum width
// makes the whole panel wider than a laptop's dock; one that does not is cut at both ends
// when its text is wider than its cell. Titles here are built from parts joined by two
// spaces ("Layer 1, head 2  (step 600)  role: induction, ..."), so a line that does not fit
// breaks at those gaps, never inside a part.
#include <QFontMetricsF>
#include <QString>

namespace headlab {

// `text` with each line that is wider than `width` pixels broken at its two-space gaps,
// greedily (as many parts per line as fit). A single part wider than `width` keeps its line.
QString wrapTitleAtGaps(const QString& text, const QFontMetricsF& metrics, double width);

}  // namespace headlab
