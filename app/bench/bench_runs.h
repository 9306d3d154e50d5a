#pragma once
// The measurements of headlab-bench and their JSON form.
#include <optional>

#include "bench.h"

namespace headlab::bench {

class ReferenceProcess;

struct TrainRow {
  std::string size, variant;
  int64_t params = 0, batch_size = 0, seq_len = 0, steps_per_window = 0;
  double tokens_per_s = 0, step_ms = 0;  // medians over the timed windows
  std::vector<double> window_tokens_per_s;
  double flops_per_step = 0, achieved_flops = 0, mfu = 0;
  int64_t peak_tensor_bytes = 0;  // counting CPU allocator: model + grads + AdamW + activations
  // Step time vs the mha row of the same size, minus 1: the median over rounds of this row's
  // window time / mha's window time in the same round (adjacent in time, so a machine that
  // slows down for a while slows both sides of a ratio alike).
  double overhead = 0;
  double final_loss = 0;
  std::optional<double> ref_tokens_per_s;
  double over_reference = 0;  // median of per-window HeadLab / reference throughput ratios
  std::vector<double> ref_window_tokens_per_s;
  int64_t ref_params = 0;
  std::string ref_error;
  nlohmann::json to_json() const;
};

struct ProbeRow {
  std::string size, variant;
  int64_t interval = 50;
  double probe_ms = 0, step_ms = 0;
  double overhead_amortized = 0;  // probe_ms / (interval x step_ms)
  int64_t direct_windows = 0;
  double overhead_measured = 0;   // median window with a probe / median window without, minus 1
  nlohmann::json to_json() const;
};

struct InferRow {
  std::string size, variant;
  int64_t stored_kv_heads = 0, kv_heads = 0;
  int64_t kv_bytes_per_token = 0;           // from the config (float32)
  double kv_bytes_per_token_measured = 0;   // KVCache::bytes() / cached tokens after decoding
  double decode_tokens_per_s = 0;           // batch 1, one token per forward, median of runs
  double prefill_tokens_per_s = 0;
  double decode_time_vs_mha = 0;            // median per-round decode time ratio to mha, minus 1
  double max_rel_logit_change = 0;          // vs the unchanged model on the same prompt
  nlohmann::json to_json() const;
};

struct SizeResult {
  SizeSpec size;
  double load_before = -1, load_after = -1;  // 1-minute load average around the measurement
  int shards = 1;  // row shards of each CPU training step (train/sharded_backward.h)
  std::vector<TrainRow> rows;
  std::vector<ProbeRow> probes;
  std::vector<InferRow> inference;
};

// train_bench.cpp: training rows (and probe rows when the size asks for them).
SizeResult bench_training(const SizeSpec& size, const std::vector<Variant>& variants, const BenchOptions& options,
                          const SystemInfo& system, ReferenceProcess* reference);

// train_bench.cpp: a Chrome trace of a few training steps (warm-up first), for finding hot spots.
void profile_training(const SizeSpec& size, const Variant& variant, const BenchOptions& options,
                      const std::string& trace_file);

// infer_bench.cpp: decoding with a KV cache, plain, with MEA virtual heads (G' = G / 2),
// with live KHA-linear and with it folded.
std::vector<InferRow> bench_inference(const SizeSpec& size, const BenchOptions& options);

// data_parallel_bench.cpp: `--data-parallel N`, 1 rank against N local ranks (one thread
// each), run as ranks of this binary (`args`, its command line). Prints the rows and returns
// them with the speed-up. A rank of it (is_data_parallel_worker) trains and reports instead.
nlohmann::json bench_data_parallel(int ranks, const BenchOptions& options, const std::vector<std::string>& args);
bool is_data_parallel_worker();
int run_data_parallel_worker(const BenchOptions& options);

// --open-model DIR: load time, probe time (all attention maps of `probe_tokens` tokens) and peak
// RSS against the float32 model (open_model_bench.cpp).
nlohmann::json bench_open_model(const std::string& dir, int64_t probe_tokens);

}  // namespace headlab::bench
