#pragma once
// Colour gradients shared by the heatmap views, so attention maps and module matrices read
// the same way everywhere (and in exported figures).
#include <qcustomplot.h>

namespace headlab::heatmapstyle {

// Grey for NaN: masked or missing cells must not look like a value on the scale.
inline const QColor kMaskedColor(170, 170, 170);

// Viridis-like, perceptually ordered and without grey, so masked cells stand out.
inline QCPColorGradient sequentialGradient() {
  QCPColorGradient g;
  g.clearColorStops();
  g.setColorStopAt(0.00, QColor(68, 1, 84));
  g.setColorStopAt(0.25, QColor(59, 82, 139));
  g.setColorStopAt(0.50, QColor(33, 145, 140));
  g.setColorStopAt(0.75, QColor(94, 201, 98));
  g.setColorStopAt(1.00, QColor(253, 231, 37));
  g.setNanHandling(QCPColorGradient::nhNanColor);
  g.setNanColor(kMaskedColor);
  return g;
}

// Blue-white-red with white exactly at the middle; paired with a range symmetric around 0,
// white means 0 and the sign reads as the hue.
inline QCPColorGradient divergingGradient() {
  QCPColorGradient g;
  g.clearColorStops();
  g.setColorStopAt(0.0, QColor(33, 102, 172));
  g.setColorStopAt(0.25, QColor(146, 197, 222));
  g.setColorStopAt(0.5, QColor(255, 255, 255));
  g.setColorStopAt(0.75, QColor(244, 165, 130));
  g.setColorStopAt(1.0, QColor(178, 24, 43));
  g.setNanHandling(QCPColorGradient::nhNanColor);
  g.setNanColor(kMaskedColor);
  return g;
}

}  // namespace headlab::heatmapstyle
