// MODEL.md §7: the options imported architectures need (biases, LayerNorm, GELU MLP, learned
// positions, llama3 rope scaling) are part of the same network: every path, fold, compression,
// KV cache and checkpoint works on them. Exactness against Hugging Face's semantics is
// tests/cli/test_hf_models.sh (an independent PyTorch forward).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>

#include "common/errors.h"
#include "io/model_io.h"
#include "model/attention_paths.h"
#include "model/fold.h"
#include "model_test_utils.h"

using namespace headlab;
using namespace headlab::model;
namespace tu = headlab::testutil;
namespace fs = std::filesystem;

namespace {

ModelConfig gpt2_like() {
  auto c = tu::tiny_config(AttentionLayout::Mha, 4, 4);
  tu::use_gpt2_options(c);
  c.norm_eps = 1e-5;
  return c;
}

ModelConfig qwen2_like() {
  auto c = tu::tiny_config(AttentionLayout::Gqa, 4, 2);
  c.qk_norm = false;
  c.linear_bias = LinearBias::Qkv;
  c.rope_theta = 500000;
  c.rope_scaling = RopeScaling{8, 1, 4, 32};  // original context 32: every band is exercised at dh 8
  return c;
}

// Biases and norm biases away from zero, so that a dropped or misplaced one shows.
void randomize_biases(Transformer& m, uint64_t seed = 5) {
  torch::NoGradGuard g;
  torch::manual_seed(seed);
  for (auto& item : m->named_parameters())
    if (item.key().find(".bias") != std::string::npos) item.value().copy_(0.3 * torch::randn_like(item.value()));
}

Transformer randomized(const ModelConfig& c) {
  auto m = tu::make_model(c);
  tu::randomize_modules(m);
  randomize_biases(m);
  return m;
}

void use_reference(Transformer& m, bool on) {
  for (auto& b : m->blocks) attention_paths(*b->attn).reference = on;
}

TEST(ImportedOptions, ConfigRoundTripsAndDefaultsWriteNothingNew) {
  auto c = qwen2_like();
  c.norm = NormKind::Layer;
  c.mlp = MlpKind::Gelu;
  auto back = ModelConfig::from_json(c.to_json());
  EXPECT_EQ(back.linear_bias, LinearBias::Qkv);
  EXPECT_EQ(back.norm, NormKind::Layer);
  EXPECT_EQ(back.mlp, MlpKind::Gelu);
  EXPECT_TRUE(back.rope_scaling == c.rope_scaling);
  EXPECT_EQ(back.to_json(), c.to_json());
  const auto plain = tu::tiny_config().to_json();
  for (const char* key : {"linear_bias", "norm", "mlp", "positions", "rope_scaling"}) EXPECT_FALSE(plain.contains(key)) << key;
}

TEST(ImportedOptions, BadValuesAreRefusedByName) {
  auto expect_refused = [](nlohmann::json j, const std::string& needle) {
    try {
      ModelConfig::from_json(j);
      ADD_FAILURE() << "accepted: " << j.dump();
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  const auto base = tu::tiny_config().to_json();
  auto j = base;
  j["linear_bias"] = "some";
  expect_refused(j, "linear_bias must be one of none, qkv, all");
  j = base;
  j["norm"] = "batch";
  expect_refused(j, "norm must be one of rms, layer");
  j = base;
  j["rope_scaling"] = {{"type", "yarn"}, {"factor", 4}};
  expect_refused(j, "rope_scaling.type must be llama3");
  j = base;
  j["rope_scaling"] = {{"type", "llama3"}, {"factor", 8}, {"low_freq_factor", 4}, {"high_freq_factor", 1}};
  expect_refused(j, "high_freq_factor");
  j = tu::tiny_config(AttentionLayout::Gta).to_json();
  j["positions"] = "learned";
  expect_refused(j, "gta needs rotary positions");
  j = base;
  j["tokenizer"] = {{"type", "hf"}, {"file", "../tokenizer.json"}};
  expect_refused(j, "tokenizer.file ('../tokenizer.json') must be a file name");
}

TEST(ImportedOptions, Llama3ScalingKeepsShortWavesSlowsLongOnesAndBlendsBetween) {
  const RopeSpec plain{500000, {}}, scaled{500000, {8, 1, 4, 8192}};
  const auto f0 = rope_frequencies(plain, 64), f = rope_frequencies(scaled, 64);
  ASSERT_EQ(f.size(), 32u);
  int kept = 0, slowed = 0, blended = 0;
  for (size_t j = 0; j < f.size(); ++j) {
    const double wl = 2 * M_PI / f0[j];
    if (wl < 8192.0 / 4) {
      EXPECT_EQ(f[j], f0[j]) << j;
      ++kept;
    } else if (wl > 8192.0 / 1) {
      EXPECT_DOUBLE_EQ(f[j], f0[j] / 8) << j;
      ++slowed;
    } else {
      EXPECT_GT(f[j], f0[j] / 8) << j;
      EXPECT_LT(f[j], f0[j]) << j;
      ++blended;
    }
  }
  EXPECT_GT(kept, 0);
  EXPECT_GT(slowed, 0);
  EXPECT_GT(blended, 0);
}

// Every projection path (rows, fused, modules folded into the fused weight) computes the
// reference's logits and bias gradients with biases, KHA-linear and MEA in the layers.
TEST(ImportedOptions, FastPathsMatchTheReferenceWithBiasesAndModules) {
  for (const auto& base : {qwen2_like(), gpt2_like()}) {
    auto c = base;
    tu::enable_all_modules(c, KhaMode::Linear);
    c.interaction.talking_heads = false;
    auto m = randomized(c);
    for (int64_t T : {5, 40}) {  // 2 x 40 rows take the fused path with the modules in the weights
      auto tokens = tu::sample_tokens(2, T, c.vocab_size);
      auto grads = [&](bool reference) {
        use_reference(m, reference);
        m->zero_grad();
        auto logits = m->logits(tokens);
        logits.pow(2).mean().backward();
        use_reference(m, false);
        // wq's and wv's: a key bias's gradient is a softmax sum that nearly cancels (exactly,
        // without RoPE), so its relative error says nothing.
        const auto& a = *m->blocks[1]->attn;
        return std::make_pair(logits.detach(), torch::cat({a.wq->bias.grad(), a.wv->bias.grad()}));
      };
      auto [ref_logits, ref_grad] = grads(true);
      auto [fast_logits, fast_grad] = grads(false);
      EXPECT_LT(tu::max_rel_diff(fast_logits, ref_logits), 2e-5) << T;
      EXPECT_LT(tu::max_rel_diff(fast_grad, ref_grad), 1e-4) << T;
      EXPECT_GT(ref_grad.abs().max().item<double>(), 0.0);
    }
  }
}

TEST(ImportedOptions, FoldingMovesModulesIntoWeightsAndBiases) {
  for (const auto& base : {qwen2_like(), gpt2_like()}) {
    auto c = base;
    tu::enable_all_modules(c, KhaMode::Linear);
    c.interaction.talking_heads = false;
    c.interaction.mea.group_norm = false;
    auto m = randomized(c);
    auto tokens = tu::sample_tokens(2, 12, c.vocab_size);
    auto before = tu::logits_of(m, tokens);
    auto bias_before = m->blocks[0]->attn->wk->bias.clone();
    fold_modules(m);
    EXPECT_LT(tu::max_rel_diff(tu::logits_of(m, tokens), before), 1e-5);
    EXPECT_FALSE(torch::allclose(m->blocks[0]->attn->wk->bias, bias_before));  // the bias took its share
    EXPECT_TRUE(torch::equal(m->blocks[0]->attn->kha->t_k, torch::eye(c.head_dim)));
  }
}

TEST(ImportedOptions, VirtualHeadsCompressBiasedProjections) {
  auto c = qwen2_like();
  c.n_kv_heads = 4;
  auto m = randomized(c);
  auto tokens = tu::sample_tokens(2, 12, c.vocab_size);
  auto before = tu::logits_of(m, tokens);
  compress_kv_heads(m, 4);  // full rank: the same function
  EXPECT_LT(tu::max_rel_diff(tu::logits_of(m, tokens), before), 1e-5);
  compress_kv_heads(m, 2);
  EXPECT_EQ(m->blocks[0]->attn->wk->bias.size(0), 2 * c.head_dim);
  EXPECT_EQ(m->config().kv_cache_bytes_per_token(), 2 * 2 * c.head_dim * c.n_layers * 4);
  EXPECT_TRUE(torch::isfinite(tu::logits_of(m, tokens)).all().item<bool>());
}

TEST(ImportedOptions, LearnedPositionsDecodeWithACacheAsInOnePass) {
  auto c = gpt2_like();
  auto m = randomized(c);
  auto tokens = tu::sample_tokens(2, 11, c.vocab_size);
  auto full = tu::logits_of(m, tokens);
  torch::NoGradGuard g;
  KVCache cache;
  std::vector<torch::Tensor> parts{m->forward(tokens.narrow(1, 0, 4), {false, &cache}).logits};
  for (int64_t t = 4; t < 11; ++t) parts.push_back(m->forward(tokens.narrow(1, t, 1), {false, &cache}).logits);
  EXPECT_LT(tu::max_rel_diff(torch::cat(parts, 1), full), 1e-5);
  // Positions matter: the same token at two positions gives two different rows.
  auto same = torch::full({1, 2}, 3, torch::kLong);
  auto rows = m->logits(same)[0];
  EXPECT_FALSE(torch::allclose(rows[0], rows[1]));
  EXPECT_THROW(m->logits(tu::sample_tokens(1, c.max_seq_len + 1, c.vocab_size)), InputError);
}

TEST(ImportedOptions, CheckpointsKeepEveryNewTensorExactly) {
  const fs::path dir = fs::temp_directory_path() / ("headlab_imported_" + std::to_string(::getpid()));
  for (const auto& c : {qwen2_like(), gpt2_like()}) {
    auto m = randomized(c);
    io::save_model(m, dir);
    auto loaded = io::load_model(dir);
    auto tokens = tu::sample_tokens(1, 9, c.vocab_size);
    EXPECT_TRUE(torch::equal(tu::logits_of(loaded, tokens), tu::logits_of(m, tokens)));
    EXPECT_EQ(loaded->config().to_json(), c.to_json());
    fs::remove_all(dir);
  }
  auto names = tu::make_model(gpt2_like())->named_parameters();
  for (const char* n : {"pos_emb.weight", "norm.bias", "layers.0.attn_norm.bias", "layers.0.attn.wq.bias",
                        "layers.0.attn.wo.bias", "layers.0.mlp.w_up.bias", "layers.0.mlp.w_down.bias"})
    EXPECT_NE(names.find(n), nullptr) << n;
  EXPECT_EQ(names.find("layers.0.mlp.w_gate.weight"), nullptr);
}

}  // namespace
