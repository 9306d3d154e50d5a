// Checks one attention layer against an independent reading of MODEL.md §2, written here
// with per-head loops in double precision, and against hand-worked numbers.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "model/attention_reference.h"
#include "model/tensor_ops.h"
#include "model_test_utils.h"

using namespace headlab;
using namespace headlab::model;

namespace {

torch::Tensor d(const torch::Tensor& t) { return t.detach().to(torch::kFloat64); }

torch::Tensor ref_rms(const torch::Tensor& x, const torch::Tensor& w, double eps) {
  return x / torch::sqrt((x * x).mean(-1, true) + eps) * w;
}

// Rotate-half RoPE on the last r dims of x [T, dh] by explicit loops.
torch::Tensor ref_rope(torch::Tensor x, int64_t r, double theta) {
  x = x.clone();
  const int64_t T = x.size(0), dh = x.size(1), half = r / 2, off = dh - r;
  auto acc = x.accessor<double, 2>();
  for (int64_t p = 0; p < T; ++p) {
    for (int64_t j = 0; j < half; ++j) {
      const double a = p * std::pow(theta, -2.0 * j / r);
      const double x1 = acc[p][off + j], x2 = acc[p][off + half + j];
      acc[p][off + j] = x1 * std::cos(a) - x2 * std::sin(a);
      acc[p][off + half + j] = x2 * std::cos(a) + x1 * std::sin(a);
    }
  }
  return x;
}

// One layer of attention on x [T, d], straight from the spec, head by head.
torch::Tensor reference_attention(AttentionImpl& a, const torch::Tensor& x_in, torch::Tensor* probs_out) {
  auto x = d(x_in);
  const int64_t T = x.size(0), H = a.n_heads, G = a.kv_heads, Gs = a.stored_kv_heads, dh = a.head_dim;
  const double eps = a.eps;
  auto live = [&](ModuleKind k) { return a.state(k) == ModuleState::Active || a.state(k) == ModuleState::Frozen; };
  std::vector<torch::Tensor> q(H), kraw, vraw;
  auto Wq = d(a.wq->weight);
  for (int64_t h = 0; h < H; ++h) q[h] = x.matmul(Wq.narrow(0, h * dh, dh).t());
  if (a.gta) {
    auto Wkv = d(a.wkv->weight);
    auto r = x.matmul(d(a.wk_rope->weight).t());
    for (int64_t g = 0; g < G; ++g) {
      auto c = x.matmul(Wkv.narrow(0, g * dh, dh).t());
      vraw.push_back(c);
      kraw.push_back(torch::cat({c.narrow(1, 0, dh - a.rope_dims), r}, 1));
    }
  } else {
    auto Wk = d(a.wk->weight), Wv = d(a.wv->weight);
    for (int64_t i = 0; i < Gs; ++i) {
      kraw.push_back(x.matmul(Wk.narrow(0, i * dh, dh).t()));
      vraw.push_back(x.matmul(Wv.narrow(0, i * dh, dh).t()));
    }
  }
  if (live(ModuleKind::Kha)) {
    auto& m = *a.kha;
    for (auto& t : q) if (m.t_q.defined()) t = t.matmul(d(m.t_q));
    for (auto& t : kraw) if (m.t_k.defined()) t = t.matmul(d(m.t_k));
    for (auto& t : vraw) {
      if (m.t_v.defined()) t = t.matmul(d(m.t_v));
      if (m.v_up.defined()) t = (2.0 * t.matmul(d(m.v_up)) * torch::sigmoid(t.matmul(d(m.v_gate)))).matmul(d(m.v_down));
    }
  }
  std::vector<torch::Tensor> k(G), v(G);
  for (int64_t j = 0; j < G; ++j) {
    if (live(ModuleKind::Mea)) {
      auto mk = d(a.mea->mix_k), mv = d(a.mea->mix_v);
      k[j] = torch::zeros_like(kraw[0]);
      v[j] = torch::zeros_like(vraw[0]);
      for (size_t i = 0; i < kraw.size(); ++i) {
        k[j] = k[j] + mk[i][j].item<double>() * kraw[i];  // mix[i, j]: from stored head i to head j
        v[j] = v[j] + mv[i][j].item<double>() * vraw[i];
      }
    } else {
      k[j] = kraw[j];
      v[j] = vraw[j];
    }
  }
  if (a.use_qk_norm) {
    for (auto& t : q) t = ref_rms(t, d(a.q_norm), eps);
    for (auto& t : k) t = ref_rms(t, d(a.k_norm), eps);
  }
  for (auto& t : q) t = ref_rope(t, a.rope_dims, a.rope.theta);
  for (auto& t : k) t = ref_rope(t, a.rope_dims, a.rope.theta);
  const int64_t rep = H / G;
  std::vector<torch::Tensor> s(H), p(H);
  for (int64_t h = 0; h < H; ++h) s[h] = q[h].matmul(k[h / rep].t()) / std::sqrt(double(dh));
  const bool talk = live(ModuleKind::TalkingHeads);
  auto mix_heads = [&](const std::vector<torch::Tensor>& in, const torch::Tensor& m) {
    std::vector<torch::Tensor> out(H);
    for (int64_t h2 = 0; h2 < H; ++h2) {
      out[h2] = torch::zeros_like(in[0]);
      for (int64_t h = 0; h < H; ++h) out[h2] = out[h2] + m[h][h2].item<double>() * in[h];
    }
    return out;
  };
  if (talk) s = mix_heads(s, d(a.talking->pre));
  auto mask = torch::ones({T, T}, torch::kBool).triu(1);
  for (int64_t h = 0; h < H; ++h) p[h] = torch::softmax(s[h].masked_fill(mask, -INFINITY), -1);
  if (talk) p = mix_heads(p, d(a.talking->post));
  std::vector<torch::Tensor> o(H);
  for (int64_t h = 0; h < H; ++h) {
    o[h] = p[h].matmul(v[h / rep]);
    if (live(ModuleKind::Mea) && a.mea->has_group_norm())
      o[h] = ref_rms(o[h], d(a.mea->out_norm_weight).narrow(0, h * dh, dh), eps);
  }
  if (probs_out) *probs_out = torch::stack(p);
  return torch::cat(o, 1).matmul(d(a.wo->weight).t());
}

struct Case {
  std::string name;
  AttentionLayout layout;
  int64_t heads, kv_heads;
  KhaMode q, k, v;
  bool mea, talking, group_norm;
  int64_t virtual_heads;
};

class AttentionReference : public ::testing::TestWithParam<Case> {};

TEST_P(AttentionReference, MatchesIndependentImplementation) {
  const Case& tc = GetParam();
  auto cfg = testutil::tiny_config(tc.layout, tc.heads, tc.kv_heads);
  cfg.n_layers = 1;
  cfg.interaction.layers = {0};
  cfg.interaction.kha = {tc.q, tc.k, tc.v};
  cfg.interaction.mea = {tc.mea, tc.group_norm, tc.virtual_heads};
  cfg.interaction.talking_heads = tc.talking;
  auto m = testutil::make_model(cfg);
  testutil::randomize_modules(m);
  auto& attn = *m->blocks[0]->attn;
  torch::manual_seed(5);
  auto x = torch::randn(std::vector<int64_t>{1, 9, cfg.d_model});
  torch::Tensor probs, ref_probs;
  auto y = attn.forward(x, nullptr, &probs);
  auto ref = reference_attention(attn, x[0], &ref_probs);
  EXPECT_LT(testutil::max_rel_diff(d(y[0]), ref), 1e-5) << tc.name;
  EXPECT_LT((d(probs[0]) - ref_probs).abs().max().item<double>(), 1e-6) << tc.name;
  // The engine's reference path too: the fast paths' equivalence tests hold them to it.
  torch::Tensor path_probs;
  auto y_path = attention_reference(attn, x, nullptr, &path_probs);
  EXPECT_LT(testutil::max_rel_diff(d(y_path[0]), ref), 1e-5) << tc.name << ", reference path";
  EXPECT_LT((d(path_probs[0]) - ref_probs).abs().max().item<double>(), 1e-6) << tc.name << ", reference path";
}

INSTANTIATE_TEST_SUITE_P(
    Layouts, AttentionReference,
    ::testing::Values(
        Case{"mha_plain", AttentionLayout::Mha, 4, 4, KhaMode::None, KhaMode::None, KhaMode::None, false, false, true, 0},
        Case{"gqa_all", AttentionLayout::Gqa, 4, 2, KhaMode::Linear, KhaMode::Linear, KhaMode::Linear, true, true, true, 0},
        Case{"gqa_vmlp", AttentionLayout::Gqa, 4, 2, KhaMode::Linear, KhaMode::None, KhaMode::Mlp, true, false, false, 0},
        Case{"mqa_talk", AttentionLayout::Mqa, 4, 1, KhaMode::None, KhaMode::Linear, KhaMode::None, false, true, true, 0},
        Case{"gta_all", AttentionLayout::Gta, 4, 2, KhaMode::Linear, KhaMode::Linear, KhaMode::Mlp, true, true, true, 0},
        Case{"gqa_virtual", AttentionLayout::Gqa, 4, 4, KhaMode::None, KhaMode::Linear, KhaMode::Linear, true, false, true, 2}),
    [](const auto& info) { return info.param.name; });

// One key/value head, batch 1, QK norm on: the grouped score GEMM then runs as a single
// batch, and the scores must not land in the causal mask shared by every later call of the
// same shape (they once did, 25-66% off). Called twice: the second call reads that mask.
TEST(AttentionReferenceRepeated, MqaWithQkNormBatchOneMatchesTwice) {
  auto cfg = testutil::tiny_config(AttentionLayout::Mqa, 4, 1);
  cfg.n_layers = 1;
  auto m = testutil::make_model(cfg);
  testutil::randomize_modules(m);  // moves q_norm / k_norm away from ones
  auto& attn = *m->blocks[0]->attn;
  torch::manual_seed(8);
  auto x = torch::randn(std::vector<int64_t>{1, 13, cfg.d_model});
  const auto ref = reference_attention(attn, x[0], nullptr);
  for (int call = 0; call < 2; ++call) {
    torch::NoGradGuard g;
    EXPECT_LT(testutil::max_rel_diff(d(attn.forward(x)[0]), ref), 1e-5) << "call " << call;
  }
}

// RoPE on x = [1, 2, 3, 4] at position 1 with theta = 10000, dh = 4: freqs are 1 and 0.01.
TEST(HandComputed, RopeRotatesHalves) {
  auto x = torch::tensor({0.f, 0.f, 0.f, 0.f, 1.f, 2.f, 3.f, 4.f}).view({1, 2, 1, 4});
  auto y = apply_rope(x, 0, 4, 10000.0)[0][1][0];
  const double c1 = std::cos(1.0), s1 = std::sin(1.0), c2 = std::cos(0.01), s2 = std::sin(0.01);
  const double expect[4] = {1 * c1 - 3 * s1, 2 * c2 - 4 * s2, 3 * c1 + 1 * s1, 4 * c2 + 2 * s2};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(y[i].item<double>(), expect[i], 1e-6) << i;
  // Position 0 is the identity; gta-style rotation of the last 2 dims only leaves the first 2.
  EXPECT_TRUE(torch::allclose(apply_rope(x, 0, 4, 10000.0)[0][0], x[0][0]));
  auto partial = apply_rope(x, 0, 2, 10000.0)[0][1][0];
  EXPECT_FLOAT_EQ(partial[0].item<float>(), 1.f);
  EXPECT_FLOAT_EQ(partial[1].item<float>(), 2.f);
  EXPECT_NEAR(partial[2].item<double>(), 3 * c1 - 4 * s1, 1e-6);
  EXPECT_NEAR(partial[3].item<double>(), 4 * c1 + 3 * s1, 1e-6);
}

// 1 layer, 2 heads, dh 4: the causal mask, then the mixing directions of talking heads and
// mix_k, checked on numbers worked out by hand.
class HandComputedAttention : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg = testutil::tiny_config(AttentionLayout::Mha, 2, 2);
    cfg.n_layers = 1;
    cfg.d_model = 8;
    cfg.head_dim = 4;
    cfg.qk_norm = false;
    torch::manual_seed(1);
    x = 25.0 * torch::randn({1, 4, 8});  // large enough that heads differ from uniform
  }
  torch::Tensor probs_of(ModelConfig c, const std::function<void(AttentionImpl&)>& setup) {
    auto m = testutil::make_model(c);
    setup(*m->blocks[0]->attn);
    torch::Tensor p;
    m->blocks[0]->attn->forward(x, nullptr, &p);
    return p[0];  // [H, T, T]
  }
  ModelConfig cfg;
  torch::Tensor x;
};

