#include "probe/probe_json.h"

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
  for (const auto& a : s.ablations)
    ablations.push_back({{"layer", a.layer}, {"module", a.module}, {"loss_bypassed", a.loss_bypassed},
                         {"loss_live", a.loss_live}});
  return {{"step", s.step}, {"heads", heads}, {"matrices", matrices}, {"ablations", ablations}};
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
