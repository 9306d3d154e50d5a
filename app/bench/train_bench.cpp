// Training throughput of one size: every variant trains in its own Trainer (the real training
// step: data, forward, backward, clipping, AdamW, metrics), timed in windows that take turns
// with the other variants and with the PyTorch reference, so that a machine that slows down
// for a while slows every contestant alike.
#include <torch/torch.h>
#if __has_include(<torch/csrc/autograd/profiler_legacy.h>)
#include <torch/csrc/autograd/profiler_legacy.h>
#define HEADLAB_BENCH_PROFILER 1
#endif

#include <chrono>
#include <cmath>
#include <cstdio>

#include "bench_runs.h"
#include "common/runtime.h"
#include "memory_tracker.h"
#include "probe/probe_runner.h"
#include "reference_runner.h"
#include "train/sharded_backward.h"
#include "run/run_driver.h"

namespace headlab::bench {
namespace {
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

nlohmann::json experiment_json(const Variant& v, const SizeSpec& size, const BenchOptions& o) {
  return {{"model", v.model},
          {"data", {{"task", "induction"}, {"n_symbols", 62}}},
          {"train",
           {{"steps", 1000000000}, {"batch_size", size.batch_size}, {"seq_len", size.seq_len}, {"warmup_steps", 10},
            {"eval_every", 0}, {"log_every", 1000000000}, {"seed", 1234}, {"device", o.device}}}};
}

struct Contestant {
  Variant variant;
  std::unique_ptr<run::RunDriver> run;
  std::vector<double> window_s, ref_window_s;
  int64_t peak_bytes = 0;
  int64_t ref_params = 0;
  bool ref = false;
  std::string ref_error;
};

void run_window(run::RunDriver& t, int64_t steps, const torch::Device& device) {
  for (int64_t i = 0; i < steps; ++i) {
    auto r = t.step();
    if (r.outcome != train::StepOutcome::Trained) throw std::runtime_error("a benchmark step did not train");
  }
  if (device.is_cuda()) torch::cuda::synchronize();
}

// One probe exactly as the live session takes it (the run's probe input; attention maps, head
// statistics, module matrices, per-module ablations).
double probe_seconds(run::RunDriver& r) {
  const auto t0 = Clock::now();
  r.probe();
  return seconds_since(t0);
}

}  // namespace

SizeResult bench_training(const SizeSpec& size, const std::vector<Variant>& variants, const BenchOptions& o,
                          const SystemInfo& sys, ReferenceProcess* ref) {
  SizeResult out;
  out.size = size;
  const torch::Device device(o.device);
  if (device.is_cpu()) out.shards = train::shard_count(0, at::get_num_threads(), size.batch_size);
  const int64_t steps = o.steps > 0 ? o.steps : size.steps;
  const int64_t windows = o.windows > 0 ? o.windows : size.windows;
  const int64_t warmup = o.warmup > 0 ? o.warmup : size.warmup;
  std::vector<Contestant> cs;
  for (const auto& v : variants) {
    Contestant c;
    c.variant = v;
    // Peak tensor memory of this run: model, gradients, optimizer moments and activations.
    const int64_t live_before = tensor_bytes_live();
    reset_tensor_peak();
    c.run = std::make_unique<run::RunDriver>(train::ExperimentConfig::from_json(experiment_json(v, size, o)), std::filesystem::path());
    run_window(*c.run, warmup, device);
    c.peak_bytes = tensor_bytes_peak() - live_before;
    c.variant.model = c.run->trainer().model()->config().to_json();  // resolved: vocab, tokenizer
    if (ref && (size.reference_all || v.name == "mha")) {
      try {
        auto reply = ref->request({{"cmd", "setup"}, {"id", size.name + "/" + v.name}, {"config", c.variant.model},
                                   {"batch_size", size.batch_size}, {"seq_len", size.seq_len}, {"warmup", warmup},
                                   {"device", o.device}});
        c.ref_params = reply.value("params", int64_t{0});
        c.ref = true;
      } catch (const std::exception& e) {
        c.ref_error = e.what();
      }
    }
    std::fprintf(stderr, "  %s/%s ready\n", size.name.c_str(), v.name.c_str());
    cs.push_back(std::move(c));
  }
  for (int64_t w = 0; w < windows; ++w) {
    for (auto& c : cs) {
      const auto t0 = Clock::now();
      run_window(*c.run, steps, device);
      c.window_s.push_back(seconds_since(t0));
      if (c.ref) c.ref_window_s.push_back(ref->request({{"cmd", "window"}, {"id", size.name + "/" + c.variant.name},
                                                        {"steps", steps}})["seconds"].get<double>());
    }
    std::fprintf(stderr, "  %s window %ld/%ld\n", size.name.c_str(), static_cast<long>(w + 1), static_cast<long>(windows));
  }
  const double tokens = static_cast<double>(size.batch_size * size.seq_len * steps);
  for (auto& c : cs) {
    TrainRow r;
    r.size = size.name;
    r.variant = c.variant.name;
    r.params = 0;
    for (const auto& [name, t] : c.run->trainer().model()->named_tensors()) r.params += t.numel();
    r.batch_size = size.batch_size;
    r.seq_len = size.seq_len;
    r.steps_per_window = steps;
    for (double s : c.window_s) r.window_tokens_per_s.push_back(tokens / s);
    r.tokens_per_s = median(r.window_tokens_per_s);
    r.step_ms = median(c.window_s) * 1000.0 / steps;
    r.flops_per_step = training_flops_per_step(c.variant.model, size.batch_size, size.seq_len);
    r.achieved_flops = r.flops_per_step / (r.step_ms / 1000.0);
    r.mfu = sys.matmul_peak_flops > 0 ? r.achieved_flops / sys.matmul_peak_flops : 0;
    r.peak_tensor_bytes = c.peak_bytes;
    r.final_loss = c.run->trainer().metrics().empty() ? NAN : c.run->trainer().metrics().back().loss;
    if (c.ref && !c.ref_window_s.empty()) {
      std::vector<double> rates, ratios;
      for (double s : c.ref_window_s) rates.push_back(tokens / s);
      // Each reference window runs right after HeadLab's window of the same round.
      for (size_t w = 0; w < c.ref_window_s.size() && w < c.window_s.size(); ++w)
        ratios.push_back(c.ref_window_s[w] / c.window_s[w]);
      r.ref_tokens_per_s = median(rates);
      r.over_reference = median(ratios);
      r.ref_window_tokens_per_s = rates;
      r.ref_params = c.ref_params;
      ref->request({{"cmd", "drop"}, {"id", size.name + "/" + c.variant.name}});
    }
    r.ref_error = c.ref_error;
    out.rows.push_back(r);
  }
  // Overhead of each variant against the plain MHA model of the same size, in step time.
  const Contestant* base = nullptr;
  for (const auto& c : cs)
    if (c.variant.name == "mha") base = &c;
  for (size_t i = 0; base && i < cs.size(); ++i) {
    std::vector<double> ratios;
    for (size_t w = 0; w < cs[i].window_s.size() && w < base->window_s.size(); ++w)
      ratios.push_back(cs[i].window_s[w] / base->window_s[w]);
    out.rows[i].overhead = median(ratios) - 1.0;
  }

  if (size.probes) {
    for (auto& c : cs) {
      // Amortized: the median probe against `interval` median steps.
      std::vector<double> probe_s;
      for (int i = 0; i < (o.quick ? 2 : 5); ++i) probe_s.push_back(probe_seconds(*c.run));
      ProbeRow p;
      p.size = size.name;
      p.variant = c.variant.name;
      p.interval = size.probe_interval;
      p.probe_ms = median(probe_s) * 1000.0;
      for (const auto& r : out.rows)
        if (r.variant == c.variant.name) p.step_ms = r.step_ms;
      p.overhead_amortized = p.probe_ms / (p.interval * p.step_ms);
      out.probes.push_back(p);
    }
    // Measured: windows of `interval` steps, with and without one probe, taking turns.
    if (size.probe_direct_windows > 0) {
      // The median of per-pair ratios: the two windows of a pair are adjacent in time.
      auto& c = cs.front();
      std::vector<double> ratios;
      for (int64_t w = 0; w < size.probe_direct_windows; ++w) {
        auto t0 = Clock::now();
        run_window(*c.run, size.probe_interval, device);
        const double without = seconds_since(t0);
        t0 = Clock::now();
        run_window(*c.run, size.probe_interval, device);
        probe_seconds(*c.run);
        ratios.push_back(seconds_since(t0) / without);
      }
      auto& p = out.probes.front();
      p.direct_windows = size.probe_direct_windows;
      p.overhead_measured = median(ratios) - 1.0;
    }
  }
  return out;
}

void profile_training(const SizeSpec& size, const Variant& variant, const BenchOptions& o, const std::string& file) {
#ifdef HEADLAB_BENCH_PROFILER
  run::RunDriver t(train::ExperimentConfig::from_json(experiment_json(variant, size, o)), std::filesystem::path());
  const torch::Device device(o.device);
  run_window(t, o.warmup > 0 ? o.warmup : size.warmup, device);
  {
    torch::autograd::profiler::RecordProfile guard(file);
    run_window(t, o.steps > 0 ? o.steps : 3, device);
  }
  std::printf("trace: %s\n", file.c_str());
#else
  (void)size, (void)variant, (void)o, (void)file;
  throw std::runtime_error("--profile: this LibTorch has no legacy profiler header");
#endif
}

nlohmann::json TrainRow::to_json() const {
  nlohmann::json j = {{"size", size}, {"variant", variant}, {"params", params}, {"batch_size", batch_size},
                      {"seq_len", seq_len}, {"steps_per_window", steps_per_window}, {"tokens_per_s", tokens_per_s},
                      {"window_tokens_per_s", window_tokens_per_s}, {"step_ms", step_ms},
                      {"flops_per_step", flops_per_step}, {"achieved_flops", achieved_flops}, {"mfu", mfu},
                      {"peak_tensor_bytes", peak_tensor_bytes}, {"overhead_vs_mha", overhead},
                      {"final_loss", final_loss}};
  if (ref_tokens_per_s) {
    j["reference"] = {{"tokens_per_s", *ref_tokens_per_s}, {"window_tokens_per_s", ref_window_tokens_per_s},
                      {"params", ref_params}, {"headlab_over_reference", over_reference}};
  } else if (!ref_error.empty()) {
    j["reference"] = {{"error", ref_error}};
  }
  return j;
}

nlohmann::json ProbeRow::to_json() const {
  nlohmann::json j = {{"size", size}, {"variant", variant}, {"interval", interval}, {"probe_ms", probe_ms},
                      {"step_ms", step_ms}, {"overhead_amortized", overhead_amortized}};
  if (direct_windows > 0) j["overhead_measured"] = overhead_measured, j["direct_windows"] = direct_windows;
  return j;
}

}  // namespace headlab::bench