TEST_F(HandComputedAttention, CausalMaskZeroesTheFuture) {
  auto p = probs_of(cfg, [](AttentionImpl&) {});
  for (int h = 0; h < 2; ++h) {
    EXPECT_FLOAT_EQ(p[h][0][0].item<float>(), 1.f);  // the first token sees only itself
    for (int t = 0; t < 4; ++t) {
      EXPECT_NEAR(p[h][t].sum().item<double>(), 1.0, 1e-6);
      for (int u = t + 1; u < 4; ++u) EXPECT_EQ(p[h][t][u].item<float>(), 0.f);
    }
  }
}

TEST_F(HandComputedAttention, TalkingHeadsMixFromRowHeadToColumnHead) {
  auto base = probs_of(cfg, [](AttentionImpl&) {});
  auto c = cfg;
  c.interaction.layers = {0};
  c.interaction.talking_heads = true;
  // pre = [[0, 1], [0, 0]]: s'[1] = pre[0,1] s[0] = s[0] and s'[0] = 0.
  auto p = probs_of(c, [](AttentionImpl& a) {
    torch::NoGradGuard g;
    a.talking->pre.copy_(torch::tensor({0.f, 1.f, 0.f, 0.f}).view({2, 2}));
  });
  EXPECT_TRUE(torch::allclose(p[1], base[0], 1e-6, 1e-6));  // head 1 now has head 0's pattern
  for (int t = 0; t < 4; ++t)                               // head 0's scores are all 0: uniform
    for (int u = 0; u <= t; ++u) EXPECT_NEAR(p[0][t][u].item<double>(), 1.0 / (t + 1), 1e-6);
}

