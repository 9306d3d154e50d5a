#include "compare_progress.h"

#include <QObject>
#include <algorithm>
#include <cmath>

namespace headlab {

QString formatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return QStringLiteral("-");
  const long long s = std::llround(seconds);
  if (s < 60) return QStringLiteral("%1s").arg(s);
  if (s < 3600) return QStringLiteral("%1m%2s").arg(s / 60).arg(s % 60, 2, 10, QChar('0'));
  return QStringLiteral("%1h%2m").arg(s / 3600).arg((s % 3600) / 60, 2, 10, QChar('0'));
}

double compareDoneFraction(const run::CompareProgress& p) {
  if (p.total_steps <= 0) return 0;
  return std::clamp(double(p.done_steps) / double(p.total_steps), 0.0, 1.0);
}

double compareSecondsLeft(const run::CompareProgress& p, double elapsed_s) {
  const double f = compareDoneFraction(p);
  if (f <= 0 || !std::isfinite(elapsed_s)) return std::nan("");
  return elapsed_s * (1 - f) / f;
}

QString compareProgressText(const run::CompareProgress& p, double elapsed_s) {
  const double f = compareDoneFraction(p);
  const double left = compareSecondsLeft(p, elapsed_s);
  // Floor, so 100% shows only when every step is done.
  const int percent = int(std::floor(f * 100));
  // One multi-argument arg(): a row name holding "%2" must not be taken for a placeholder.
  return QObject::tr("run %1/%2 (%3 seed %4) · %5% · ETA %6")
      .arg(QString::number(p.run + 1), QString::number(p.runs), QString::fromStdString(p.name),
           QString::number(p.seed), QString::number(percent),
           std::isfinite(left) ? formatDuration(left) : QObject::tr("…"));
}

}  // namespace headlab
