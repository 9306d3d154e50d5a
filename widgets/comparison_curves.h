#pragma once
// The numbers behind the comparison chart: per row of a comparison (a variant at a sweep
// point), the mean over its seeds of a loss at every step, with the confidence interval of
// that mean. Plain C++ (no Qt), so the values a chart draws can be checked by hand.
//
// Why per step and not per curve: with runs that are still going (interleaved mode) or that
// log different steps, a step's mean is over the seeds that reached it; `seeds` says how
// many, and the interval exists only where at least two did.
#include <cstdint>
#include <vector>

#include "common/records.h"

namespace headlab {

enum class CurveMetric {
  Validation,        // val_loss at the steps where validation ran (what the table's verdict is on)
  SmoothedTraining,  // training loss of every logged step, smoothed per run before averaging
};

// The smoothing of training loss curves (DebiasedEma weight). Fixed rather than shared with the
// live chart's slider: averaging over seeds already removes much of the noise, and curves of
// one comparison must all be smoothed alike to be compared.
inline constexpr double kComparisonSmoothing = 0.9;

struct MeanCurve {
  std::vector<double> steps;  // ascending
  std::vector<double> mean;
  std::vector<double> low;    // interval of the mean; NaN where fewer than 2 seeds have the step
  std::vector<double> high;
  std::vector<int> seeds;     // how many seeds the step's mean is over
};

// `runs`: one metrics series per seed, each in step order. Non-finite values (a diverged
// step) are left out of their step's mean rather than poisoning it; the comparison's table
// still reports such a seed.
MeanCurve meanCurve(const std::vector<std::vector<MetricPoint>>& runs, CurveMetric metric,
                    double confidence = 0.95);

}  // namespace headlab