TEST_F(HandComputedAttention, MixKSendsHeadIToHeadJ) {
  auto base = probs_of(cfg, [](AttentionImpl&) {});
  auto c = cfg;
  c.interaction.layers = {0};
  c.interaction.mea = {true, false, 0};
  // mix_k = [[0, 1], [0, 0]]: k'_1 = mix_k[0,1] k_0 = k_0 and k'_0 = 0.
  auto p = probs_of(c, [](AttentionImpl& a) {
    torch::NoGradGuard g;
    a.mea->mix_k.copy_(torch::tensor({0.f, 1.f, 0.f, 0.f}).view({2, 2}));
  });
  for (int t = 0; t < 4; ++t)  // head 0 sees zero keys: uniform over the past
    for (int u = 0; u <= t; ++u) EXPECT_NEAR(p[0][t][u].item<double>(), 1.0 / (t + 1), 1e-6);
  // Head 1 scores q_1 against k_0: recompute by hand from the projections.
  auto m = testutil::make_model(c);
  auto& attn = *m->blocks[0]->attn;
  auto q1 = apply_rope(torch::matmul(x, attn.wq->weight.narrow(0, 4, 4).t()).view({1, 4, 1, 4}), 0, 4, 10000.0);
  auto k0 = apply_rope(torch::matmul(x, attn.wk->weight.narrow(0, 0, 4).t()).view({1, 4, 1, 4}), 0, 4, 10000.0);
  auto s = torch::matmul(q1[0].squeeze(1), k0[0].squeeze(1).t()) / 2.0;
  auto expected = torch::softmax(s.masked_fill(torch::ones({4, 4}, torch::kBool).triu(1), -INFINITY), -1);
  EXPECT_TRUE(torch::allclose(p[1], expected, 1e-5, 1e-6));
  EXPECT_FALSE(torch::allclose(p[1], base[1], 1e-3, 1e-3));  // and it differs from head 1's own keys
}

}  // namespace
