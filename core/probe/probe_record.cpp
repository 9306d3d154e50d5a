#include "probe/probe_record.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>

#include "common/errors.h"
#include "model/module_types.h"
#include "probe/map_blocks.h"
#include "probe/probe_json.h"

namespace headlab::probe {
using nlohmann::json;

double round_for_record(double v) {
  if (!std::isfinite(v)) return v;
  if (std::fabs(v) < kRecordFloor) return 0.0;
  // Through the decimal text, so that the double is the one nearest to the short decimal and
  // JSON writes it back as that short decimal ("0.1234", not "0.12340000271797180").
  char text[32];
  std::snprintf(text, sizeof text, "%.*g", kRecordDigits, v);
  return std::strtod(text, nullptr);
}

namespace {

int64_t stored_values(int64_t heads, int64_t side) { return heads * side * (side + 1) / 2; }

json rounded_rows(const PlainMatrix& m) {
  json rows = json::array();
  for (int r = 0; r < m.rows; ++r) {
    json row = json::array();
    for (int c = 0; c < m.cols; ++c) row.push_back(round_for_record(m.at(r, c)));
    rows.push_back(std::move(row));
  }
  return rows;
}

json maps_json(const ProbeSnapshot& s, int block) {
  const int T = s.seq_len, side = (T + block - 1) / block;
  const size_t per_head = size_t(T) * T;
  std::vector<double> sums(size_t(side), 0.0);
  json layers = json::array();
  for (int l = 0; l < s.n_layers; ++l) {
    json heads = json::array();
    for (int h = 0; h < s.n_heads; ++h) {
      const float* p = s.attention.data() + (size_t(l) * s.n_heads + h) * per_head;
      json rows = json::array();
      for (int qb = 0; qb < side; ++qb) {
        const int q0 = qb * block, q1 = std::min(T, q0 + block);
        std::fill(sums.begin(), sums.begin() + qb + 1, 0.0);
        // Only keys k <= q are read: the causal mask makes the others 0 (probe/head_stats.h
        // reads maps the same way).
        for (int q = q0; q < q1; ++q)
          for (int k = 0; k <= q; ++k) sums[size_t(k / block)] += p[size_t(q) * T + k];
        json row = json::array();
        for (int kb = 0; kb <= qb; ++kb) row.push_back(round_for_record(sums[size_t(kb)] / (q1 - q0)));
        rows.push_back(std::move(row));
      }
      heads.push_back(std::move(rows));
    }
    layers.push_back(std::move(heads));
  }
  return {{"block", block}, {"side", side}, {"rows", std::move(layers)}};
}

// --- reading ---------------------------------------------------------------------------

struct Where {
  std::string step;  // "of step 120", or empty before the step is known
  [[noreturn]] void fail(const std::string& what) const {
    throw InputError("probes.jsonl record" + (step.empty() ? std::string() : " " + step) + ": " + what);
  }
};

// field() and array() take their names as string_view, by value: GCC 14's -Wdangling-reference
// takes any reference-returning call that binds a temporary string for a danger.
const json& field(const json& object, std::string_view key, const Where& where, std::string_view name) {
  if (!object.is_object()) where.fail(std::string(name) + " is not an object");
  const auto it = object.find(std::string(key));
  if (it == object.end())
    where.fail((name.empty() ? std::string(key) : std::string(name) + "." + std::string(key)) + " is missing");
  return *it;
}

// A number; null is NaN (JSON writes a NaN statistic as null).
double number(const json& v, const Where& where, const std::string& name) {
  if (v.is_null()) return std::numeric_limits<double>::quiet_NaN();
  if (!v.is_number()) where.fail(name + " is not a number");
  return v.get<double>();
}

int64_t integer(const json& v, const Where& where, const std::string& name, int64_t min, int64_t max) {
  if (!v.is_number_integer()) where.fail(name + " is not an integer");
  const int64_t i = v.get<int64_t>();
  if (i < min || i > max) where.fail(name + " is " + std::to_string(i) + ", outside " + std::to_string(min) + ".." +
                                     std::to_string(max));
  return i;
}

std::string text(const json& v, const Where& where, const std::string& name) {
  if (!v.is_string()) where.fail(name + " is not a string");
  return v.get<std::string>();
}

const json& array(const json& v, const Where& where, std::string_view name) {
  if (!v.is_array()) where.fail(std::string(name) + " is not an array");
  return v;
}

PlainMatrix matrix_from(const json& rows, const Where& where, const std::string& name) {
  array(rows, where, name);
  PlainMatrix m;
  m.rows = int(rows.size());
  for (size_t r = 0; r < rows.size(); ++r) {
    const std::string row_name = name + "[" + std::to_string(r) + "]";
    const json& row = array(rows[r], where, row_name);
    if (r == 0) m.cols = int(row.size());
    if (int(row.size()) != m.cols) where.fail(row_name + " has " + std::to_string(row.size()) + " values, row 0 " +
                                              std::to_string(m.cols));
    for (size_t c = 0; c < row.size(); ++c)
      m.values.push_back(float(number(row[c], where, row_name + "[" + std::to_string(c) + "]")));
  }
  return m;
}

void read_ablation(const json& j, Ablation& a, const Where& where, const std::string& name) {
  a.layer = int(integer(field(j, "layer", where, name), where, name + ".layer", 0, 1 << 20));
  a.loss_bypassed = number(field(j, "loss_bypassed", where, name), where, name + ".loss_bypassed");
  a.loss_live = number(field(j, "loss_live", where, name), where, name + ".loss_live");
  a.delta = number(field(j, "delta", where, name), where, name + ".delta");
  a.standard_error = number(field(j, "standard_error", where, name), where, name + ".standard_error");
  a.samples = integer(field(j, "samples", where, name), where, name + ".samples", 0, std::numeric_limits<int64_t>::max());
  a.measured_on = text(field(j, "measured_on", where, name), where, name + ".measured_on");
}

void read_maps(const json& maps, const json& record, ProbeSnapshot& s, const Where& where) {
  const int T = int(integer(field(record, "seq_len", where, ""), where, "seq_len", 1, 1 << 20));
  const int block = int(integer(field(maps, "block", where, "attention_maps"), where, "attention_maps.block", 1, T));
  const int side = int(integer(field(maps, "side", where, "attention_maps"), where, "attention_maps.side", 1, T));
  if (side != (T + block - 1) / block)
    where.fail("attention_maps.side " + std::to_string(side) + " does not cover seq_len " + std::to_string(T) +
               " in blocks of " + std::to_string(block));
  const json& layers = array(field(maps, "rows", where, "attention_maps"), where, "attention_maps.rows");
  if (int(layers.size()) != s.n_layers)
    where.fail("attention_maps.rows has " + std::to_string(layers.size()) + " layers, n_layers is " +
               std::to_string(s.n_layers));
  s.seq_len = side;
  s.attention.assign(size_t(s.n_layers) * s.n_heads * side * side, 0.0f);
  for (int l = 0; l < s.n_layers; ++l) {
    const std::string lname = "attention_maps.rows[" + std::to_string(l) + "]";
    const json& heads = array(layers[size_t(l)], where, lname);
    if (int(heads.size()) != s.n_heads)
      where.fail(lname + " has " + std::to_string(heads.size()) + " heads, n_heads is " + std::to_string(s.n_heads));
    for (int h = 0; h < s.n_heads; ++h) {
      const std::string hname = lname + "[" + std::to_string(h) + "]";
      const json& rows = array(heads[size_t(h)], where, hname);
      if (int(rows.size()) != side)
        where.fail(hname + " has " + std::to_string(rows.size()) + " rows, side is " + std::to_string(side));
      float* out = s.attention.data() + (size_t(l) * s.n_heads + h) * side * side;
      for (int q = 0; q < side; ++q) {
        const std::string rname = hname + "[" + std::to_string(q) + "]";
        const json& row = array(rows[size_t(q)], where, rname);
        if (int(row.size()) != q + 1)
          where.fail(rname + " has " + std::to_string(row.size()) + " values, not " + std::to_string(q + 1) +
                     " (keys 0.." + std::to_string(q) + ")");
        for (int k = 0; k <= q; ++k) out[size_t(q) * side + k] = float(number(row[size_t(k)], where, rname));
      }
    }
  }
  if (block > 1) {
    s.token_labels.clear();
    for (int b = 0; b < side; ++b) s.token_labels.push_back(block_label(b * block, std::min(T, (b + 1) * block) - 1));
  } else if (int(s.token_labels.size()) != T) {
    where.fail("tokens has " + std::to_string(s.token_labels.size()) + " labels, seq_len is " + std::to_string(T));
  }
}

}  // namespace

int record_map_block(int n_layers, int n_heads, int seq_len, int64_t max_map_values) {
  if (n_layers <= 0 || n_heads <= 0 || seq_len <= 0) return 1;
  const int64_t heads = int64_t(n_layers) * n_heads;
  for (int block = 1; block < seq_len; ++block)
    if (stored_values(heads, (seq_len + block - 1) / block) <= max_map_values) return block;
  return seq_len;  // one value per head: as coarse as a map gets
}

json record_json(const ProbeSnapshot& s, int64_t max_map_values) {
  json j = summary_json(s);
  j["tokens"] = s.token_labels;
  j["n_layers"] = s.n_layers;
  j["n_heads"] = s.n_heads;
  j["seq_len"] = s.seq_len;
  json similarity = json::array();
  for (const auto& m : s.head_similarity) similarity.push_back(rounded_rows(m));
  j["head_similarity"] = std::move(similarity);
  for (size_t i = 0; i < s.matrices.size(); ++i) j["matrices"][i]["values"] = rounded_rows(s.matrices[i].matrix);
  const size_t need = size_t(std::max(0, s.n_layers)) * std::max(0, s.n_heads) * std::max(0, s.seq_len) *
                      std::max(0, s.seq_len);
  if (need > 0 && s.attention.size() == need)
    j["attention_maps"] = maps_json(s, record_map_block(s.n_layers, s.n_heads, s.seq_len, max_map_values));
  return j;
}

ProbeSnapshot snapshot_from_record(const json& record) {
  Where where;
  if (!record.is_object()) where.fail("not a JSON object");
  ProbeSnapshot s;
  s.step = integer(field(record, "step", where, ""), where, "step", 0, std::numeric_limits<int64_t>::max());
  where.step = "of step " + std::to_string(s.step);

  const json& heads = array(field(record, "heads", where, ""), where, "heads");
  for (size_t i = 0; i < heads.size(); ++i) {
    const std::string name = "heads[" + std::to_string(i) + "]";
    const json& h = heads[i];
    HeadStats st;
    st.layer = int(integer(field(h, "layer", where, name), where, name + ".layer", 0, 1 << 20));
    st.head = int(integer(field(h, "head", where, name), where, name + ".head", 0, 1 << 20));
    auto stat = [&](const char* key) { return float(number(field(h, key, where, name), where, name + "." + key)); };
    st.entropy = stat("entropy");
    st.mean_distance = stat("mean_distance");
    st.previous_token = stat("previous_token");
    st.induction = stat("induction");
    st.sink = stat("sink");
    st.self = stat("self");
    st.role = text(field(h, "role", where, name), where, name + ".role");
    s.heads.push_back(std::move(st));
  }

  // The shape: written since records carry maps; an older record's heads imply it.
  if (record.contains("n_layers") || record.contains("n_heads")) {
    s.n_layers = int(integer(field(record, "n_layers", where, ""), where, "n_layers", 0, 1 << 20));
    s.n_heads = int(integer(field(record, "n_heads", where, ""), where, "n_heads", 0, 1 << 20));
  } else {
    for (const HeadStats& h : s.heads) {
      s.n_layers = std::max(s.n_layers, h.layer + 1);
      s.n_heads = std::max(s.n_heads, h.head + 1);
    }
  }
  for (const HeadStats& h : s.heads)
    if (h.layer >= s.n_layers || h.head >= s.n_heads)
      where.fail("heads has layer " + std::to_string(h.layer) + " head " + std::to_string(h.head) + " outside " +
                 std::to_string(s.n_layers) + " x " + std::to_string(s.n_heads));

  if (record.contains("tokens")) {
    const json& tokens = array(record["tokens"], where, "tokens");
    for (size_t i = 0; i < tokens.size(); ++i)
      s.token_labels.push_back(text(tokens[i], where, "tokens[" + std::to_string(i) + "]"));
  }

  if (record.contains("head_similarity")) {
    const json& layers = array(record["head_similarity"], where, "head_similarity");
    for (size_t l = 0; l < layers.size(); ++l) {
      const std::string name = "head_similarity[" + std::to_string(l) + "]";
      PlainMatrix m = matrix_from(layers[l], where, name);
      if (m.rows != s.n_heads || m.cols != s.n_heads)
        where.fail(name + " is " + std::to_string(m.rows) + " x " + std::to_string(m.cols) + ", not n_heads x n_heads");
      s.head_similarity.push_back(std::move(m));
    }
  }

  const json& matrices = array(field(record, "matrices", where, ""), where, "matrices");
  for (size_t i = 0; i < matrices.size(); ++i) {
    const std::string name = "matrices[" + std::to_string(i) + "]";
    const json& j = matrices[i];
    ModuleMatrix m;
    m.layer = int(integer(field(j, "layer", where, name), where, name + ".layer", 0, 1 << 20));
    m.module = text(field(j, "module", where, name), where, name + ".module");
    m.name = text(field(j, "name", where, name), where, name + ".name");
    m.state = text(field(j, "state", where, name), where, name + ".state");
    try {  // the module table reads both as enums
      model::module_kind_from_string(m.module);
      model::module_state_from_string(m.state);
    } catch (const InputError& e) {
      where.fail(name + ": " + e.what());
    }
    m.distance_from_identity =
        float(number(field(j, "distance_from_identity", where, name), where, name + ".distance_from_identity"));
    m.off_diagonal_mass = float(number(field(j, "off_diagonal_mass", where, name), where, name + ".off_diagonal_mass"));
    m.effective_rank = float(number(field(j, "effective_rank", where, name), where, name + ".effective_rank"));
    if (j.contains("values")) m.matrix = matrix_from(j["values"], where, name + ".values");
    s.matrices.push_back(std::move(m));
  }

  // Ablations: every summary has both lists; a hand-written record may leave them out.
  if (record.contains("ablations")) {
    const json& list = array(record["ablations"], where, "ablations");
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string name = "ablations[" + std::to_string(i) + "]";
      ModuleAblation a;
      read_ablation(list[i], a, where, name);
      a.module = text(field(list[i], "module", where, name), where, name + ".module");
      s.ablations.push_back(std::move(a));
    }
  }
  if (record.contains("head_ablations")) {
    const json& list = array(record["head_ablations"], where, "head_ablations");
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string name = "head_ablations[" + std::to_string(i) + "]";
      HeadAblation a;
      read_ablation(list[i], a, where, name);
      a.head = int(integer(field(list[i], "head", where, name), where, name + ".head", 0, 1 << 20));
      s.head_ablations.push_back(std::move(a));
    }
  }

  if (record.contains("attention_maps") && s.n_layers > 0 && s.n_heads > 0)
    read_maps(record["attention_maps"], record, s, where);
  else if (record.contains("attention_maps"))
    where.fail("attention_maps without n_layers and n_heads");
  return s;
}

}  // namespace headlab::probe
