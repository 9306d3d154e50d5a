// Fold, virtual-head compression and KV-cached decoding preserve the function.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "common/errors.h"
#include "model/fold.h"
#include "model_test_utils.h"

using namespace headlab;
using namespace headlab::model;
namespace tu = headlab::testutil;

namespace {

using tu::logits_of;

TEST(ModelFold, FoldingLinearModulesPreservesLogits) {
  for (auto layout : {AttentionLayout::Gqa, AttentionLayout::Mha, AttentionLayout::Gta}) {
    auto cfg = tu::tiny_config(layout);
    tu::enable_all_modules(cfg, KhaMode::Linear);
    auto m = tu::make_model(cfg);
    tu::randomize_modules(m);
    auto tokens = tu::sample_tokens(2, 12, cfg.vocab_size);
    auto before = logits_of(m, tokens);
    auto report = fold_modules(m);
    EXPECT_LT(tu::max_rel_diff(logits_of(m, tokens), before), 1e-5) << to_string(layout);
    auto& a = *m->blocks[0]->attn;
    EXPECT_TRUE(torch::equal(a.kha->t_q, torch::eye(cfg.head_dim)));  // reset to identity
    if (layout != AttentionLayout::Gta) {
      EXPECT_TRUE(torch::equal(a.kha->t_k, torch::eye(cfg.head_dim)));
      EXPECT_TRUE(torch::equal(a.mea->mix_v, torch::eye(cfg.kv_heads())));
      EXPECT_EQ(report.folded.size(), 2u * 5u);
    } else {
      EXPECT_FALSE(report.skipped.empty());  // gta's k and v share wkv
    }
  }
}

TEST(ModelFold, KhaMlpKeepsMixVButStillPreservesLogits) {
  auto cfg = tu::tiny_config();
  tu::enable_all_modules(cfg, KhaMode::Mlp);
  auto m = tu::make_model(cfg);
  tu::randomize_modules(m);
  auto tokens = tu::sample_tokens(1, 10, cfg.vocab_size);
  auto before = logits_of(m, tokens);
  auto report = fold_modules(m);
  EXPECT_LT(tu::max_rel_diff(logits_of(m, tokens), before), 1e-5);
  EXPECT_FALSE(torch::equal(m->blocks[0]->attn->mea->mix_v, torch::eye(cfg.kv_heads())));
}

TEST(ModelCompress, FullRankCompressionPreservesLogits) {
  auto cfg = tu::tiny_config(AttentionLayout::Gqa, 4, 4);
  cfg.interaction.layers = {0, 1};
  cfg.interaction.kha = {KhaMode::Linear, KhaMode::Linear, KhaMode::Linear};
  auto m = tu::make_model(cfg);
  tu::randomize_modules(m);
  auto tokens = tu::sample_tokens(2, 12, cfg.vocab_size);
  auto before = logits_of(m, tokens);
  compress_kv_heads(m, 4);
  EXPECT_LT(tu::max_rel_diff(logits_of(m, tokens), before), 1e-5);
  EXPECT_TRUE(m->config().interaction.mea.enabled);
  EXPECT_FALSE(m->config().interaction.mea.group_norm);  // added MEA is only the mixing
}

TEST(ModelCompress, TruncationStoresFewerHeadsAndRoundTripsThroughConfig) {
  auto cfg = tu::tiny_config(AttentionLayout::Gqa, 4, 4);
  auto m = tu::make_model(cfg);
  const int64_t bytes_before = m->config().kv_cache_bytes_per_token();
  auto tokens = tu::sample_tokens(1, 12, cfg.vocab_size);
  auto before = logits_of(m, tokens);
  compress_kv_heads(m, 2);
  EXPECT_EQ(m->config().stored_kv_heads(), 2);
  EXPECT_EQ(m->config().kv_cache_bytes_per_token(), bytes_before / 2);
  EXPECT_EQ(m->blocks[1]->attn->wk->weight.size(0), 2 * cfg.head_dim);
  KVCache cache;
  {
    torch::NoGradGuard g;
    m->forward(tokens, {false, &cache});
  }
  EXPECT_EQ(cache.layers[0].first.size(2), 2);  // the cache holds G' = 2 heads per token
  EXPECT_EQ(cache.bytes(), 12 * m->config().kv_cache_bytes_per_token());
  auto after = logits_of(m, tokens);
  EXPECT_FALSE(torch::allclose(after, before, 1e-4, 1e-4));  // truncation changed the function
  // The compressed model is fully described by its config.
  auto rebuilt = Transformer(ModelConfig::from_json(m->config().to_json()));
  tu::copy_shared_weights(m, rebuilt);
  EXPECT_TRUE(torch::equal(logits_of(rebuilt, tokens), after));
  EXPECT_THROW(compress_kv_heads(m, 3), InputError);  // more than the 2 stored now
}

// Virtual heads are one count for the whole model: folding MEA in one layer of two would
// leave a model whose layers store different head counts, which no config describes. The
// fold is refused before any weight changes.
TEST(ModelFold, PartialFoldOfVirtualHeadsIsRefusedAndChangesNothing) {
  auto cfg = tu::tiny_config(AttentionLayout::Gqa, 4, 4);
  cfg.interaction.layers = {0, 1};
  auto m = tu::make_model(cfg);
  compress_kv_heads(m, 2);
  tu::randomize_modules(m);
  auto tokens = tu::sample_tokens(1, 12, cfg.vocab_size);
  auto before = logits_of(m, tokens);
  const auto wk0 = m->blocks[0]->attn->wk->weight.clone();
  try {
    fold_modules(m, {ModuleKind::Mea}, {0});
    FAIL() << "a fold of layer 0 only was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("layer 1"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(torch::equal(m->blocks[0]->attn->wk->weight, wk0));
  EXPECT_EQ(m->blocks[0]->attn->stored_kv_heads, 2);
  EXPECT_EQ(m->config().stored_kv_heads(), 2);
  EXPECT_TRUE(torch::equal(logits_of(m, tokens), before));
  // Folding every layer stores all four heads again and keeps the function.
  fold_modules(m, {ModuleKind::Mea});
  EXPECT_EQ(m->config().stored_kv_heads(), 4);
  EXPECT_LT(tu::max_rel_diff(logits_of(m, tokens), before), 1e-5);
  auto rebuilt = Transformer(ModelConfig::from_json(m->config().to_json()));
  EXPECT_EQ(rebuilt->blocks[1]->attn->wk->weight.size(0), 4 * cfg.head_dim);
}

TEST(ModelCompress, RejectsWhatItCannotCompressExactly) {
  auto cfg = tu::tiny_config();
  tu::enable_all_modules(cfg, KhaMode::Mlp);
  auto m = tu::make_model(cfg);
  EXPECT_THROW(compress_kv_heads(m, 1), InputError);
  auto gta = tu::make_model(tu::tiny_config(AttentionLayout::Gta));
  EXPECT_THROW(compress_kv_heads(gta, 1), InputError);
}

struct CacheCase {
  std::string name;
  AttentionLayout layout;
  int64_t kv_heads;
  bool modules;
  int64_t virtual_heads;
};

class KVCacheDecoding : public ::testing::TestWithParam<CacheCase> {};

TEST_P(KVCacheDecoding, EqualsFullForward) {
  const auto& tc = GetParam();
  auto cfg = tu::tiny_config(tc.layout, 4, tc.kv_heads);
  if (tc.modules) tu::enable_all_modules(cfg, KhaMode::Mlp);
  auto m = tu::make_model(cfg);
  tu::randomize_modules(m);
  if (tc.virtual_heads > 0) compress_kv_heads(m, tc.virtual_heads);
  auto tokens = tu::sample_tokens(2, 13, cfg.vocab_size);
  auto full = logits_of(m, tokens);
  torch::NoGradGuard g;
  KVCache cache;
  std::vector<torch::Tensor> parts;
  // A prompt chunk, then one token at a time.
  parts.push_back(m->forward(tokens.narrow(1, 0, 5), {false, &cache}).logits);
  for (int64_t t = 5; t < 13; ++t) parts.push_back(m->forward(tokens.narrow(1, t, 1), {false, &cache}).logits);
  auto cached = torch::cat(parts, 1);
  EXPECT_LT(tu::max_rel_diff(cached, full), 1e-5) << tc.name;
  EXPECT_EQ(cache.length(), 13);
}

INSTANTIATE_TEST_SUITE_P(
    Layouts, KVCacheDecoding,
    ::testing::Values(CacheCase{"mha", AttentionLayout::Mha, 4, false, 0},
                      CacheCase{"gqa_modules", AttentionLayout::Gqa, 2, true, 0},
                      CacheCase{"mqa_modules", AttentionLayout::Mqa, 1, true, 0},
                      CacheCase{"gta_modules", AttentionLayout::Gta, 2, true, 0},
                      CacheCase{"gqa_virtual", AttentionLayout::Gqa, 4, false, 2}),
    [](const auto& info) { return info.param.name; });

}  // namespace
