// headlab-bench: training tokens/s, step time, peak memory and MFU for a grid of model sizes
// and interaction modules, live-probe overhead, KV-cached decoding with and without MEA
// virtual heads, and the same training in the PyTorch reference, side by side. Writes a
// JSON report with --out.
#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "bench_runs.h"
#include "common/runtime.h"
#include "memory_tracker.h"
#include "reference_runner.h"

#ifndef HEADLAB_SOURCE_DIR
#define HEADLAB_SOURCE_DIR "."
#endif

namespace headlab::bench {
namespace {
using nlohmann::json;

json base_model(int64_t d, int64_t layers, int64_t heads, int64_t dh, int64_t d_ff, int64_t seq) {
  return {{"d_model", d}, {"n_layers", layers}, {"n_heads", heads}, {"n_kv_heads", heads}, {"head_dim", dh},
          {"d_ff", d_ff}, {"attention", "mha"}, {"max_seq_len", seq}, {"qk_norm", true}};
}

std::vector<SizeSpec> grid(const BenchOptions& o) {
  std::vector<SizeSpec> sizes;
  auto add = [&](SizeSpec s) { sizes.push_back(std::move(s)); };
  if (o.quick) {
    SizeSpec s{"quick-s32", base_model(32, 2, 4, 8, 64, 32), 4, 32};
    s.steps = 2, s.windows = 3, s.warmup = 1, s.reference_all = false;
    s.probes = true, s.probe_direct_windows = 1, s.decode_tokens = 12;
    add(s);
    return sizes;
  }
  {  // ~0.9M parameters, 2048 tokens a step: per-op overhead matters here
    SizeSpec s{"tiny-s128", base_model(128, 4, 4, 32, 384, 128), 16, 128};
    s.steps = 4, s.windows = 15, s.warmup = 5;
    s.probes = true, s.probe_direct_windows = 5, s.decode_tokens = 100;
    add(s);
  }
  {  // the same model on long rows: attention's T^2 terms dominate
    SizeSpec s{"tiny-s1024", base_model(128, 4, 4, 32, 384, 1024), 2, 1024};
    s.steps = 4, s.windows = 5, s.warmup = 2, s.all_variants = false;
    add(s);
  }
  {  // ~10.8M parameters
    SizeSpec s{"10m-s256", base_model(384, 6, 6, 64, 1024, 256), 8, 256};
    s.steps = 2, s.windows = 7, s.warmup = 2;
    s.probes = true, s.decode_tokens = 200;
    add(s);
  }
  if (torch::Device(o.device).is_cuda()) {  // ~125M parameters, GPT-2 small's shape
    SizeSpec s{"125m-s1024", base_model(768, 12, 12, 64, 2048, 1024), 8, 1024};
    s.steps = 10, s.windows = 5, s.warmup = 5;
    s.probes = true, s.decode_tokens = 200;
    add(s);
  }
  return sizes;
}

std::vector<Variant> variants_of(const SizeSpec& s) {
  std::vector<Variant> v;
  auto with = [&](const std::string& name, json interaction) {
    json m = s.model;
    m["interaction"] = std::move(interaction);
    v.push_back({name, m});
  };
  v.push_back({"mha", s.model});
  json gqa = s.model;
  gqa["attention"] = "gqa";
  gqa["n_kv_heads"] = s.model["n_heads"].get<int64_t>() / 2;
  v.push_back({"gqa", gqa});
  if (!s.all_variants) return v;
  with("kha_linear", {{"kha", {{"q", "linear"}, {"k", "linear"}, {"v", "linear"}}}});
  with("kha_mlp", {{"kha", {{"v", "mlp"}}}});
  with("mea", {{"mea", {{"enabled", true}, {"group_norm", true}}}});
  with("talking_heads", {{"talking_heads", {{"enabled", true}}}});
  return v;
}

std::string fmt(const char* f, double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, x);
  return buf;
}

void print_size(const SizeResult& r) {
  std::printf("\n== %s: batch %ld x seq %ld, %d row shard%s a step (load average %.1f -> %.1f on %u cores) ==\n",
              r.size.name.c_str(), static_cast<long>(r.size.batch_size), static_cast<long>(r.size.seq_len), r.shards,
              r.shards == 1 ? "" : "s", r.load_before, r.load_after, std::thread::hardware_concurrency());
  std::printf("%-14s %9s %11s %9s %7s %9s %9s %11s %8s\n", "variant", "params", "tokens/s", "step ms", "MFU",
              "peak MB", "vs mha", "ref tok/s", "HL/ref");
  for (const auto& t : r.rows) {
    std::printf("%-14s %9ld %11.0f %9.2f %6.1f%% %9.1f %8.1f%% %11s %8s\n", t.variant.c_str(),
                static_cast<long>(t.params), t.tokens_per_s, t.step_ms, 100 * t.mfu, t.peak_tensor_bytes / 1048576.0,
                100 * t.overhead, t.ref_tokens_per_s ? fmt("%.0f", *t.ref_tokens_per_s).c_str() : "-",
                t.ref_tokens_per_s ? fmt("%.2fx", t.over_reference).c_str() : "-");
    if (!t.ref_error.empty()) std::printf("    reference failed: %s\n", t.ref_error.c_str());
  }
  for (const auto& p : r.probes)
    std::printf("probe %-14s every %ld steps: %.1f ms per probe, step %.2f ms -> overhead %.1f%% (amortized)%s\n",
                p.variant.c_str(), static_cast<long>(p.interval), p.probe_ms, p.step_ms, 100 * p.overhead_amortized,
                p.direct_windows > 0 ? fmt(", %.1f%% measured", 100 * p.overhead_measured).c_str() : "");
  if (!r.inference.empty()) {
    std::printf("%-22s %8s %10s %10s %12s %11s %12s %12s\n", "inference", "kv heads", "KV B/tok", "measured",
                "decode tok/s", "time vs mha", "prefill t/s", "logit change");
    for (const auto& i : r.inference)
      std::printf("%-22s %4ld/%-3ld %10ld %10.0f %12.1f %10.1f%% %12.1f %12.2e\n", i.variant.c_str(),
                  static_cast<long>(i.stored_kv_heads), static_cast<long>(i.kv_heads),
                  static_cast<long>(i.kv_bytes_per_token), i.kv_bytes_per_token_measured, i.decode_tokens_per_s,
                  100 * i.decode_time_vs_mha, i.prefill_tokens_per_s, i.max_rel_logit_change);
  }
  std::fflush(stdout);
}

// The CPU targets, evaluated on the rows that exist.
// --filter: comma-separated substrings, a row runs when any of them is in 'size/variant'.
bool selected(const std::string& filter, const std::string& row) {
  if (filter.empty()) return true;
  size_t begin = 0;
  while (begin <= filter.size()) {
    const size_t end = std::min(filter.find(',', begin), filter.size());
    const std::string part = filter.substr(begin, end - begin);
    if (!part.empty() && row.find(part) != std::string::npos) return true;
    begin = end + 1;
  }
  return false;
}

json evaluate_targets(const std::vector<SizeResult>& results) {
  json targets = json::array();
  auto find = [&](const std::string& size, const std::string& variant) -> const TrainRow* {
    for (const auto& r : results)
      for (const auto& t : r.rows)
        if (t.size == size && t.variant == variant) return &t;
    return nullptr;
  };
  auto add = [&](const std::string& name, double value, double limit, bool at_least) {
    targets.push_back({{"target", name}, {"value", value}, {"limit", limit},
                       {"met", at_least ? value >= limit : value <= limit}});
  };
  for (auto [size, limit] : {std::pair<const char*, double>{"tiny-s128", 1.3}, {"10m-s256", 1.0}})
    if (auto* t = find(size, "mha"); t && t->ref_tokens_per_s)
      add(std::string("HeadLab / reference, ") + size + " mha", t->over_reference, limit, true);
  for (auto [variant, limit] : {std::pair<const char*, double>{"kha_linear", 0.03}, {"mea", 0.05}})
    if (auto* t = find("10m-s256", variant); t && find("10m-s256", "mha"))
      add(std::string("training overhead, 10m-s256 ") + variant, t->overhead, limit, false);
  for (const auto& r : results)
    for (const auto& p : r.probes)
      if (p.variant == "mha")
        add("probe overhead (every " + std::to_string(p.interval) + " steps), " + p.size + " mha",
            p.direct_windows > 0 ? p.overhead_measured : p.overhead_amortized, 0.05, false);
  return targets;
}

}  // namespace
}  // namespace headlab::bench

