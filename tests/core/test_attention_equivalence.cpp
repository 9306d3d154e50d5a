// The fast attention paths compute what the reference path (attention_reference.h, MODEL.md §2
// line by line) computes: values, attention probabilities and gradients with respect to the
// input and every parameter, modules included, for every layout and module, short and long;
// and decoding with the KV cache gives the logits of recomputing the whole sequence.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "model/attention_paths.h"
#include "model/attention_reference.h"
#include "model/attention_scores.h"
#include "model_test_utils.h"

using namespace headlab;
using namespace headlab::model;
namespace tu = headlab::testutil;

namespace {

// float32 against float32: the paths differ in summation order only.
constexpr double kValueTolerance = 1e-5;
constexpr double kGradTolerance = 1e-5;

struct EqCase {
  std::string name;
  AttentionLayout layout;
  int64_t kv_heads;
  KhaConfig kha;
  bool mea = false, group_norm = true;
  int64_t virtual_heads = 0;  // G' < G
  bool talking = false, qk_norm = true;
};

// gtest prints a failing case by its name, not as bytes.
void PrintTo(const EqCase& c, std::ostream* os) { *os << c.name; }

std::vector<EqCase> all_cases() {
  struct Layout {
    const char* name;
    AttentionLayout layout;
    int64_t kv_heads;
  };
  const Layout layouts[] = {{"mha", AttentionLayout::Mha, 4},
                            {"gqa", AttentionLayout::Gqa, 2},
                            {"mqa", AttentionLayout::Mqa, 1},
                            {"gta", AttentionLayout::Gta, 2}};
  const KhaConfig linear{KhaMode::Linear, KhaMode::Linear, KhaMode::Linear};
  const KhaConfig vmlp{KhaMode::Linear, KhaMode::None, KhaMode::Mlp};
  std::vector<EqCase> out;
  for (const auto& l : layouts) {
    for (bool qk : {true, false}) {
      auto add = [&](const std::string& modules, auto set) {
        EqCase c{l.name + std::string("_") + modules + (qk ? "_qknorm" : ""), l.layout, l.kv_heads, {}};
        c.qk_norm = qk;
        set(c);
        out.push_back(c);
      };
      add("none", [](EqCase&) {});
      add("kha_linear", [&](EqCase& c) { c.kha = linear; });
      add("kha_vmlp", [&](EqCase& c) { c.kha = vmlp; });
      add("mea", [](EqCase& c) { c.mea = true; });
      add("mea_no_group_norm", [](EqCase& c) {
        c.mea = true;
        c.group_norm = false;
      });
      // Virtual heads: gqa layouts with G >= 2 (gta has none, MQA has one head to begin with).
      if (l.layout == AttentionLayout::Mha || l.layout == AttentionLayout::Gqa)
        add("mea_virtual", [&](EqCase& c) {
          c.mea = true;
          c.virtual_heads = l.kv_heads / 2;
        });
      add("talking", [](EqCase& c) { c.talking = true; });
      add("all", [&](EqCase& c) {
        c.kha = linear;
        c.mea = c.talking = true;
      });
    }
  }
  return out;
}

ModelConfig config_of(const EqCase& tc, int64_t layers) {
  auto cfg = tu::tiny_config(tc.layout, 4, tc.kv_heads);  // d_model 32, head_dim 8
  cfg.n_layers = layers;
  cfg.max_seq_len = 96;
  cfg.qk_norm = tc.qk_norm;
  cfg.interaction.layers.clear();
  for (int64_t i = 0; i < layers; ++i) cfg.interaction.layers.push_back(i);
  cfg.interaction.kha = tc.kha;
  cfg.interaction.mea = {tc.mea, tc.group_norm, tc.virtual_heads};
  cfg.interaction.talking_heads = tc.talking;
  return cfg;
}

// A model whose modules and norms are away from their identity init (identity hides bugs).
Transformer model_of(const EqCase& tc, int64_t layers) {
  auto m = tu::make_model(config_of(tc, layers));
  tu::randomize_modules(m);
  return m;
}

// ---- one layer: values, probabilities, gradients of x and of every parameter.

enum class Path { Rows, FusedModulesInWeights, FusedModulesOnRows, FusedShared };

const char* path_name(Path p) {
  switch (p) {
    case Path::Rows: return "rows";
    case Path::FusedModulesInWeights: return "fused, modules in weights";
    case Path::FusedModulesOnRows: return "fused, modules on rows";
    case Path::FusedShared: return "fused, shared QKV weight";
  }
  return "?";
}

struct Outcome {
  torch::Tensor y, probs, dx;
  std::map<std::string, torch::Tensor> grads;
  int64_t sdpa_forwards = 0;
};

// want_probs false: no one asks for the probabilities, as in a training step without a probe.
Outcome run_layer(AttentionImpl& layer, const torch::Tensor& x_in, const torch::Tensor& cotangent, bool reference,
                  Path path, bool want_probs = true) {
  for (auto& p : layer.parameters())
    if (p.grad().defined()) p.mutable_grad().reset();
  auto& paths = attention_paths(layer);
  const AttentionPaths saved = paths;
  paths.fused_projection_min_rows = path == Path::Rows ? (int64_t{1} << 40) : 64;
  paths.module_fusion_min_rows = path == Path::FusedModulesOnRows ? (int64_t{1} << 40) : 0;
  if (!reference && path == Path::FusedShared) layer.share_qkv_weight();
  auto x = x_in.detach().clone().requires_grad_(true);
  Outcome o;
  torch::Tensor* probs = want_probs ? &o.probs : nullptr;
  o.y = reference ? attention_reference(layer, x, nullptr, probs) : layer.forward(x, nullptr, probs);
  (o.y * cotangent).sum().backward();
  if (!reference && path == Path::FusedShared) layer.release_shared_qkv(true);
  o.sdpa_forwards = paths.sdpa_forwards - saved.sdpa_forwards;
  paths = saved;
  o.y = o.y.detach();
  if (want_probs) o.probs = o.probs.detach();
  o.dx = x.grad();
  for (const auto& item : layer.named_parameters())
    if (item.value().grad().defined()) o.grads[item.key()] = item.value().grad().clone();
  return o;
}

// A lone stored key/value head's mixing weight scales every head's k (or v) by one number.
// The QK norm (or the MEA group norm) then removes it, but for the norm's eps. Without a QK
// norm, scaling every key by c scales the logits, and d/dc sums dL/dlogit x logit over rows
// of a softmax, whose dL/dlogit add up to zero. Either way its gradient is what is left of
// terms that cancel: small, and in float32 mostly their rounding noise (LibTorch 2.6's
// kernels left 1.9e-4 of it in MQA with every module, against 1e-5).
bool scale_invariant(const AttentionImpl& layer, const std::string& name) {
  if (layer.stored_kv_heads != 1) return false;
  return name == "mea.mix_k" || (name == "mea.mix_v" && layer.mea->has_group_norm());
}

// Each parameter's gradient within kGradTolerance of the reference's, relative to its size;
// a scale-invariant one (above) relative to the layer's largest gradient, the size of the
// terms that cancel in it.
void expect_same_gradients(const AttentionImpl& layer, const Outcome& fast, const Outcome& ref,
                           const std::string& where) {
  ASSERT_EQ(fast.grads.size(), ref.grads.size()) << where;
  double largest = 0;
  for (const auto& [name, g] : ref.grads) largest = std::max(largest, g.abs().max().item<double>());
  for (const auto& [name, g] : ref.grads) {
    ASSERT_TRUE(fast.grads.count(name)) << where << ": no gradient for " << name;
    const auto& f = fast.grads.at(name);
    const double error = scale_invariant(layer, name) ? (f - g).abs().max().item<double>() / largest
                                                      : tu::max_rel_diff(f, g);
    EXPECT_LT(error, kGradTolerance) << where << ": d/d " << name;
  }
}

struct Shape {
  int64_t batch, length;
};

class AttentionEquivalence : public ::testing::TestWithParam<EqCase> {};

TEST_P(AttentionEquivalence, FastPathsMatchReferenceValuesAndGradients) {
  const auto& tc = GetParam();
  auto m = model_of(tc, 1);
  auto& layer = *m->blocks[0]->attn;
  struct Run {
    Shape shape;
    Path path;
  };
  // 16 rows: the rows path by default. 72 and 80 rows (>= 64, >= d_model): the fused path by
  // default; the same lengths forced onto the rows path (a long prompt with a cache runs there).
  const Run runs[] = {{{1, 16}, Path::Rows},
                      {{2, 9}, Path::Rows},
                      {{1, 72}, Path::Rows},
                      {{1, 72}, Path::FusedModulesInWeights},
                      {{2, 40}, Path::FusedModulesInWeights},
                      {{2, 40}, Path::FusedModulesOnRows},
                      {{2, 40}, Path::FusedShared}};
  for (const auto& run : runs) {
    const std::string where = std::string(path_name(run.path)) + ", B=" + std::to_string(run.shape.batch) +
                              " T=" + std::to_string(run.shape.length);
    torch::manual_seed(21);
    auto x = torch::randn({run.shape.batch, run.shape.length, m->config().d_model});
    auto cotangent = torch::randn_like(x);
    const auto ref = run_layer(layer, x, cotangent, true, Path::Rows);
    const auto fast = run_layer(layer, x, cotangent, false, run.path);
    EXPECT_LT(tu::max_rel_diff(fast.y, ref.y), kValueTolerance) << where;
    EXPECT_LT((fast.probs - ref.probs).abs().max().item<double>(), kValueTolerance) << where;
    EXPECT_LT(tu::max_rel_diff(fast.dx, ref.dx), kGradTolerance) << where << ": d/dx";
    ASSERT_EQ(ref.grads.size(), layer.parameters().size()) << where << ": every parameter gets a gradient";
    expect_same_gradients(layer, fast, ref, where);
  }
}

// LibTorch 2.x: without a probe the layer runs at::scaled_dot_product_attention (talking heads
// keep the explicit path: SDPA cannot mix heads), with the reference's values and gradients.
TEST_P(AttentionEquivalence, SdpaPathMatchesReferenceValuesAndGradients) {
  if (!sdpa_available()) GTEST_SKIP() << "LibTorch " << TORCH_VERSION << " has no scaled_dot_product_attention (2.0 on)";
  const auto& tc = GetParam();
  auto m = model_of(tc, 1);
  auto& layer = *m->blocks[0]->attn;
  const std::pair<Shape, Path> runs[] = {{{1, 16}, Path::Rows}, {{2, 40}, Path::FusedModulesInWeights}};
  for (const auto& [shape, path] : runs) {
    const std::string where = std::string(path_name(path)) + ", B=" + std::to_string(shape.batch) +
                              " T=" + std::to_string(shape.length);
    torch::manual_seed(22);
    auto x = torch::randn({shape.batch, shape.length, m->config().d_model});
    auto cotangent = torch::randn_like(x);
    const auto ref = run_layer(layer, x, cotangent, true, Path::Rows);
    const auto fast = run_layer(layer, x, cotangent, false, path, false);
    EXPECT_EQ(fast.sdpa_forwards, tc.talking ? 0 : 1) << where;
    EXPECT_LT(tu::max_rel_diff(fast.y, ref.y), kValueTolerance) << where;
    EXPECT_LT(tu::max_rel_diff(fast.dx, ref.dx), kGradTolerance) << where << ": d/dx";
    expect_same_gradients(layer, fast, ref, where);
    // Asked for the probabilities (a probe step), the layer takes the explicit path.
    EXPECT_EQ(run_layer(layer, x, cotangent, false, path, true).sdpa_forwards, 0) << where;
  }
  // A cached chunk after a prompt: SDPA with the offset causal mask (query t sees keys up to
  // prompt + t), the logits of recomputing the whole sequence.
  torch::NoGradGuard no_grad;
  auto m2 = model_of(tc, 2);
  auto tokens = tu::sample_tokens(1, 12, m2->config().vocab_size, 3);
  for (auto& b : m2->blocks) attention_paths(*b->attn).reference = true;
  const auto expected = tu::logits_of(m2, tokens)[0].slice(0, 5, 12);
  for (auto& b : m2->blocks) attention_paths(*b->attn).reference = false;
  KVCache cache;
  ForwardOptions options;
  options.cache = &cache;
  m2->forward(tokens.slice(1, 0, 5), options);
  const auto chunk = m2->forward(tokens.slice(1, 5, 12), options).logits[0];
  EXPECT_LT(tu::max_rel_diff(chunk, expected), kValueTolerance);
  int64_t sdpa = 0;
  for (auto& b : m2->blocks) sdpa += attention_paths(*b->attn).sdpa_forwards;
  EXPECT_EQ(sdpa, tc.talking ? 0 : 4);  // two layers, two forwards each
}

// ---- the whole model with the KV cache: greedy decoding, token by token or a prompt chunk
// then tokens, gives at every step the logits of recomputing the whole sequence.

void use_reference(Transformer& m, bool on) {
  for (auto& b : m->blocks) attention_paths(*b->attn).reference = on;
}

torch::Tensor full_logits(Transformer& m, const std::vector<int64_t>& tokens) {
  use_reference(m, true);
  auto logits = tu::logits_of(m, torch::tensor(tokens).view({1, -1}));
  use_reference(m, false);
  return logits[0];
}

enum class Decoder { FastTokens, FastChunk, ReferenceTokens, ReferenceChunk, Alternating };

void expect_cached_decoding_matches_recompute(Transformer& m, int64_t prompt_length, int64_t new_tokens,
                                              Decoder decoder, const std::string& where) {
  torch::NoGradGuard no_grad;
  auto prompt_tensor = tu::sample_tokens(1, prompt_length, m->config().vocab_size, 5);
  std::vector<int64_t> tokens(prompt_tensor.data_ptr<int64_t>(), prompt_tensor.data_ptr<int64_t>() + prompt_length);
  const bool chunk = decoder == Decoder::FastChunk || decoder == Decoder::ReferenceChunk;
  KVCache cache;
  ForwardOptions options;
  options.cache = &cache;
  int64_t step = 0;
  auto feed = [&](const std::vector<int64_t>& piece) {
    const bool ref = decoder == Decoder::ReferenceTokens || decoder == Decoder::ReferenceChunk ||
                     (decoder == Decoder::Alternating && step % 2 == 1);
    ++step;
    use_reference(m, ref);
    auto logits = m->forward(torch::tensor(piece).view({1, -1}), options).logits[0];
    use_reference(m, false);
    return logits;  // [piece, V]
  };
  torch::Tensor last;
  if (chunk) {
    auto logits = feed(tokens);
    EXPECT_LT(tu::max_rel_diff(logits, full_logits(m, tokens)), kValueTolerance) << where << ": the prompt chunk";
    last = logits[-1];
  } else {
    for (int64_t t = 0; t < prompt_length; ++t) last = feed({tokens[t]})[-1];
  }
  for (int64_t i = 0; i < new_tokens; ++i) {
    tokens.push_back(last.argmax().item<int64_t>());
    last = feed({tokens.back()})[-1];
    auto expected = full_logits(m, tokens)[-1];
    ASSERT_LT(tu::max_rel_diff(last, expected), kValueTolerance) << where << ": token " << tokens.size() - 1;
  }
  EXPECT_EQ(cache.length(), static_cast<int64_t>(tokens.size())) << where;
}

TEST_P(AttentionEquivalence, CachedDecodingMatchesRecomputing) {
  const auto& tc = GetParam();
  auto m = model_of(tc, 2);
  // Short: 5 + 8 tokens. Long: a 66-token prompt, so that the recomputation runs the fused
  // path (>= 64 rows) while the cached prompt chunk runs the rows path.
  const std::pair<Decoder, const char*> decoders[] = {{Decoder::FastTokens, "fast, token by token"},
                                                      {Decoder::FastChunk, "fast, prompt chunk"},
                                                      {Decoder::ReferenceTokens, "reference, token by token"},
                                                      {Decoder::ReferenceChunk, "reference, prompt chunk"},
                                                      {Decoder::Alternating, "fast and reference in turn"}};
  for (const auto& [decoder, name] : decoders) expect_cached_decoding_matches_recompute(m, 5, 8, decoder, name);
  expect_cached_decoding_matches_recompute(m, 66, 3, Decoder::FastChunk, "fast, long prompt chunk");
}

INSTANTIATE_TEST_SUITE_P(Matrix, AttentionEquivalence, ::testing::ValuesIn(all_cases()),
                         [](const auto& info) { return info.param.name; });

// Frozen and bypassed modules: the fast paths skip and freeze them exactly as the reference.
TEST(AttentionEquivalenceStates, FrozenAndBypassedModules) {
  EqCase tc{"gqa_states", AttentionLayout::Gqa, 2, {KhaMode::Linear, KhaMode::Linear, KhaMode::Mlp}};
  tc.mea = tc.talking = true;
  auto m = model_of(tc, 1);
  m->set_module_state(0, ModuleKind::Kha, ModuleState::Frozen);
  m->set_module_state(0, ModuleKind::TalkingHeads, ModuleState::Bypassed);
  auto& layer = *m->blocks[0]->attn;
  torch::manual_seed(4);
  auto x = torch::randn({2, 40, m->config().d_model});
  auto cotangent = torch::randn_like(x);
  const auto ref = run_layer(layer, x, cotangent, true, Path::Rows);
  for (Path p : {Path::Rows, Path::FusedModulesInWeights, Path::FusedShared}) {
    const auto fast = run_layer(layer, x, cotangent, false, p);
    EXPECT_LT(tu::max_rel_diff(fast.y, ref.y), kValueTolerance) << path_name(p);
    EXPECT_EQ(fast.grads.count("kha.t_q"), 0u) << path_name(p);
    EXPECT_EQ(fast.grads.count("talking.pre"), 0u) << path_name(p);
    expect_same_gradients(layer, fast, ref, path_name(p));
  }
}

// The acceptance check: one key/value head, QK norm on, a short sequence, batch 1:
// the whole model's logits match the reference path to 1e-5, on a first and a second call.
TEST(AttentionEquivalenceMqa, ShortSequenceLogitsMatchReferenceTwice) {
  for (auto layout : {AttentionLayout::Mqa, AttentionLayout::Gqa}) {
    EqCase tc{"mqa", layout, 1, {KhaMode::Linear, KhaMode::Linear, KhaMode::Linear}};
    tc.mea = true;
    auto m = model_of(tc, 2);
    auto tokens = tu::sample_tokens(1, 16, m->config().vocab_size, 9);
    std::vector<int64_t> list(tokens.data_ptr<int64_t>(), tokens.data_ptr<int64_t>() + 16);
    const auto expected = full_logits(m, list);
    for (int call = 0; call < 2; ++call)
      EXPECT_LT(tu::max_rel_diff(tu::logits_of(m, tokens)[0], expected), 1e-5) << to_string(layout) << ", call " << call;
  }
}

}  // namespace
