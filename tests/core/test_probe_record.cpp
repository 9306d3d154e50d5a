// probes.jsonl records (probe/probe_record.h): a record holds what the views of a followed run
// need, reads back to the same snapshot within its rounding, keeps a large model's line
// bounded by block-averaging its maps, and an older stats-only record still reads.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <limits>
#include <random>

#include "common/errors.h"
#include "probe/map_blocks.h"
#include "probe/probe_json.h"
#include "probe/probe_record.h"

using namespace headlab;
using nlohmann::json;

namespace {

// A snapshot of the shape a probe publishes, with causal softmax rows and signed matrices.
ProbeSnapshot synthetic(int layers, int heads, int T, uint32_t seed = 7) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  ProbeSnapshot s;
  s.step = 120;
  s.n_layers = layers;
  s.n_heads = heads;
  s.seq_len = T;
  for (int t = 0; t < T; ++t) s.token_labels.push_back(t % 3 == 0 ? " the" : "tok" + std::to_string(t));
  s.attention.assign(size_t(layers) * heads * T * T, 0.0f);
  for (int lh = 0; lh < layers * heads; ++lh)
    for (int q = 0; q < T; ++q) {
      float* row = s.attention.data() + (size_t(lh) * T + q) * T;
      float sum = 0;
      for (int k = 0; k <= q; ++k) sum += row[k] = std::exp(6 * u(rng)) * (k == q - 1 ? 30.0f : 1.0f);
      for (int k = 0; k <= q; ++k) row[k] /= sum;
    }
  for (int l = 0; l < layers; ++l) {
    PlainMatrix sim{heads, heads, {}};
    for (int i = 0; i < heads * heads; ++i) sim.values.push_back(i % (heads + 1) == 0 ? 1.0f : u(rng));
    s.head_similarity.push_back(sim);
    for (int h = 0; h < heads; ++h) {
      HeadStats st;
      st.layer = l;
      st.head = h;
      st.entropy = u(rng) * 3;
      st.mean_distance = u(rng) * 10;
      st.previous_token = u(rng);
      st.induction = u(rng);
      st.sink = u(rng);
      st.self = u(rng);
      st.role = h == 0 ? "previous-token" : "diffuse";
      s.heads.push_back(st);
    }
    ModuleMatrix m;
    m.layer = l;
    m.module = "kha";
    m.name = "t_q";
    m.state = l == 0 ? "active" : "bypassed";
    m.matrix = PlainMatrix{heads, heads, {}};
    for (int i = 0; i < heads * heads; ++i) m.matrix.values.push_back((u(rng) - 0.5f) * 2 + (i % (heads + 1) == 0));
    m.distance_from_identity = 0.37f;
    m.off_diagonal_mass = 0.12f;
    m.effective_rank = 2.5f;
    s.matrices.push_back(m);
    ModuleAblation a;
    a.layer = l;
    a.module = "kha";
    a.loss_live = 0.49;
    a.loss_bypassed = 0.64;
    a.delta = 0.15;
    a.standard_error = l == 0 ? 0.012 : std::numeric_limits<double>::quiet_NaN();
    a.samples = 32;
    a.measured_on = "validation";
    s.ablations.push_back(a);
    HeadAblation ha;
    ha.layer = l;
    ha.head = 1;
    ha.delta = 0.02;
    ha.standard_error = 0.004;
    ha.samples = 32;
    ha.measured_on = "validation";
    s.head_ablations.push_back(ha);
  }
  return s;
}

// What a line of probes.jsonl becomes on the reading side: text, then JSON again.
ProbeSnapshot through_a_line(const json& record) { return probe::snapshot_from_record(json::parse(record.dump())); }

void expect_rounded(float read, float written) {
  EXPECT_NEAR(read, written, std::fabs(written) * 5e-4 + probe::kRecordFloor) << "written " << written;
}

}  // namespace

