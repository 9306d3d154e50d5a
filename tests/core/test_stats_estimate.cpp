// Known inputs -> known intervals and verdicts (reference values from R: t.test, qt).
#include <gtest/gtest.h>

#include <cmath>

#include "common/errors.h"
#include "stats/estimate.h"

using namespace headlab;
using namespace headlab::stats;

TEST(Stats, StudentTQuantilesMatchTheTables) {
  EXPECT_NEAR(t_quantile(0.975, 1), 12.7062047, 1e-6);
  EXPECT_NEAR(t_quantile(0.975, 4), 2.7764451, 1e-6);
  EXPECT_NEAR(t_quantile(0.975, 30), 2.0422725, 1e-6);
  EXPECT_NEAR(t_quantile(0.95, 9), 1.8331129, 1e-6);
  EXPECT_THROW(t_quantile(1.0, 3), std::invalid_argument);
  EXPECT_THROW(t_quantile(0.5, 0), std::invalid_argument);
}

TEST(Stats, MeanWithATInterval) {
  const auto e = estimate_mean({1, 2, 3, 4, 5});
  EXPECT_EQ(e.n, 5);
  EXPECT_DOUBLE_EQ(e.mean, 3.0);
  EXPECT_NEAR(e.sd, 1.5811388, 1e-6);
  // 3 -/+ qt(0.975, 4) * sd / sqrt(5)
  EXPECT_NEAR(e.ci_low, 1.0367568, 1e-6);
  EXPECT_NEAR(e.ci_high, 4.9632432, 1e-6);
  EXPECT_TRUE(e.has_interval());
  const auto e90 = estimate_mean({1, 2, 3, 4, 5}, 0.90);
  EXPECT_NEAR(e90.ci_high, 3 + 2.1318468 * 1.5811388 / std::sqrt(5.0), 1e-6);
}

TEST(Stats, OneValueHasNoIntervalAndNonFiniteValuesAreRefused) {
  const auto one = estimate_mean({0.7});
  EXPECT_DOUBLE_EQ(one.mean, 0.7);
  EXPECT_FALSE(one.has_interval());
  EXPECT_TRUE(std::isnan(one.sd));
  EXPECT_TRUE(std::isnan(estimate_mean({}).mean));
  EXPECT_THROW(estimate_mean({1.0, std::nan("")}), InputError);
  EXPECT_THROW(estimate_mean({1.0, 2.0}, 1.5), InputError);
}

TEST(Stats, PairedComparisonVerdicts) {
  // Every seed lower by 0.02-0.04: the interval excludes 0.
  const auto lower = compare_paired({0.50, 0.52, 0.49, 0.51, 0.50}, {0.53, 0.54, 0.52, 0.55, 0.52});
  EXPECT_NEAR(lower.difference.mean, -0.028, 1e-12);
  EXPECT_NEAR(lower.difference.sd, 0.0083666, 1e-6);
  EXPECT_NEAR(lower.difference.ci_low, -0.0383886, 1e-6);
  EXPECT_NEAR(lower.difference.ci_high, -0.0176114, 1e-6);
  EXPECT_EQ(lower.same_sign, 5);
  EXPECT_EQ(lower.verdict, Verdict::Lower);
  EXPECT_EQ(to_string(lower.verdict), "lower");

  const auto higher = compare_paired({0.53, 0.54, 0.52, 0.55, 0.52}, {0.50, 0.52, 0.49, 0.51, 0.50});
  EXPECT_EQ(higher.verdict, Verdict::Higher);

  // The measured case of the issue: a mean of -0.0095 with seeds of either sign.
  const auto noise = compare_paired({0.51, 0.48, 0.515, 0.49, 0.50}, {0.50, 0.50, 0.50, 0.50, 0.50});
  EXPECT_NEAR(noise.difference.mean, -0.001, 1e-12);
  EXPECT_EQ(noise.same_sign, 2);  // -0.02 and -0.01 share the mean's sign; +0.01, +0.015 do not; 0 neither
  EXPECT_LT(noise.difference.ci_low, 0);
  EXPECT_GT(noise.difference.ci_high, 0);
  EXPECT_EQ(noise.verdict, Verdict::WithinNoise);
  EXPECT_EQ(to_string(noise.verdict), "within noise");

  EXPECT_EQ(compare_paired({0.4}, {0.5}).verdict, Verdict::TooFewSeeds);
  EXPECT_THROW(compare_paired({0.4, 0.5}, {0.5}), InputError);
}

TEST(Stats, ClusteredMeanIsTokenWeightedWithARowLevelError) {
  // Rows with 2, 4 and 2 scored tokens.
  const auto m = clustered_mean({2.0, 6.0, 3.0}, {2, 4, 2});
  EXPECT_DOUBLE_EQ(m.mean, 11.0 / 8.0);
  EXPECT_EQ(m.clusters, 3);
  // residuals s_i - mean * c_i = -0.75, 0.5, 0.25; sum of squares 0.875; cbar = 8/3
  EXPECT_NEAR(m.standard_error, std::sqrt(0.875 / 6.0) / (8.0 / 3.0), 1e-12);
  // Equal counts: the usual standard error of the row means.
  const auto equal = clustered_mean({1.0, 2.0, 3.0, 4.0}, {1, 1, 1, 1});
  EXPECT_NEAR(equal.standard_error, std::sqrt(1.6666666666666667 / 4.0), 1e-12);
  // Empty rows count for nothing; one row has no error bar.
  const auto one = clustered_mean({5.0, 0.0}, {2, 0});
  EXPECT_DOUBLE_EQ(one.mean, 2.5);
  EXPECT_EQ(one.clusters, 1);
  EXPECT_TRUE(std::isnan(one.standard_error));
}
