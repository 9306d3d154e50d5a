#pragma once
// The comparison's one progress line: which run stepped last, of how many, the share of all
// steps done and the time left, e.g. "run 3/12 (kha-linear seed 1235) · 41% · ETA 1m20s".
#include <QString>

#include "run/compare.h"

namespace headlab {

// "45s", "1m20s", "2h05m"; "-" for a negative or non-finite time.
QString formatDuration(double seconds);

// Done steps over all steps of the comparison, in [0, 1].
double compareDoneFraction(const run::CompareProgress& p);

// The time left if the remaining steps go as fast as the done ones did: elapsed * (1 - f) / f.
// NaN before the first step (nothing to extrapolate from).
double compareSecondsLeft(const run::CompareProgress& p, double elapsed_s);

// The progress line, with the ETA from the wall time spent since the comparison started.
QString compareProgressText(const run::CompareProgress& p, double elapsed_s);

}  // namespace headlab