TEST(ProbeRecord, RoundTripGivesTheViewsTheSameSnapshotWithinRounding) {
  const ProbeSnapshot s = synthetic(2, 3, 7);
  const json record = probe::record_json(s);
  // The summary's keys and values are all still there: scripts read them.
  const json summary = probe::summary_json(s);
  for (const auto& [key, value] : summary.items()) {
    ASSERT_TRUE(record.contains(key)) << key;
    if (key != "matrices") EXPECT_EQ(record[key], value) << key;
  }
  for (size_t i = 0; i < summary["matrices"].size(); ++i)
    for (const auto& [key, value] : summary["matrices"][i].items()) EXPECT_EQ(record["matrices"][i][key], value) << key;
  EXPECT_EQ(record["attention_maps"]["block"], 1);
  EXPECT_EQ(record["attention_maps"]["side"], 7);

  const ProbeSnapshot r = through_a_line(record);
  EXPECT_EQ(r.step, 120);
  EXPECT_EQ(r.n_layers, 2);
  EXPECT_EQ(r.n_heads, 3);
  EXPECT_EQ(r.seq_len, 7);
  EXPECT_EQ(r.token_labels, s.token_labels);
  EXPECT_FALSE(probe::map_blocks(r.token_labels)) << "token labels are not blocks";
  ASSERT_EQ(r.attention.size(), s.attention.size());
  for (size_t i = 0; i < s.attention.size(); ++i) expect_rounded(r.attention[i], s.attention[i]);
  EXPECT_EQ(r.attention_map(1, 2).at(0, 1), 0.0f) << "a masked cell";
  ASSERT_EQ(r.head_similarity.size(), 2u);
  for (size_t l = 0; l < 2; ++l) {
    ASSERT_EQ(r.head_similarity[l].rows, 3);
    for (size_t i = 0; i < 9; ++i) expect_rounded(r.head_similarity[l].values[i], s.head_similarity[l].values[i]);
  }
  ASSERT_EQ(r.heads.size(), s.heads.size());
  for (size_t i = 0; i < s.heads.size(); ++i) {
    EXPECT_EQ(r.heads[i].layer, s.heads[i].layer);
    EXPECT_EQ(r.heads[i].head, s.heads[i].head);
    EXPECT_FLOAT_EQ(r.heads[i].entropy, s.heads[i].entropy);
    EXPECT_FLOAT_EQ(r.heads[i].previous_token, s.heads[i].previous_token);
    EXPECT_FLOAT_EQ(r.heads[i].self, s.heads[i].self);
    EXPECT_EQ(r.heads[i].role, s.heads[i].role);
  }
  ASSERT_EQ(r.matrices.size(), 2u);
  EXPECT_EQ(r.matrices[1].state, "bypassed");
  EXPECT_EQ(r.matrices[1].module, "kha");
  EXPECT_EQ(r.matrices[1].name, "t_q");
  EXPECT_FLOAT_EQ(r.matrices[1].distance_from_identity, 0.37f);
  ASSERT_EQ(r.matrices[1].matrix.rows, 3);
  ASSERT_EQ(r.matrices[1].matrix.cols, 3);
  for (size_t i = 0; i < 9; ++i) expect_rounded(r.matrices[1].matrix.values[i], s.matrices[1].matrix.values[i]);
  ASSERT_EQ(r.ablations.size(), 2u);
  EXPECT_DOUBLE_EQ(r.ablations[0].standard_error, 0.012);
  EXPECT_TRUE(std::isnan(r.ablations[1].standard_error)) << "a missing standard error stays missing";
  EXPECT_EQ(r.ablations[0].module, "kha");
  ASSERT_EQ(r.head_ablations.size(), 2u);
  EXPECT_EQ(r.head_ablations[1].head, 1);
  EXPECT_EQ(r.head_ablations[1].samples, 32);
}

TEST(ProbeRecord, NumbersAreShortDecimals) {
  EXPECT_EQ(json(probe::round_for_record(0.123456789f)).dump(), "0.1235");
  EXPECT_EQ(json(probe::round_for_record(-2.5e-3)).dump(), "-0.0025");
  EXPECT_EQ(probe::round_for_record(3e-7), 0.0);
  EXPECT_TRUE(std::isnan(probe::round_for_record(std::nan(""))));
}

