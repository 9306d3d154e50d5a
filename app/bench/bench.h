#pragma once
// headlab-bench: training and inference throughput of HeadLab against its PyTorch reference.
// The grid, the timing discipline and the report live here; the measuring is in
// train_bench.cpp, infer_bench.cpp, system_info.cpp and reference_runner.cpp.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace headlab::bench {

// One model size of the grid with its batch shape.
struct SizeSpec {
  std::string name;  // "tiny-s128", "10m-s256", ...
  nlohmann::json model;  // the base model block (mha, no modules)
  int64_t batch_size = 0, seq_len = 0;
  int64_t steps = 5, windows = 5, warmup = 3;  // per timed window, timed windows, untimed first
  bool all_variants = true;    // false: only the baseline and GQA (long-sequence rows)
  bool reference_all = true;   // the PyTorch reference for every variant (false: mha only)
  bool probes = false;         // live-probe overhead on this size
  int64_t probe_interval = 50;         // the presets' default: a probe every 50 steps
  int64_t probe_direct_windows = 0;    // also measure it end to end: pairs of windows
  int64_t decode_tokens = 0;   // inference: tokens decoded after a 16-token prompt (0: skip)
};

// A variant of a size: the model block after its change (layout or modules).
struct Variant {
  std::string name;  // mha, gqa, kha_linear, kha_mlp, mea, talking_heads
  nlohmann::json model;
};

struct BenchOptions {
  bool quick = false;
  std::string filter;   // substring of "size/variant"; empty: all
  int64_t steps = 0;    // steps per timed window (0: per size default)
  int64_t windows = 0;  // timed windows (0: default)
  int64_t warmup = 0;   // untimed steps first (0: default)
  bool reference = true;
  std::string python = "/usr/bin/python3";
  std::string reference_script;  // tests/reference/headlab_reference.py
  std::string device = "cpu";
  int threads = 0;
};

double median(std::vector<double> values);
// The 1-minute load average (/proc/loadavg), -1 when unknown: other processes on a shared
// machine are the main source of noise, so the report records it around every size.
double load_average();

// system_info.cpp
struct SystemInfo {
  std::string runtime;     // runtime_summary()
  std::string blas;        // "OpenBLAS 0.3.21 ..." from openblas_get_config, or the library seen
  int threads = 0;
  std::string cpu;         // /proc/cpuinfo model name x count
  std::string device;
  double matmul_peak_flops = 0;  // best fp32 GEMM rate measured here
  int64_t matmul_size = 0;
};
SystemInfo collect_system_info(const std::string& device, bool quick);
// The best GEMM rate of a few timed square GEMMs (see system_info.cpp); `size` gets their n.
double measure_matmul_peak(const std::string& device, bool quick, int threads, int64_t* size = nullptr);

// FLOPs of one training step (forward + backward) of the model, by the usual estimate:
// 6 x (matmul parameters) x tokens + 12 x layers x heads x head_dim x seq x tokens (QK^T and
// PV over the full causal square, as the kernels compute it). Module matrices are not counted.
double training_flops_per_step(const nlohmann::json& model, int64_t batch_size, int64_t seq_len);

}  // namespace headlab::bench
