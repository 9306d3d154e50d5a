// Head statistics, role labels and head similarity on hand-built attention maps.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "common/errors.h"
#include "probe/head_similarity.h"
#include "probe/head_stats.h"

using namespace headlab;
using namespace headlab::probe;

namespace {

// A T x T map with every row a one-hot on key(t).
template <typename F>
PlainMatrix one_hot_map(int T, F key) {
  PlainMatrix m{T, T, std::vector<float>(static_cast<size_t>(T) * T, 0.0f)};
  for (int t = 0; t < T; ++t) m.values[static_cast<size_t>(t) * T + key(t)] = 1.0f;
  return m;
}

PlainMatrix uniform_causal_map(int T) {
  PlainMatrix m{T, T, std::vector<float>(static_cast<size_t>(T) * T, 0.0f)};
  for (int t = 0; t < T; ++t)
    for (int u = 0; u <= t; ++u) m.values[static_cast<size_t>(t) * T + u] = 1.0f / (t + 1);
  return m;
}

std::vector<int64_t> distinct_tokens(int T) {
  std::vector<int64_t> tokens;
  for (int t = 0; t < T; ++t) tokens.push_back(t);
  return tokens;
}

// Maps laid out [1, H, T, T] as one layer of an AttentionView.
struct Layer {
  std::vector<float> values;
  int heads = 0, T = 0;
  explicit Layer(const std::vector<PlainMatrix>& maps) : heads(static_cast<int>(maps.size())), T(maps.at(0).rows) {
    for (const auto& m : maps) values.insert(values.end(), m.values.begin(), m.values.end());
  }
  AttentionView view() const { return {values.data(), 1, heads, T}; }
};

TEST(HeadStats, PreviousTokenPattern) {
  const int T = 6;
  auto s = head_stats(one_hot_map(T, [](int t) { return t == 0 ? 0 : t - 1; }), distinct_tokens(T));
  EXPECT_FLOAT_EQ(s.previous_token, 1.0f);
  EXPECT_FLOAT_EQ(s.mean_distance, 1.0f);
  EXPECT_FLOAT_EQ(s.entropy, 0.0f);
  EXPECT_FLOAT_EQ(s.self, 0.0f);
  EXPECT_FLOAT_EQ(s.sink, 1.0f / (T - 1));  // query 1's previous token is token 0
  EXPECT_FLOAT_EQ(s.induction, 0.0f);        // no token repeats
  EXPECT_EQ(s.role, "previous-token");
}

TEST(HeadStats, UniformCausalRowsGiveTheAnalyticEntropy) {
  const int T = 9;
  auto s = head_stats(uniform_causal_map(T), distinct_tokens(T));
  double entropy = 0, distance = 0, on_one_key = 0;
  for (int t = 1; t < T; ++t) {
    entropy += std::log(t + 1.0);
    distance += t / 2.0;
    on_one_key += 1.0 / (t + 1);
  }
  EXPECT_NEAR(s.entropy, entropy / (T - 1), 1e-6);
  EXPECT_NEAR(s.mean_distance, distance / (T - 1), 1e-6);
  EXPECT_NEAR(s.previous_token, on_one_key / (T - 1), 1e-6);
  EXPECT_NEAR(s.sink, on_one_key / (T - 1), 1e-6);
  EXPECT_NEAR(s.self, on_one_key / (T - 1), 1e-6);
  EXPECT_EQ(s.role, "diffuse");  // mean distance 2.25 > 2
}

TEST(HeadStats, InductionPatternOnRepeatedText) {
  // "a b c a b c": queries 3, 4, 5 saw their token at 0, 1, 2 and attend to 1, 2, 3.
  const std::vector<int64_t> tokens{0, 1, 2, 0, 1, 2};
  auto s = head_stats(one_hot_map(6, [](int t) { return t < 3 ? 0 : t - 2; }), tokens);
  EXPECT_FLOAT_EQ(s.induction, 1.0f);
  EXPECT_FLOAT_EQ(s.mean_distance, (1 + 2 + 2 + 2 + 2) / 5.0f);
  EXPECT_EQ(s.role, "induction");
  // The latest earlier occurrence counts: in "a b a x a" query 4 looks at 2 + 1 = 3.
  auto latest = head_stats(one_hot_map(5, [](int t) { return t == 2 ? 1 : t == 4 ? 3 : 0; }), {0, 1, 0, 9, 0});
  EXPECT_FLOAT_EQ(latest.induction, 1.0f);
  // Half of the repeat queries on the induction target.
  auto half = head_stats(one_hot_map(6, [](int t) { return t == 3 ? 1 : 0; }), {0, 1, 2, 0, 1, 7});
  EXPECT_FLOAT_EQ(half.induction, 0.5f);
}

TEST(HeadStats, SinkPatternAndSelfPattern) {
  const int T = 6;
  auto sink = head_stats(one_hot_map(T, [](int) { return 0; }), distinct_tokens(T));
  EXPECT_FLOAT_EQ(sink.sink, 1.0f);
  EXPECT_FLOAT_EQ(sink.mean_distance, 3.0f);  // mean of 1..5
  EXPECT_EQ(sink.role, "sink");
  auto self = head_stats(one_hot_map(T, [](int t) { return t; }), distinct_tokens(T));
  EXPECT_FLOAT_EQ(self.self, 1.0f);
  EXPECT_FLOAT_EQ(self.mean_distance, 0.0f);
  EXPECT_FLOAT_EQ(self.sink, 0.0f);
  EXPECT_EQ(self.role, "local");
}

TEST(HeadStats, SignedRowsFromTalkingHeadsUseNormalizedMagnitudes) {
  PlainMatrix p{2, 2, {1, 0, -1, 2}};
  auto s = head_stats(p, {0, 1});
  const double q0 = 1.0 / 3, q1 = 2.0 / 3;
  EXPECT_NEAR(s.entropy, -(q0 * std::log(q0) + q1 * std::log(q1)), 1e-6);
  EXPECT_FLOAT_EQ(s.mean_distance, -1.0f);  // the signed definition, unnormalized
}

TEST(HeadStats, DegenerateAndBadInput) {
  auto one = head_stats(PlainMatrix{1, 1, {1}}, {4});
  EXPECT_EQ(one.entropy, 0.0f);
  EXPECT_EQ(one.self, 0.0f);
  EXPECT_THROW(head_stats(PlainMatrix{2, 3, std::vector<float>(6)}, {0, 1}), InputError);
  EXPECT_THROW(head_stats(PlainMatrix{2, 2, std::vector<float>(3)}, {0, 1}), InputError);
  EXPECT_THROW(head_stats(uniform_causal_map(3), {0, 1}), InputError);
}

TEST(HeadStats, AllHeadsAreLayerMajorWithRoles) {
  const int T = 6;
  Layer layer({one_hot_map(T, [](int) { return 0; }), one_hot_map(T, [](int t) { return t == 0 ? 0 : t - 1; })});
  const std::vector<float> two_layers = [&] {
    auto v = layer.values;
    v.insert(v.end(), layer.values.begin(), layer.values.end());
    return v;
  }();
  auto stats = all_head_stats(AttentionView{two_layers.data(), 2, 2, T}, distinct_tokens(T));
  ASSERT_EQ(stats.size(), 4u);
  EXPECT_EQ(stats[2].layer, 1);
  EXPECT_EQ(stats[2].head, 0);
  EXPECT_EQ(stats[2].role, "sink");
  EXPECT_EQ(stats[3].layer, 1);
  EXPECT_EQ(stats[3].head, 1);
  EXPECT_EQ(stats[3].role, "previous-token");
  EXPECT_THROW(all_head_stats(layer.view(), distinct_tokens(T - 1)), InputError);
}

HeadStats stats_with(float induction, float previous, float sink, float distance, float entropy) {
  HeadStats s;
  s.induction = induction;
  s.previous_token = previous;
  s.sink = sink;
  s.mean_distance = distance;
  s.entropy = entropy;
  return s;
}

float just_below(float x) { return std::nextafter(x, 0.0f); }
float just_above(float x) { return std::nextafter(x, 10.0f); }

TEST(RoleLabel, ThresholdsAtTheirBoundariesInOrderOfPrecedence) {
  // Every score high: induction wins, then previous-token, then sink.
  EXPECT_EQ(role_label(stats_with(kInductionMin, 1, 1, 0, 0)), "induction");
  EXPECT_EQ(role_label(stats_with(just_below(kInductionMin), kPreviousTokenMin, 1, 0, 0)), "previous-token");
  EXPECT_EQ(role_label(stats_with(0, just_below(kPreviousTokenMin), kSinkMin, 0, 0)), "sink");
  EXPECT_EQ(role_label(stats_with(0, 0, just_below(kSinkMin), kLocalMaxDistance, kLocalMaxEntropy)), "local");
  EXPECT_EQ(role_label(stats_with(0, 0, 0, just_above(kLocalMaxDistance), 0)), "diffuse");
  EXPECT_EQ(role_label(stats_with(0, 0, 0, 0, just_above(kLocalMaxEntropy))), "diffuse");
  EXPECT_FLOAT_EQ(kLocalMaxEntropy, static_cast<float>(std::log(4.0)));
}

TEST(Similarity, IdenticalHeadsAreOneAndDisjointHeadsZero) {
  const int T = 7;
  auto self = one_hot_map(T, [](int t) { return t; });
  auto previous = one_hot_map(T, [](int t) { return t == 0 ? 0 : t - 1; });
  Layer layer({uniform_causal_map(T), uniform_causal_map(T), self, previous});
  auto m = head_similarity(layer.view(), 0);
  ASSERT_EQ(m.rows, 4);
  ASSERT_EQ(m.cols, 4);
  EXPECT_NEAR(m.at(0, 1), 1.0f, 1e-6);
  EXPECT_NEAR(m.at(2, 3), 0.0f, 1e-6);
  for (int a = 0; a < 4; ++a) {
    EXPECT_EQ(m.at(a, a), 1.0f);
    for (int b = 0; b < 4; ++b) {
      EXPECT_EQ(m.at(a, b), m.at(b, a));
      EXPECT_GE(m.at(a, b), 0.0f);
      EXPECT_LE(m.at(a, b), 1.0f);
    }
  }
  EXPECT_THROW(head_similarity(layer.view(), 1), InputError);
}

TEST(Similarity, HandComputedJensenShannonInBits) {
  // One query row that counts: [0.5, 0.5] against [0, 1]; mixture [0.25, 0.75].
  Layer layer({PlainMatrix{2, 2, {1, 0, 0.5f, 0.5f}}, PlainMatrix{2, 2, {1, 0, 0, 1}}});
  const double kl_a = 0.5 * std::log2(0.5 / 0.25) + 0.5 * std::log2(0.5 / 0.75);
  const double kl_b = std::log2(1.0 / 0.75);
  const auto all = all_head_similarity(layer.view());
  ASSERT_EQ(all.size(), 1u);
  EXPECT_NEAR(all[0].at(0, 1), 1.0 - 0.5 * (kl_a + kl_b), 1e-6);
}

}  // namespace

