// headlab-bench --data-parallel N: training throughput of N local ranks (c10d Gloo, one
// intra-op thread each) against 1 rank with the same global batch and one thread, and the
// share of the step the gradient allreduce takes. The model is large enough (~3M parameters,
// 2048 tokens a step) for a step to outweigh the allreduce, as data parallelism needs.
//
// The ranks are this same binary, started by dist::launch_local_ranks with
// HEADLAB_BENCH_DP_REPORT set: each trains, rank 0 writes its timing there as JSON.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "bench_runs.h"
#include "common/runtime.h"
#include "dist/data_parallel.h"
#include "dist/local_ranks.h"
#include "run/run_driver.h"

namespace headlab::bench {
namespace {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
constexpr const char* kReportVariable = "HEADLAB_BENCH_DP_REPORT";

nlohmann::json dp_experiment(const BenchOptions& o) {
  const int64_t d = o.quick ? 64 : 256;
  return {{"model",
           {{"d_model", d}, {"n_layers", o.quick ? 2 : 4}, {"n_heads", 8}, {"n_kv_heads", 8}, {"head_dim", d / 8},
            {"d_ff", 4 * d}, {"max_seq_len", 128}, {"attention", "mha"}, {"qk_norm", true}}},
          {"data", {{"task", "induction"}, {"n_symbols", 62}}},
          {"train",
           {{"steps", 1000000}, {"batch_size", 16}, {"seq_len", 128}, {"warmup_steps", 2}, {"eval_every", 0},
            {"log_every", 1000000}, {"seed", 1234}, {"device", "cpu"}}}};
}

int64_t timed_steps(const BenchOptions& o) { return o.steps > 0 ? o.steps : (o.quick ? 3 : 6); }

}  // namespace

bool is_data_parallel_worker() { return std::getenv(kReportVariable) != nullptr; }

int run_data_parallel_worker(const BenchOptions& o) {
  configure_threads(0);  // OMP_NUM_THREADS, which the launch set to 1
  run::DriverOptions options;
  if (const auto env = dist::rank_environment_from_env(); env && env->world_size > 1)
    options.data_parallel = dist::DataParallel::connect(*env, dist::collective_timeout());
  run::RunDriver driver(train::ExperimentConfig::from_json(dp_experiment(o)), "", options);
  for (int i = 0; i < 2; ++i) driver.step();  // warm-up: allocations, the first allreduce
  const double allreduce_before = options.data_parallel ? options.data_parallel->allreduce_seconds() : 0;
  const int64_t steps = timed_steps(o);
  const auto t0 = Clock::now();
  for (int64_t i = 0; i < steps; ++i) driver.step();
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  if (options.data_parallel && options.data_parallel->rank() != 0) return 0;
  const double allreduce = options.data_parallel ? options.data_parallel->allreduce_seconds() - allreduce_before : 0;
  const auto& t = driver.trainer().config().train;
  int64_t params = 0;
  for (const auto& p : driver.trainer().model()->parameters()) params += p.numel();
  const nlohmann::json report = {{"ranks", options.data_parallel ? options.data_parallel->world_size() : 1},
                                 {"params", params},
                                 {"step_ms", 1000 * seconds / steps},
                                 {"tokens_per_s", static_cast<double>(t.batch_size * t.seq_len * steps) / seconds},
                                 {"allreduce_share", allreduce / seconds}};
  std::ofstream(std::getenv(kReportVariable)) << report.dump() << "\n";
  return 0;
}

nlohmann::json bench_data_parallel(int ranks, const BenchOptions& /*the ranks parse it from args*/,
                                   const std::vector<std::string>& args) {
  if (!dist::data_parallel_available()) throw std::runtime_error("this build has no data-parallel training (libgloo-dev)");
  // One thread per rank, and for the single rank too: the row compares ranks, not threads.
  setenv("OMP_NUM_THREADS", "1", 1);
  const fs::path dir = fs::temp_directory_path() / ("headlab-bench-dp-" + std::to_string(getpid()));
  fs::create_directories(dir);
  nlohmann::json rows = nlohmann::json::array();
  // 1 rank; N ranks with one allreduce after the backward; N ranks with c10d's Reducer
  // allreducing buckets during the backward (the default).
  for (const auto& [world, overlap] : {std::pair{1, false}, std::pair{ranks, false}, std::pair{ranks, true}}) {
    const fs::path report = dir / ("ranks-" + std::to_string(world) + (overlap ? "-overlap" : "") + ".json");
    setenv(kReportVariable, report.c_str(), 1);
    setenv("HEADLAB_DIST_OVERLAP", overlap ? "1" : "0", 1);
    const int code = dist::launch_local_ranks(world, args);
    unsetenv(kReportVariable);
    unsetenv("HEADLAB_DIST_OVERLAP");
    std::ifstream in(report);
    if (code != 0 || !in) throw std::runtime_error("the " + std::to_string(world) + "-rank run failed (exit " +
                                                   std::to_string(code) + ")");
    rows.push_back(nlohmann::json::parse(in));
    rows.back()["overlap"] = world > 1 && overlap;
  }
  fs::remove_all(dir);
  const double one = rows[0]["tokens_per_s"], flat = rows[1]["tokens_per_s"], overlapped = rows[2]["tokens_per_s"];
  std::printf("\n== data-parallel: %ld parameters, batch 16 x seq 128, c10d Gloo over loopback, 1 thread per rank ==\n",
              static_cast<long>(rows[0]["params"].get<int64_t>()));
  std::printf("%-26s %11s %9s %10s %11s\n", "ranks", "tokens/s", "step ms", "speed-up", "allreduce");
  for (const auto& r : rows) {
    const int world = r["ranks"].get<int>();
    const std::string label = std::to_string(world) + (world == 1 ? "" : r["overlap"].get<bool>() ? ", during backward"
                                                                                                  : ", after backward");
    // Overlapped, the gradients' allreduce runs inside the backward and is not timed apart:
    // the step times of the two N-rank rows say what the overlap saves.
    char share[32] = "in backward";
    if (!r["overlap"].get<bool>()) std::snprintf(share, sizeof share, "%.1f%%", 100 * r["allreduce_share"].get<double>());
    std::printf("%-26s %11.0f %9.1f %9.2fx %11s\n", label.c_str(), r["tokens_per_s"].get<double>(),
                r["step_ms"].get<double>(), r["tokens_per_s"].get<double>() / one, share);
  }
  std::fflush(stdout);
  const double many = std::max(flat, overlapped);
  return {{"rows", rows},
          {"speedup", many / one},
          {"efficiency", many / one / ranks},
          {"overlap_gain", overlapped / flat}};
}

}  // namespace headlab::bench
