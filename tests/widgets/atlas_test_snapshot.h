#pragma once
// Hand-built probe snapshots for the Head Atlas, timeline and replay tests: every attention
// weight is a known function of (layer, head, query, key), every statistic a known number.
#include <memory>
#include <string>
#include <vector>

#include "probe/snapshot.h"

namespace atlastest {

constexpr int kLayers = 2;
constexpr int kHeads = 3;
constexpr int kSeq = 4;

// Distinct per head and per cell, in (0, 1); masked cells (key > query) hold 0 as a causal
// softmax gives.
inline float weight(int layer, int head, int query, int key) {
  if (key > query) return 0.0f;
  return 0.1f * float(layer * kHeads + head + 1) + 0.02f * float(query) + 0.005f * float(key);
}

// Roles and induction scores by head index (layer-major).
inline const std::vector<std::string>& roles() {
  static const std::vector<std::string> r = {"previous-token", "induction", "sink", "induction", "diffuse", "induction"};
  return r;
}
inline const std::vector<float>& inductionScores() {
  static const std::vector<float> v = {0.1f, 0.7f, 0.05f, 0.9f, 0.2f, 0.5f};
  return v;
}

inline std::shared_ptr<headlab::ProbeSnapshot> makeSnapshot(int64_t step = 100) {
  auto s = std::make_shared<headlab::ProbeSnapshot>();
  s->step = step;
  s->n_layers = kLayers;
  s->n_heads = kHeads;
  s->seq_len = kSeq;
  s->token_labels = {"a", "b", "a", "b"};
  for (int l = 0; l < kLayers; ++l)
    for (int h = 0; h < kHeads; ++h)
      for (int q = 0; q < kSeq; ++q)
        for (int k = 0; k < kSeq; ++k) s->attention.push_back(weight(l, h, q, k));
  for (int l = 0; l < kLayers; ++l)
    for (int h = 0; h < kHeads; ++h) {
      const int i = l * kHeads + h;
      headlab::HeadStats st;
      st.layer = l;
      st.head = h;
      st.entropy = 1.0f + 0.1f * float(i);
      st.previous_token = 0.05f * float(i);
      st.induction = inductionScores()[size_t(i)];
      st.sink = 0.3f - 0.05f * float(i);
      st.self = 0.01f * float(i);
      st.mean_distance = 2.0f + float(i);
      st.role = roles()[size_t(i)];
      s->heads.push_back(st);
    }
  return s;
}

}  // namespace atlastest
