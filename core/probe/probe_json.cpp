#include "probe/probe_json.h"

#include <cmath>

#include "probe/head_stats.h"

namespace headlab::probe {
using nlohmann::json;

namespace {

json matrix_values(const PlainMatrix& m) {
  json rows = json::array();
  for (int r = 0; r < m.rows; ++r) {
    json row = json::array();
    for (int c = 0; c < m.cols; ++c) row.push_back(m.at(r, c));
    rows.push_back(row);
  }
  return rows;
}

}  // namespace

json summary_json(const ProbeSnapshot& s) {
  json heads = json::array();
  for (const auto& h : s.heads)
    heads.push_back({{"layer", h.layer}, {"head", h.head}, {"entropy", h.entropy}, {"mean_distance", h.mean_distance},
                     {"previous_token", h.previous_token}, {"induction", h.induction}, {"sink", h.sink},
                     {"self", h.self}, {"role", h.role}});
  json matrices = json::array();
  for (const auto& m : s.matrices)
    matrices.push_back({{"layer", m.layer}, {"module", m.module}, {"name", m.name}, {"state", m.state},
                        {"distance_from_identity", m.distance_from_identity},
                        {"off_diagonal_mass", m.off_diagonal_mass}, {"effective_rank", m.effective_rank}});
  json ablations = json::array();
  auto ablation_json = [](const Ablation& a) {
    return json{{"layer", a.layer},
                {"loss_bypassed", a.loss_bypassed},
                {"loss_live", a.loss_live},
                {"delta", a.delta},
                {"standard_error", std::isfinite(a.standard_error) ? json(a.standard_error) : json(nullptr)},
                {"samples", a.samples},
                {"measured_on", a.measured_on}};
  };
  for (const auto& a : s.ablations) {
    auto j = ablation_json(a);
    j["module"] = a.module;
    ablations.push_back(j);
  }
  json head_ablations = json::array();
  for (const auto& a : s.head_ablations) {
    auto j = ablation_json(a);
    j["head"] = a.head;
    head_ablations.push_back(j);
  }
  json shares = json::array();
  for (const auto& j : job_shares(s.heads))
    shares.push_back({{"layer", j.layer}, {"job", j.job}, {"best_head", j.best_head}, {"top1", j.top1},
                      {"top2", j.top2}, {"top3", j.top3}});
  return {{"step", s.step},         {"heads", heads},
          {"job_shares", shares},   {"matrices", matrices},
          {"ablations", ablations}, {"head_ablations", head_ablations}};
}

json full_json(const ProbeSnapshot& s, bool with_attention_maps) {
  json j = summary_json(s);
  j["tokens"] = s.token_labels;
  j["n_layers"] = s.n_layers;
  j["n_heads"] = s.n_heads;
  json similarity = json::array();
  for (const auto& m : s.head_similarity) similarity.push_back(matrix_values(m));
  j["head_similarity"] = similarity;
  for (size_t i = 0; i < s.matrices.size(); ++i) j["matrices"][i]["values"] = matrix_values(s.matrices[i].matrix);
  if (with_attention_maps) {
    json maps = json::array();
    for (int l = 0; l < s.n_layers; ++l) {
      json layer = json::array();
      for (int h = 0; h < s.n_heads; ++h) layer.push_back(matrix_values(s.attention_map(l, h)));
      maps.push_back(layer);
    }
    j["attention"] = maps;
  }
  return j;
}

}  // namespace headlab::probe