TEST(ProbeRecord, ALargeModelsMapsAreBlockAveragedAndItsLineStaysBounded) {
  // The default preset (2 layers x 4 heads, 48 probe tokens): every value, block 1.
  const ProbeSnapshot small = synthetic(2, 4, 48);
  const std::string small_line = probe::record_json(small).dump();
  EXPECT_EQ(probe::record_map_block(2, 4, 48), 1);

  // A SmolLM-sized model (30 layers x 9 heads) on the 64-token probe: blocks of 2 tokens.
  const ProbeSnapshot big = synthetic(30, 9, 64);
  const json record = probe::record_json(big);
  const std::string line = record.dump();
  std::cout << "[ record  ] 2 x 4 heads x 48 tokens: " << small_line.size() << " bytes; 30 x 9 heads x 64 tokens: "
            << line.size() << " bytes (block " << record["attention_maps"]["block"] << ")\n";
  ASSERT_EQ(record["attention_maps"]["block"], 2);
  ASSERT_EQ(record["attention_maps"]["side"], 32);
  int64_t stored = 0;
  for (const auto& layer : record["attention_maps"]["rows"])
    for (const auto& head : layer)
      for (const auto& row : head) stored += int64_t(row.size());
  EXPECT_EQ(stored, 30 * 9 * 32 * 33 / 2);
  EXPECT_LE(stored, probe::kMaxRecordMapValues);
  EXPECT_LT(line.size(), size_t(12) * probe::kMaxRecordMapValues) << "at most ~12 bytes per stored value";

  const ProbeSnapshot r = through_a_line(record);
  EXPECT_EQ(r.seq_len, 32);
  ASSERT_EQ(r.token_labels.size(), 32u);
  EXPECT_EQ(r.token_labels[0], "0\u20131");
  EXPECT_EQ(r.token_labels[31], "62\u201363");
  const auto blocks = probe::map_blocks(r.token_labels);
  ASSERT_TRUE(blocks);
  EXPECT_EQ(blocks->tokens, 64);
  EXPECT_EQ(blocks->block, 2);
  EXPECT_EQ(blocks->side, 32);
  // Cell (Q, K): the mean over the block's queries of their attention on the block's keys,
  // so that each row of blocks still sums to 1.
  const PlainMatrix full = big.attention_map(17, 5), coarse = r.attention_map(17, 5);
  const float expected = (full.at(20, 6) + full.at(20, 7) + full.at(21, 6) + full.at(21, 7)) / 2;
  expect_rounded(coarse.at(10, 3), expected);
  for (int q = 0; q < 32; ++q) {
    double sum = 0;
    for (int k = 0; k < 32; ++k) sum += coarse.at(q, k);
    EXPECT_NEAR(sum, 1.0, 2e-3) << "row " << q;
  }
  EXPECT_EQ(coarse.at(3, 4), 0.0f) << "blocks after the query block are masked";
  // Statistics stay those of the full-resolution probe.
  EXPECT_FLOAT_EQ(r.heads[100].entropy, big.heads[100].entropy);

  // An odd length: the last block is shorter and says so.
  const ProbeSnapshot odd = through_a_line(probe::record_json(synthetic(30, 9, 65)));
  EXPECT_EQ(odd.token_labels.back(), "64\u201364");
  ASSERT_TRUE(probe::map_blocks(odd.token_labels));
  EXPECT_EQ(probe::map_blocks(odd.token_labels)->tokens, 65);
  double last_row = 0;
  for (int k = 0; k < odd.seq_len; ++k) last_row += odd.attention_map(0, 0).at(odd.seq_len - 1, k);
  EXPECT_NEAR(last_row, 1.0, 2e-3);
}

