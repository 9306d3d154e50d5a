#include "comparison_curves.h"

#include <cmath>
#include <map>

#include "smoothing.h"
#include "stats/estimate.h"

namespace headlab {

MeanCurve meanCurve(const std::vector<std::vector<MetricPoint>>& runs, CurveMetric metric, double confidence) {
  std::map<int64_t, std::vector<double>> by_step;
  for (const auto& run : runs) {
    DebiasedEma ema(kComparisonSmoothing);
    for (const MetricPoint& p : run) {
      double value = std::nan("");
      if (metric == CurveMetric::Validation) {
        if (p.val_loss) value = *p.val_loss;
      } else {
        value = ema.push(p.loss);
      }
      if (std::isfinite(value)) by_step[p.step].push_back(value);
    }
  }
  MeanCurve curve;
  for (const auto& [step, values] : by_step) {
    const stats::Estimate e = stats::estimate_mean(values, confidence);
    curve.steps.push_back(double(step));
    curve.mean.push_back(e.mean);
    curve.low.push_back(e.has_interval() ? e.ci_low : std::nan(""));
    curve.high.push_back(e.has_interval() ? e.ci_high : std::nan(""));
    curve.seeds.push_back(int(values.size()));
  }
  return curve;
}

}  // namespace headlab
