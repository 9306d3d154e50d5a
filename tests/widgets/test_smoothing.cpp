#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "smoothing.h"

using headlab::debiasedEma;
using headlab::DebiasedEma;
using headlab::minMaxEnvelope;

TEST(Smoothing, DebiasedEmaMatchesHandComputedValues) {
  // s1 = 0.5 -> 0.5/0.5 = 1; s2 = 1.25 -> 1.25/0.75; s3 = 2.125 -> 2.125/0.875.
  const auto s = debiasedEma({1, 2, 3}, 0.5);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_NEAR(s[0], 1.0, 1e-12);
  EXPECT_NEAR(s[1], 1.6666666667, 1e-9);
  EXPECT_NEAR(s[2], 2.4285714286, 1e-9);
}

TEST(Smoothing, ZeroWeightIsIdentityAndConstantStaysConstant) {
  EXPECT_EQ(debiasedEma({3, -1, 7}, 0.0), (std::vector<double>{3, -1, 7}));
  // Debiasing means a constant series is not dragged toward the initial zero.
  for (double v : debiasedEma(std::vector<double>(50, 4.2), 0.99)) EXPECT_NEAR(v, 4.2, 1e-9);
}

TEST(Smoothing, NonFiniteInputPassesThroughWithoutPoisoningState) {
  DebiasedEma ema(0.5);
  EXPECT_NEAR(ema.push(1.0), 1.0, 1e-12);
  EXPECT_TRUE(std::isnan(ema.push(std::numeric_limits<double>::quiet_NaN())));
  EXPECT_NEAR(ema.push(2.0), 1.6666666667, 1e-9);
}

TEST(Smoothing, EnvelopeKeepsSpikeAmong100kPoints) {
  const int n = 100000;
  std::vector<double> xs(n), ys(n);
  for (int i = 0; i < n; ++i) {
    xs[i] = i;
    ys[i] = 2.0 + 0.001 * std::sin(i * 0.1);
  }
  ys[54321] = 50.0;  // one diverged step
  ys[77777] = -3.0;  // and one dip
  const auto cols = minMaxEnvelope(xs, ys, 0, n - 1, 500);
  ASSERT_EQ(cols.size(), 500u);
  size_t total = 0;
  double hi = -1e9, lo = 1e9;
  for (const auto& c : cols) {
    total += c.count;
    hi = std::max(hi, c.max);
    lo = std::min(lo, c.min);
    EXPECT_LE(c.min, c.last);
    EXPECT_GE(c.max, c.last);
  }
  EXPECT_EQ(total, size_t(n));  // every point counted, none skipped
  EXPECT_EQ(hi, 50.0);
  EXPECT_EQ(lo, -3.0);
  // The spike lands in its own column, not smeared or dropped.
  const int spike_col = int(54321 / ((n - 1) / 500.0));
  EXPECT_EQ(cols[spike_col].max, 50.0);
  EXPECT_NEAR(cols[spike_col].x, (spike_col + 0.5) * (n - 1) / 500.0, 1e-9);
}

TEST(Smoothing, EnvelopePerColumnMinMaxLastOnSmallInput) {
  // Two columns over [0, 4): x in [0,2) -> column 0, [2,4] -> column 1.
  const auto cols = minMaxEnvelope({0, 1, 1.5, 2, 3, 4}, {5, 1, 3, 7, 9, 8}, 0, 4, 2);
  ASSERT_EQ(cols.size(), 2u);
  EXPECT_EQ(cols[0].min, 1);
  EXPECT_EQ(cols[0].max, 5);
  EXPECT_EQ(cols[0].last, 3);
  EXPECT_EQ(cols[0].count, 3u);
  EXPECT_EQ(cols[1].min, 7);
  EXPECT_EQ(cols[1].max, 9);
  EXPECT_EQ(cols[1].last, 8);
}

TEST(Smoothing, EnvelopeOnlyCountsPointsInRangeAndSkipsEmptyColumns) {
  const auto cols = minMaxEnvelope({0, 1, 2, 10, 11}, {1, 2, 3, 4, 5}, 1, 11, 10);
  size_t total = 0;
  for (const auto& c : cols) total += c.count;
  EXPECT_EQ(total, 4u);       // x=0 is outside
  EXPECT_EQ(cols.size(), 3u);  // columns of x=1, x=2, and x=10/11 together
  EXPECT_TRUE(minMaxEnvelope({}, {}, 0, 1, 10).empty());
}