TEST(ProbeRecord, AnOlderStatsOnlyRecordReadsWithoutMaps) {
  const ProbeSnapshot s = synthetic(2, 3, 7);
  const ProbeSnapshot r = through_a_line(probe::summary_json(s));  // what older versions wrote
  EXPECT_EQ(r.step, 120);
  EXPECT_EQ(r.n_layers, 2) << "the shape comes from the heads";
  EXPECT_EQ(r.n_heads, 3);
  EXPECT_EQ(r.seq_len, 0);
  EXPECT_TRUE(r.attention.empty());
  EXPECT_TRUE(r.head_similarity.empty());
  ASSERT_EQ(r.heads.size(), 6u);
  EXPECT_FLOAT_EQ(r.heads[4].induction, s.heads[4].induction);
  ASSERT_EQ(r.matrices.size(), 2u);
  EXPECT_EQ(r.matrices[0].state, "active") << "module states are still known";
  EXPECT_EQ(r.matrices[0].matrix.rows, 0) << "but not the matrices' values";
  EXPECT_TRUE(r.matrices[0].matrix.values.empty());
  EXPECT_EQ(r.ablations.size(), 2u);
}

TEST(ProbeRecord, MalformedRecordsAreRefusedWithTheFieldNamed) {
  const json good = probe::record_json(synthetic(2, 3, 7));
  auto message = [](const json& record) -> std::string {
    try {
      probe::snapshot_from_record(record);
    } catch (const InputError& e) {
      return e.what();
    }
    return "(accepted)";
  };
  EXPECT_NE(message(json::array({1, 2})).find("not a JSON object"), std::string::npos);
  json j = good;
  j.erase("step");
  EXPECT_NE(message(j).find("step is missing"), std::string::npos) << message(j);
  j = good;
  j["step"] = "twelve";
  EXPECT_NE(message(j).find("step is not an integer"), std::string::npos) << message(j);
  j = good;
  j["heads"][2]["entropy"] = "high";
  EXPECT_NE(message(j).find("of step 120: heads[2].entropy is not a number"), std::string::npos) << message(j);
  j = good;
  j["attention_maps"]["rows"][1][2][4].erase(0);
  EXPECT_NE(message(j).find("attention_maps.rows[1][2][4] has 4 values, not 5"), std::string::npos) << message(j);
  j = good;
  j["attention_maps"]["side"] = 3;
  EXPECT_NE(message(j).find("does not cover seq_len 7"), std::string::npos) << message(j);
  j = good;
  j["attention_maps"]["rows"].erase(1);
  EXPECT_NE(message(j).find("has 1 layers, n_layers is 2"), std::string::npos) << message(j);
  j = good;
  j["tokens"].erase(0);
  EXPECT_NE(message(j).find("tokens has 6 labels, seq_len is 7"), std::string::npos) << message(j);
  j = good;
  j["head_similarity"][0].erase(0);
  EXPECT_NE(message(j).find("head_similarity[0] is 2 x 3"), std::string::npos) << message(j);
  j = good;
  j["matrices"][1]["values"][1] = json::array({1.0});
  EXPECT_NE(message(j).find("matrices[1].values[1] has 1 values, row 0 3"), std::string::npos) << message(j);
  j = good;
  j["heads"][0]["layer"] = 5;
  EXPECT_NE(message(j).find("outside 2 x 3"), std::string::npos) << message(j);
  EXPECT_EQ(message(good), "(accepted)");
}

TEST(ProbeRecord, MapBlocksAreRecognisedOnlyFromBlockLabels) {
  EXPECT_FALSE(probe::map_blocks({"0", "1", "2"}));
  EXPECT_FALSE(probe::map_blocks({"the", "cat"}));
  EXPECT_FALSE(probe::map_blocks({"0\u20130", "1\u20131"})) << "blocks of one token are no downsampling";
  EXPECT_FALSE(probe::map_blocks({"0\u20131", "3\u20134"})) << "a gap";
  EXPECT_FALSE(probe::map_blocks({"0\u20131", "2\u20132", "3\u20134"})) << "a short block before the last";
  EXPECT_FALSE(probe::map_blocks({}));
  const auto b = probe::map_blocks({"0\u20132", "3\u20135", "6\u20136"});
  ASSERT_TRUE(b);
  EXPECT_EQ(b->tokens, 7);
  EXPECT_EQ(b->block, 3);
  EXPECT_EQ(b->side, 3);
}