int main(int argc, char** argv) {
  using namespace headlab::bench;
  // Spinning OpenMP workers made steps up to 10x slower for HeadLab and the reference alike on
  // a loaded 2-core machine; the reference inherits the policy.
  headlab::prefer_passive_openmp_waiting(argv);
  CLI::App app{"headlab-bench: HeadLab training/inference throughput against the PyTorch reference"};
  BenchOptions o;
  o.reference_script = std::string(HEADLAB_SOURCE_DIR) + "/tests/reference/headlab_reference.py";
  std::string out;
  bool no_reference = false;
  app.add_flag("--quick", o.quick, "Tiny sizes and few steps (the smoke test)");
  app.add_option("--filter", o.filter, "Only rows whose 'size/variant' contains this (or any of a comma-separated list), e.g. 10m or 10m-s256/mha,/kha_linear");
  app.add_option("--steps", o.steps, "Steps per timed window (default: per size)");
  app.add_option("--windows", o.windows, "Timed windows; the median is reported (default: per size)");
  app.add_option("--warmup", o.warmup, "Untimed steps before timing (default: per size)");
  app.add_option("--threads", o.threads, "Intra-op threads for HeadLab and the reference (default: all cores)");
  app.add_option("--device", o.device, "cpu, cuda or auto");
  app.add_flag("--no-reference", no_reference, "Skip the PyTorch reference");
  app.add_option("--python", o.python, "Python interpreter with torch for the reference");
  app.add_option("--reference-script", o.reference_script, "Path of headlab_reference.py");
  app.add_option("--out", out, "Write the JSON report here");
  int data_parallel = 0;
  app.add_option("--data-parallel", data_parallel,
                 "Instead of the grid: training with N local ranks (c10d Gloo, 1 thread each) against 1 rank, and the "
                 "allreduce share of the step")
      ->check(CLI::Range(2, 64));
  std::string open_model;
  int64_t probe_tokens = 256;
  app.add_option("--open-model", open_model, "Time opening this model directory (HeadLab or Hugging Face) and one probe; peak RSS");
  app.add_option("--probe-tokens", probe_tokens, "Tokens of the --open-model probe")->check(CLI::Range(2, 1 << 20));
  std::string profile;
  app.add_option("--profile", profile,
                 "Write a Chrome trace of a few training steps of each selected row to FILE-size-variant.json "
                 "(LibTorch's profiler) instead of benchmarking");
  CLI11_PARSE(app, argc, argv);
  std::signal(SIGPIPE, SIG_IGN);  // a reference that dies is reported, not fatal
  try {
    if (is_data_parallel_worker()) return run_data_parallel_worker(o);
    if (!open_model.empty()) {
      headlab::configure_threads(o.threads);
      const auto result = bench_open_model(open_model, probe_tokens);
      if (!out.empty()) std::ofstream(out) << nlohmann::json{{"headlab_bench", 1}, {"open_model", result}}.dump(2) << "\n";
      return 0;
    }
    if (data_parallel > 0) {
      const auto result = bench_data_parallel(data_parallel, o, std::vector<std::string>(argv, argv + argc));
      if (!out.empty()) std::ofstream(out) << nlohmann::json{{"headlab_bench", 1}, {"data_parallel", result}}.dump(2) << "\n";
      return 0;
    }
    o.reference = !no_reference;
    o.device = headlab::resolve_device_name(o.device);
    o.threads = headlab::configure_threads(o.threads);
    install_memory_tracker();
    auto sys = collect_system_info(o.device, o.quick);
    std::printf("headlab-bench%s on %s\n%s\nCPU: %s\nfp32 matmul peak (%ldx%ld GEMM, best of several, one GEMM on all threads or one per thread; timed again before each size and the best counts): %.1f GFLOP/s\n",
                o.quick ? " --quick" : "", o.device.c_str(), sys.runtime.c_str(), sys.cpu.c_str(),
                static_cast<long>(sys.matmul_size), static_cast<long>(sys.matmul_size), sys.matmul_peak_flops / 1e9);
    std::printf("OpenMP wait policy: %s\n", std::getenv("OMP_WAIT_POLICY") ? std::getenv("OMP_WAIT_POLICY") : "default");
    std::printf("timing: median of timed windows after warm-up; variants and the reference take turns window by "
                "window;\n        'vs mha' and 'HL/ref' are medians of the per-window ratios\nmemory: peak bytes of CPU tensors (counting allocator), model + grads + AdamW + activations\n");
    std::unique_ptr<ReferenceProcess> ref;
    std::string ref_why = "disabled with --no-reference";
    if (o.reference) {
      ref = ReferenceProcess::start(o.python, o.reference_script, o.threads, &ref_why);
      if (ref) std::printf("reference: %s (PyTorch %s, %d threads)\n", o.reference_script.c_str(),
                           ref->hello().value("torch", "?").c_str(), ref->hello().value("threads", 0));
      else std::printf("reference: unavailable: %s\n", ref_why.c_str());
    }
    std::fflush(stdout);

    std::vector<SizeResult> results;
    for (const auto& size : grid(o)) {
      std::vector<Variant> vs;
      for (auto& v : variants_of(size))
        if (selected(o.filter, size.name + "/" + v.name)) vs.push_back(v);
      const bool inference = size.decode_tokens > 0 && selected(o.filter, size.name + "/inference");
      if (!profile.empty()) {
        for (const auto& v : vs) profile_training(size, v, o, profile + "-" + size.name + "-" + v.name + ".json");
        continue;
      }
      if (vs.empty() && !inference) continue;
      const double load_before = load_average();
      // A peak timed while the machine was busy would inflate MFU: keep the best seen so far.
      sys.matmul_peak_flops = std::max(sys.matmul_peak_flops, measure_matmul_peak(o.device, o.quick, sys.threads));
      SizeResult r;
      r.size = size;
      if (!vs.empty()) r = bench_training(size, vs, o, sys, ref.get());
      if (inference) r.inference = bench_inference(size, o);
      r.load_before = load_before;
      r.load_after = load_average();
      print_size(r);
      results.push_back(std::move(r));
    }
    nlohmann::json report = {
        {"headlab_bench", 1},
        {"quick", o.quick},
        {"machine",
         {{"runtime", sys.runtime}, {"blas", sys.blas}, {"threads", sys.threads}, {"cpu", sys.cpu},
          {"omp_wait_policy", std::getenv("OMP_WAIT_POLICY") ? std::getenv("OMP_WAIT_POLICY") : "default"},
          {"device", sys.device}, {"matmul_peak_flops", sys.matmul_peak_flops}, {"matmul_size", sys.matmul_size}}},
        {"method",
         {{"timing", "median of timed windows after warm-up; variants and the reference alternate window by window"},
          {"memory", "peak bytes of CPU tensors through a counting wrapper of LibTorch's CPU allocator "
                     "(model, gradients, AdamW moments, activations; not BLAS scratch)"},
          {"mfu", "training FLOPs (6 x matmul params x tokens + 12 x layers x heads x head_dim x seq x tokens) "
                  "per second over the measured fp32 GEMM peak"},
          {"ratios", "overhead_vs_mha and headlab_over_reference: medians of per-round window ratios"},
          {"cpu_shards", "CPU training steps split the batch rows over one single-threaded shard per intra-op thread "
                         "(train.cpu_shards 0); per size in training_shards"},
          {"probes", "amortized: median probe time / (interval x median step time); measured: windows of "
                     "`interval` steps with one probe vs without, alternating"}}},
        {"reference", ref ? nlohmann::json{{"available", true}, {"script", o.reference_script}, {"torch", ref->hello().value("torch", "?")}}
                          : nlohmann::json{{"available", false}, {"why", ref_why}}},
        {"training", nlohmann::json::array()},
        {"probes", nlohmann::json::array()},
        {"inference", nlohmann::json::array()},
        {"targets", evaluate_targets(results)}};
    report["load_average"] = nlohmann::json::array();
    for (const auto& r : results) {
      report["load_average"].push_back({{"size", r.size.name}, {"before", r.load_before}, {"after", r.load_after}});
      report["training_shards"][r.size.name] = r.shards;
      for (const auto& t : r.rows) report["training"].push_back(t.to_json());
      for (const auto& p : r.probes) report["probes"].push_back(p.to_json());
      for (const auto& i : r.inference) report["inference"].push_back(i.to_json());
    }
    std::printf("\ntargets (the issue's, on this machine):\n");
    for (const auto& t : report["targets"])
      std::printf("  %-55s %8.3f (limit %.2f) %s\n", t["target"].get<std::string>().c_str(), t["value"].get<double>(),
                  t["limit"].get<double>(), t["met"].get<bool>() ? "met" : "NOT MET");
    if (!out.empty()) {
      std::ofstream f(out);
      f << report.dump(2) << "\n";
      if (!f) throw std::runtime_error("cannot write " + out);
      std::printf("report: %s\n", out.c_str());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
