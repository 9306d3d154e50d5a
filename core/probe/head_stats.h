#pragma once
// Pure statistics of one head's attention map p [T, T] (row = query t, column = key u,
// causal: only u <= t is read) and the role a head plays, judged from them. Torch-free.
//
// Every statistic is a mean over the queries t = 1 .. T-1: query 0 can only attend to itself,
// so including it would pull every head towards "self" and distance 0. With T < 2 there is no
// such query and all statistics are 0.
//   entropy        -sum_u q log q (nats), q = |p[t, :]| normalized to sum 1. For a softmax row
//                  q = p; talking heads' post-mixing can leave rows signed or unnormalized.
//   mean_distance  sum_u p[t,u] (t - u)
//   previous_token p[t, t-1]
//   induction      p[t, j+1] where j < t is the latest earlier position of tokens[t]; the mean
//                  runs over the queries whose token occurred before (0 when there are none).
//                  On period-2 text ("a b a b") j+1 = t-1, so a previous-token head scores here
//                  too: probe inputs should repeat segments longer than two tokens.
//   sink           p[t, 0]
//   self           p[t, t]
#include <cstdint>
#include <string>
#include <vector>

#include "probe/attention_view.h"
#include "probe/snapshot.h"

namespace headlab::probe {

// Thresholds of role_label, tested in this order of precedence (the first that holds wins):
//   1. induction      >= kInductionMin                          -> "induction"
//   2. previous_token >= kPreviousTokenMin                      -> "previous-token"
//   3. sink           >= kSinkMin                               -> "sink"
//   4. mean_distance  <= kLocalMaxDistance and
//      entropy        <= kLocalMaxEntropy                       -> "local"
//   5. otherwise                                                -> "diffuse"
// Induction comes first because an induction head on repeated text is the rarer, more
// telling pattern; sink before local because a sink head's mass sits far from the query.
// The entropy bound (ln 4: as spread as a uniform row over 4 keys) keeps a head that spreads
// its mass evenly over a short context from being called local just because the context is
// short. Induction and previous-token share one bar, 0.4: a uniform causal row puts about
// ln(T)/T on any one position (0.08 at T = 48), so 0.4 is five times chance, and a trained
// 2-layer model's previous-token head reaches it while still sharing the job with a second
// head (measured on the induction-kha preset: 0.38 at step 300, 0.50 at step 600).
inline constexpr float kInductionMin = 0.4f;
inline constexpr float kPreviousTokenMin = 0.4f;
inline constexpr float kSinkMin = 0.5f;
inline constexpr float kLocalMaxDistance = 2.0f;
inline constexpr float kLocalMaxEntropy = 1.38629436f;  // ln 4

// Statistics and role of one map; layer and head are left 0.
// Throws InputError unless p is square and tokens has one id per row.
HeadStats head_stats(const PlainMatrix& p, const std::vector<int64_t>& tokens);

// Statistics of every head, layer-major, with layer, head and role filled in.
// Throws InputError unless tokens has seq_len ids.
std::vector<HeadStats> all_head_stats(const AttentionView& attention, const std::vector<int64_t>& tokens);

// "induction", "previous-token", "sink", "local" or "diffuse" (thresholds above).
std::string role_label(const HeadStats& stats);

// How one job is shared among the heads of a layer: the sum of the top-k heads' scores. A
// layer whose previous-token job is split over three heads at 0.3 each has no head called
// "previous-token", yet top3 = 0.9 says the layer does the job; top1 says whether one head
// does it alone.
struct JobShare {
  int layer = 0;
  std::string job;      // "previous-token" or "induction"
  int best_head = 0;    // the head with the highest score
  float top1 = 0, top2 = 0, top3 = 0;  // sums of the 1, 2, 3 highest scores (fewer heads: all)
};

// For every layer present in `heads`: the previous-token and the induction share, in layer order.
std::vector<JobShare> job_shares(const std::vector<HeadStats>& heads);

}  // namespace headlab::probe
