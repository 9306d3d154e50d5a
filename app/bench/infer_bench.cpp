// Inference: greedy decoding with a KV cache (batch 1, one token per forward), for the plain
// model, the same model with MEA virtual heads (G' = G / 2 by SVD, MODEL.md §6), a model with
// live KHA-linear, and that model folded (KHA folded into wq/wk/wv, then bypassed at identity).
#include <torch/torch.h>

#include <chrono>

#include "bench_runs.h"
#include "model/fold.h"
#include "model/transformer.h"

namespace headlab::bench {
namespace {
using Clock = std::chrono::steady_clock;

struct Decoded {
  double prefill_tps = 0, decode_tps = 0, kv_bytes_per_token = 0;
};

Decoded decode(model::Transformer& m, const torch::Tensor& prompt, int64_t n_tokens, int runs) {
  torch::NoGradGuard no_grad;
  const auto device = m->device();
  std::vector<double> prefill, dec;
  double kv = 0;
  for (int r = 0; r < runs + 1; ++r) {  // the first run warms up
    model::KVCache cache;
    auto t0 = Clock::now();
    auto logits = m->forward(prompt.to(device), {false, &cache}).logits;
    auto next = logits.select(1, -1).argmax(-1).view({1, 1});
    const double p = std::chrono::duration<double>(Clock::now() - t0).count();
    t0 = Clock::now();
    for (int64_t i = 0; i < n_tokens; ++i) {
      logits = m->forward(next, {false, &cache}).logits;
      next = logits.select(1, -1).argmax(-1).view({1, 1});
    }
    next.item<int64_t>();  // waits for the device
    const double d = std::chrono::duration<double>(Clock::now() - t0).count();
    if (r == 0) continue;
    prefill.push_back(prompt.size(1) / p);
    dec.push_back(n_tokens / d);
    kv = static_cast<double>(cache.bytes()) / static_cast<double>(cache.length());
  }
  return {median(prefill), median(dec), kv};
}

torch::Tensor prompt_logits(model::Transformer& m, const torch::Tensor& prompt) {
  torch::NoGradGuard no_grad;
  return m->logits(prompt.to(m->device())).to(torch::kCPU);
}

InferRow row(const SizeSpec& size, const std::string& name, model::Transformer& m, const torch::Tensor& prompt,
             int64_t n, int runs, const torch::Tensor& baseline_logits) {
  InferRow r;
  r.size = size.name;
  r.variant = name;
  const auto& c = m->config();
  r.kv_heads = c.kv_heads();
  r.stored_kv_heads = c.stored_kv_heads();
  r.kv_bytes_per_token = c.kv_cache_bytes_per_token();
  auto d = decode(m, prompt, n, runs);
  r.prefill_tokens_per_s = d.prefill_tps;
  r.decode_tokens_per_s = d.decode_tps;
  r.kv_bytes_per_token_measured = d.kv_bytes_per_token;
  if (baseline_logits.defined()) {
    auto now = prompt_logits(m, prompt);
    r.max_rel_logit_change = ((now - baseline_logits).abs().max() / baseline_logits.abs().max()).item<double>();
  }
  return r;
}

model::Transformer make(const nlohmann::json& model_json, const torch::Device& device) {
  torch::manual_seed(99);
  return model::Transformer(model::ModelConfig::from_json(model_json), device);
}

}  // namespace

std::vector<InferRow> bench_inference(const SizeSpec& size, const BenchOptions& o) {
  std::vector<InferRow> rows;
  const torch::Device device(o.device);
  nlohmann::json base = size.model;
  base["vocab_size"] = 62;
  base["format"] = "headlab-model/1";
  const int64_t n = size.decode_tokens;
  const int runs = o.quick ? 2 : 5;
  torch::manual_seed(5);
  const auto prompt = torch::randint(62, {1, 16}, torch::kLong);

  auto plain = make(base, device);
  const auto plain_logits = prompt_logits(plain, prompt);
  rows.push_back(row(size, "mha", plain, prompt, n, runs, {}));
  const int64_t G = plain->config().kv_heads();
  if (G >= 2) {
    model::compress_kv_heads(plain, G / 2);  // adds MEA (mixing only) and truncates to G / 2 heads
    rows.push_back(row(size, "mha_virtual_kv_heads", plain, prompt, n, runs, plain_logits));
  }

  nlohmann::json kha_json = base;
  kha_json["interaction"] = {{"kha", {{"q", "linear"}, {"k", "linear"}, {"v", "linear"}}}};
  auto kha = make(kha_json, device);
  {
    torch::NoGradGuard g;  // away from identity, as after training
    for (auto& [name, t] : kha->named_tensors())
      if (name.find(".kha.") != std::string::npos) t.add_(0.05 * torch::randn_like(t));
  }
  const auto kha_logits = prompt_logits(kha, prompt);
  rows.push_back(row(size, "kha_linear", kha, prompt, n, runs, {}));
  model::fold_modules(kha);
  for (int64_t l = 0; l < kha->config().n_layers; ++l)  // at identity after the fold: same function
    kha->set_module_state(l, model::ModuleKind::Kha, model::ModuleState::Bypassed);
  rows.push_back(row(size, "kha_linear_folded", kha, prompt, n, runs, kha_logits));
  return rows;
}

nlohmann::json InferRow::to_json() const {
  return {{"size", size},
          {"variant", variant},
          {"kv_heads", kv_heads},
          {"stored_kv_heads", stored_kv_heads},
          {"kv_bytes_per_token", kv_bytes_per_token},
          {"kv_bytes_per_token_measured", kv_bytes_per_token_measured},
          {"prefill_tokens_per_s", prefill_tokens_per_s},
          {"decode_tokens_per_s", decode_tokens_per_s},
          {"max_rel_logit_change", max_rel_logit_change}};
}

}  // namespace headlab::bench
