#pragma once
// Small-sample statistics for comparing runs over seeds: a mean with its Student-t confidence
// interval, a paired comparison against a baseline with a plain verdict, and the mean of a
// clustered quantity (token losses grouped in rows) with its standard error.
//
// Why the t distribution: compare runs 3-10 seeds; a normal interval would be ~30-60% too
// narrow at those sizes and call noise a result. The quantile comes from Boost.Math.
#include <cstdint>
#include <string>
#include <vector>

namespace headlab::stats {

// Quantile of Student's t distribution with `degrees_of_freedom` > 0 at probability p in (0, 1).
double t_quantile(double p, double degrees_of_freedom);

struct Estimate {
  int64_t n = 0;
  double mean = 0;
  double sd = 0;          // sample standard deviation (n - 1); NaN when n < 2
  double ci_low = 0;      // two-sided confidence interval of the mean; NaN when n < 2
  double ci_high = 0;
  double confidence = 0.95;
  bool has_interval() const;
};

// Non-finite values are an error (a diverged seed must be reported, not averaged away).
Estimate estimate_mean(const std::vector<double>& values, double confidence = 0.95);

enum class Verdict {
  Lower,        // the whole interval of the paired difference is below 0
  Higher,       // the whole interval is above 0
  WithinNoise,  // the interval contains 0
  TooFewSeeds,  // fewer than 2 pairs: no interval
};
std::string to_string(Verdict verdict);  // "lower", "higher", "within noise", "too few seeds"

struct PairedComparison {
  std::vector<double> differences;  // variant - baseline, per seed
  Estimate difference;
  int64_t same_sign = 0;            // seeds whose difference has the sign of the mean difference
  Verdict verdict = Verdict::TooFewSeeds;
};

// Pairs values[i] with baseline[i] (the same seed); the sizes must match.
PairedComparison compare_paired(const std::vector<double>& values, const std::vector<double>& baseline,
                                double confidence = 0.95);

// The mean of a quantity summed over clusters (e.g. loss summed over the scored tokens of a
// row): sum(sums) / sum(counts), with the ratio estimator's standard error over clusters,
// which respects that tokens of one row are not independent. Clusters with count 0 add
// nothing. standard_error is NaN with fewer than 2 non-empty clusters.
struct ClusteredMean {
  double mean = 0;
  double standard_error = 0;
  int64_t clusters = 0;
};
ClusteredMean clustered_mean(const std::vector<double>& sums, const std::vector<double>& counts);

}  // namespace headlab::stats
