#include "stats/estimate.h"

#include <boost/math/distributions/students_t.hpp>

#include <cmath>
#include <stdexcept>

#include "common/errors.h"

namespace headlab::stats {

double t_quantile(double p, double degrees_of_freedom) {
  if (!(p > 0 && p < 1) || !(degrees_of_freedom > 0))
    throw std::invalid_argument("t_quantile needs p in (0, 1) and positive degrees of freedom");
  return boost::math::quantile(boost::math::students_t(degrees_of_freedom), p);
}

bool Estimate::has_interval() const { return n >= 2 && std::isfinite(ci_low) && std::isfinite(ci_high); }

Estimate estimate_mean(const std::vector<double>& values, double confidence) {
  if (!(confidence > 0 && confidence < 1)) throw InputError("confidence must be in (0, 1)");
  Estimate e;
  e.confidence = confidence;
  e.n = static_cast<int64_t>(values.size());
  for (size_t i = 0; i < values.size(); ++i)
    if (!std::isfinite(values[i])) throw InputError("value " + std::to_string(i) + " is not finite");
  if (values.empty()) {
    e.mean = e.sd = e.ci_low = e.ci_high = std::nan("");
    return e;
  }
  double sum = 0;
  for (double v : values) sum += v;
  e.mean = sum / static_cast<double>(e.n);
  if (e.n < 2) {
    e.sd = e.ci_low = e.ci_high = std::nan("");
    return e;
  }
  double squares = 0;
  for (double v : values) squares += (v - e.mean) * (v - e.mean);
  e.sd = std::sqrt(squares / static_cast<double>(e.n - 1));
  const double half = t_quantile(0.5 + confidence / 2, static_cast<double>(e.n - 1)) * e.sd /
                      std::sqrt(static_cast<double>(e.n));
  e.ci_low = e.mean - half;
  e.ci_high = e.mean + half;
  return e;
}

std::string to_string(Verdict verdict) {
  switch (verdict) {
    case Verdict::Lower: return "lower";
    case Verdict::Higher: return "higher";
    case Verdict::WithinNoise: return "within noise";
    case Verdict::TooFewSeeds: return "too few seeds";
  }
  return "?";
}

PairedComparison compare_paired(const std::vector<double>& values, const std::vector<double>& baseline,
                                double confidence) {
  if (values.size() != baseline.size())
    throw InputError("a paired comparison needs one baseline value per seed (" + std::to_string(values.size()) +
                     " vs " + std::to_string(baseline.size()) + ")");
  PairedComparison c;
  for (size_t i = 0; i < values.size(); ++i) c.differences.push_back(values[i] - baseline[i]);
  c.difference = estimate_mean(c.differences, confidence);
  for (double d : c.differences)
    c.same_sign += (d > 0 && c.difference.mean > 0) || (d < 0 && c.difference.mean < 0) ||
                   (d == 0 && c.difference.mean == 0);
  if (!c.difference.has_interval()) c.verdict = Verdict::TooFewSeeds;
  else if (c.difference.ci_high < 0) c.verdict = Verdict::Lower;
  else if (c.difference.ci_low > 0) c.verdict = Verdict::Higher;
  else c.verdict = Verdict::WithinNoise;
  return c;
}

ClusteredMean clustered_mean(const std::vector<double>& sums, const std::vector<double>& counts) {
  if (sums.size() != counts.size()) throw std::invalid_argument("clustered_mean: sums and counts differ in size");
  ClusteredMean out;
  double total = 0, weight = 0;
  for (size_t i = 0; i < sums.size(); ++i) {
    if (counts[i] <= 0) continue;
    total += sums[i];
    weight += counts[i];
    ++out.clusters;
  }
  if (out.clusters == 0) {
    out.mean = out.standard_error = std::nan("");
    return out;
  }
  out.mean = total / weight;
  if (out.clusters < 2) {
    out.standard_error = std::nan("");
    return out;
  }
  // Var(ratio) ~ sum_i (s_i - mean * c_i)^2 / (n (n - 1) cbar^2): the linearised (delta
  // method) variance of a ratio of sums, as in cluster sampling.
  const double n = static_cast<double>(out.clusters);
  const double mean_count = weight / n;
  double residuals = 0;
  for (size_t i = 0; i < sums.size(); ++i) {
    if (counts[i] <= 0) continue;
    const double r = sums[i] - out.mean * counts[i];
    residuals += r * r;
  }
  out.standard_error = std::sqrt(residuals / (n * (n - 1))) / mean_count;
  return out;
}

}  // namespace headlab::stats
