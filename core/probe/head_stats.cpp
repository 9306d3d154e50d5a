#include "probe/head_stats.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_map>

#include "common/errors.h"

namespace headlab::probe {
namespace {

// For each position t, the target key of induction (j + 1 for the latest j < t with
// tokens[j] == tokens[t]) or -1 when tokens[t] has not occurred before.
std::vector<int> induction_targets(const std::vector<int64_t>& tokens) {
  std::vector<int> targets(tokens.size(), -1);
  std::unordered_map<int64_t, int> last_seen;
  for (size_t t = 0; t < tokens.size(); ++t) {
    auto it = last_seen.find(tokens[t]);
    if (it != last_seen.end()) targets[t] = it->second + 1;
    last_seen[tokens[t]] = static_cast<int>(t);
  }
  return targets;
}

double row_entropy(const float* row, int t) {
  double total = 0;
  for (int u = 0; u <= t; ++u) total += std::fabs(row[u]);
  if (total <= 0) return 0;
  double h = 0;
  for (int u = 0; u <= t; ++u) {
    const double q = std::fabs(row[u]) / total;
    if (q > 0) h -= q * std::log(q);
  }
  return h;
}

// Accumulates in double: long rows of small probabilities lose digits in float.
HeadStats stats_of_map(const float* p, int T, const std::vector<int>& targets) {
  HeadStats s;
  if (T < 2) return s;
  double entropy = 0, distance = 0, previous = 0, induction = 0, sink = 0, self = 0;
  int induction_queries = 0;
  for (int t = 1; t < T; ++t) {
    const float* row = p + static_cast<size_t>(t) * T;
    entropy += row_entropy(row, t);
    for (int u = 0; u < t; ++u) distance += static_cast<double>(row[u]) * (t - u);
    previous += row[t - 1];
    sink += row[0];
    self += row[t];
    if (targets[t] >= 0) {
      induction += row[targets[t]];
      ++induction_queries;
    }
  }
  const double queries = T - 1;
  s.entropy = static_cast<float>(entropy / queries);
  s.mean_distance = static_cast<float>(distance / queries);
  s.previous_token = static_cast<float>(previous / queries);
  s.sink = static_cast<float>(sink / queries);
  s.self = static_cast<float>(self / queries);
  s.induction = induction_queries > 0 ? static_cast<float>(induction / induction_queries) : 0.0f;
  return s;
}

void check_tokens(size_t n_tokens, int seq_len) {
  if (n_tokens != static_cast<size_t>(seq_len))
    throw InputError("head statistics need one token id per query: got " + std::to_string(n_tokens) +
                     " ids for an attention map of " + std::to_string(seq_len) + " queries");
}

}  // namespace

HeadStats head_stats(const PlainMatrix& p, const std::vector<int64_t>& tokens) {
  if (p.rows != p.cols || p.values.size() != static_cast<size_t>(p.rows) * p.cols)
    throw InputError("an attention map must be square with rows * cols values: got " + std::to_string(p.rows) +
                     " x " + std::to_string(p.cols) + " and " + std::to_string(p.values.size()) + " values");
  check_tokens(tokens.size(), p.rows);
  HeadStats s = stats_of_map(p.values.data(), p.rows, induction_targets(tokens));
  s.role = role_label(s);
  return s;
}

std::vector<HeadStats> all_head_stats(const AttentionView& attention, const std::vector<int64_t>& tokens) {
  check_tokens(tokens.size(), attention.seq_len);
  const auto targets = induction_targets(tokens);
  std::vector<HeadStats> out;
  out.reserve(static_cast<size_t>(attention.n_layers) * attention.n_heads);
  for (int l = 0; l < attention.n_layers; ++l)
    for (int h = 0; h < attention.n_heads; ++h) {
      HeadStats s = stats_of_map(attention.map(l, h), attention.seq_len, targets);
      s.layer = l;
      s.head = h;
      s.role = role_label(s);
      out.push_back(std::move(s));
    }
  return out;
}

std::string role_label(const HeadStats& s) {
  if (s.induction >= kInductionMin) return "induction";
  if (s.previous_token >= kPreviousTokenMin) return "previous-token";
  if (s.sink >= kSinkMin) return "sink";
  if (s.mean_distance <= kLocalMaxDistance && s.entropy <= kLocalMaxEntropy) return "local";
  return "diffuse";
}

std::vector<JobShare> job_shares(const std::vector<HeadStats>& heads) {
  std::map<int, std::vector<const HeadStats*>> by_layer;
  for (const auto& h : heads) by_layer[h.layer].push_back(&h);
  std::vector<JobShare> out;
  for (const auto& [layer, list] : by_layer) {
    for (const char* job : {"previous-token", "induction"}) {
      const bool previous = std::string(job) == "previous-token";
      std::vector<std::pair<float, int>> scores;
      for (const auto* h : list) scores.emplace_back(previous ? h->previous_token : h->induction, h->head);
      std::sort(scores.begin(), scores.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
      JobShare share;
      share.layer = layer;
      share.job = job;
      share.best_head = scores.front().second;
      float sum = 0;
      for (size_t k = 0; k < scores.size() && k < 3; ++k) {
        sum += scores[k].first;
        (k == 0 ? share.top1 : k == 1 ? share.top2 : share.top3) = sum;
      }
      if (scores.size() < 2) share.top2 = sum;
      if (scores.size() < 3) share.top3 = sum;
      out.push_back(share);
    }
  }
  return out;
}

}  // namespace headlab::probe
