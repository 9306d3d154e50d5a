// headlab-bench --open-model DIR: what opening a (pretrained) model costs, as the GUI does it:
// load the weights (memory-mapped, decoded into float32), then one probe of N tokens with every
// layer x head attention map. Peak RSS against the float32 model's bytes is the memory target
// (at most 1.3x: no double copies of the weights).
#include <chrono>
#include <cstdio>

#include "bench_runs.h"
#include "io/model_io.h"
#include "memory_tracker.h"
#include "probe/probe_runner.h"

namespace headlab::bench {

nlohmann::json bench_open_model(const std::string& dir, int64_t probe_tokens) {
  using clock = std::chrono::steady_clock;
  auto seconds = [](clock::time_point from) { return std::chrono::duration<double>(clock::now() - from).count(); };
  reset_rss_peak();
  const int64_t rss_before = rss_bytes();
  auto started = clock::now();
  auto model = io::load_model(dir);
  const double load_s = seconds(started);
  const int64_t rss_after_load = rss_peak_bytes();
  double parameters = 0;
  for (const auto& p : model->parameters()) parameters += static_cast<double>(p.numel());
  const auto& c = model->config();
  const int64_t n = std::min<int64_t>(probe_tokens, c.max_seq_len);
  std::vector<int64_t> tokens(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) tokens[static_cast<size_t>(i)] = (i * 7919 + 13) % c.vocab_size;  // spread over the vocabulary
  started = clock::now();
  const auto snap = probe::run_probe(model, tokens, {}, 0);
  const double probe_s = seconds(started);
  const double float32_bytes = 4 * parameters;
  const double peak_over_model = static_cast<double>(rss_peak_bytes() - rss_before) / float32_bytes;
  std::printf("open %s: %.0fM parameters, %lld layers x %d heads\n  load %.2f s (peak RSS over the start %.0f MB "
              "after loading = %.2fx the float32 model)\n  probe of %lld tokens (%lld attention maps, %zu head "
              "ablations) %.2f s; peak RSS over the start %.2fx the float32 model\n",
              dir.c_str(), parameters / 1e6, static_cast<long long>(c.n_layers), snap.n_heads, load_s,
              static_cast<double>(rss_after_load - rss_before) / 1e6,
              static_cast<double>(rss_after_load - rss_before) / float32_bytes, static_cast<long long>(n),
              static_cast<long long>(c.n_layers * c.n_heads), snap.head_ablations.size(), probe_s, peak_over_model);
  return {{"model", dir},
          {"parameters", parameters},
          {"load_seconds", load_s},
          {"load_peak_rss_over_float32_model", static_cast<double>(rss_after_load - rss_before) / float32_bytes},
          {"probe_tokens", n},
          {"probe_seconds", probe_s},
          {"attention_maps", c.n_layers * c.n_heads},
          {"peak_rss_over_float32_model", peak_over_model}};
}

}  // namespace headlab::bench