// A job split over heads: no head reaches the role's bar, but the layer's top-k sums show it.
TEST(JobShares, SumTheTopHeadsPerLayerAndJob) {
  std::vector<headlab::HeadStats> heads(6);
  const float previous[6] = {0.30f, 0.05f, 0.28f, 0.25f, 0.9f, 0.0f};
  const float induction[6] = {0.0f, 0.1f, 0.0f, 0.0f, 0.0f, 0.7f};
  for (int i = 0; i < 6; ++i) {
    heads[i].layer = i / 4;  // layer 0: heads 0-3, layer 1: heads 0-1
    heads[i].head = i % 4;
    heads[i].previous_token = previous[i];
    heads[i].induction = induction[i];
  }
  const auto shares = headlab::probe::job_shares(heads);
  ASSERT_EQ(shares.size(), 4u);
  EXPECT_EQ(shares[0].layer, 0);
  EXPECT_EQ(shares[0].job, "previous-token");
  EXPECT_EQ(shares[0].best_head, 0);
  EXPECT_FLOAT_EQ(shares[0].top1, 0.30f);
  EXPECT_FLOAT_EQ(shares[0].top2, 0.58f);
  EXPECT_FLOAT_EQ(shares[0].top3, 0.83f);
  EXPECT_EQ(shares[1].job, "induction");
  EXPECT_EQ(shares[1].best_head, 1);
  EXPECT_FLOAT_EQ(shares[1].top3, 0.1f);
  // Two heads only: top3 is the sum of both.
  EXPECT_EQ(shares[3].layer, 1);
  EXPECT_EQ(shares[3].best_head, 1);
  EXPECT_FLOAT_EQ(shares[3].top1, 0.7f);
  EXPECT_FLOAT_EQ(shares[3].top3, 0.7f);
}
