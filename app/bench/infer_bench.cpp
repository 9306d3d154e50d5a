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

// One timed prefill of the prompt, then n_tokens greedy steps.
Decoded decode_once(model::Transformer& m, const torch::Tensor& prompt, int64_t n_tokens) {
  torch::NoGradGuard no_grad;
  const auto device = m->device();
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
  return {prompt.size(1) / p, n_tokens / d, static_cast<double>(cache.bytes()) / static_cast<double>(cache.length())};
}

torch::Tensor prompt_logits(model::Transformer& m, const torch::Tensor& prompt) {
  torch::NoGradGuard no_grad;
  return m->logits(prompt.to(m->device())).to(torch::kCPU);
}

InferRow describe(const SizeSpec& size, const std::string& name, model::Transformer& m, const torch::Tensor& prompt,
                  const torch::Tensor& baseline_logits) {
  InferRow r;
  r.size = size.name;
  r.variant = name;
  const auto& c = m->config();
  r.kv_heads = c.kv_heads();
  r.stored_kv_heads = c.stored_kv_heads();
  r.kv_bytes_per_token = c.kv_cache_bytes_per_token();
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
  const torch::Device device(o.device);
  nlohmann::json base = size.model;
  base["vocab_size"] = 62;
  base["format"] = "headlab-model/1";
  const int64_t n = size.decode_tokens;
  const int runs = o.quick ? 2 : 7;
  torch::manual_seed(5);
  const auto prompt = torch::randint(62, {1, 16}, torch::kLong);

  std::vector<std::pair<InferRow, model::Transformer>> models;
  auto plain = make(base, device);
  const auto plain_logits = prompt_logits(plain, prompt);
  models.emplace_back(describe(size, "mha", plain, prompt, {}), plain);
  if (plain->config().kv_heads() >= 2) {
    auto virt = make(base, device);  // the same weights (same seed), then compressed
    model::compress_kv_heads(virt, virt->config().kv_heads() / 2);  // MEA mixing, G / 2 stored heads
    models.emplace_back(describe(size, "mha_virtual_kv_heads", virt, prompt, plain_logits), virt);
  }
  nlohmann::json kha_json = base;
  kha_json["interaction"] = {{"kha", {{"q", "linear"}, {"k", "linear"}, {"v", "linear"}}}};
  auto make_kha = [&] {
    auto kha = make(kha_json, device);
    torch::NoGradGuard g;  // away from identity, as after training
    torch::manual_seed(6);
    for (auto& [name, t] : kha->named_tensors())
      if (name.find(".kha.") != std::string::npos) t.add_(0.05 * torch::randn_like(t));
    return kha;
  };
  auto kha = make_kha();
  const auto kha_logits = prompt_logits(kha, prompt);
  models.emplace_back(describe(size, "kha_linear", kha, prompt, {}), kha);
  auto folded = make_kha();
  model::fold_modules(folded);
  for (int64_t l = 0; l < folded->config().n_layers; ++l)  // at identity after the fold: same function
    folded->set_module_state(l, model::ModuleKind::Kha, model::ModuleState::Bypassed);
  models.emplace_back(describe(size, "kha_linear_folded", folded, prompt, kha_logits), folded);

  // Runs take turns across the variants, so that a machine slowing down for a while slows
  // them alike; the first round warms up.
  std::vector<std::vector<Decoded>> runs_of(models.size());
  for (int r = 0; r <= runs; ++r)
    for (size_t i = 0; i < models.size(); ++i) {
      auto d = decode_once(models[i].second, prompt, n);
      if (r > 0) runs_of[i].push_back(d);
    }
  std::vector<InferRow> rows;
  for (size_t i = 0; i < models.size(); ++i) {
    InferRow row = models[i].first;
    std::vector<double> prefill, decode, vs_mha;
    for (size_t r = 0; r < runs_of[i].size(); ++r) {
      prefill.push_back(runs_of[i][r].prefill_tps);
      decode.push_back(runs_of[i][r].decode_tps);
      vs_mha.push_back(runs_of[0][r].decode_tps / runs_of[i][r].decode_tps);
      row.kv_bytes_per_token_measured = runs_of[i][r].kv_bytes_per_token;
    }
    row.prefill_tokens_per_s = median(prefill);
    row.decode_tokens_per_s = median(decode);
    row.decode_time_vs_mha = median(vs_mha) - 1.0;
    rows.push_back(row);
  }
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
          {"decode_time_vs_mha", decode_time_vs_mha},
          {"max_rel_logit_change", max_rel_logit_change}};
}

}  // namespace headlab::bench
