#include "tiny_run.h"

#include "run/run_driver.h"

namespace headlab::testing {

nlohmann::json tinyExperiment(int steps) {
  return {
      {"model",
       {{"d_model", 32}, {"n_layers", 2}, {"n_heads", 2}, {"n_kv_heads", 2}, {"head_dim", 16}, {"d_ff", 64},
        {"attention", "mha"}, {"max_seq_len", 32}, {"qk_norm", true},
        {"interaction", {{"kha", {{"q", "linear"}, {"k", "linear"}, {"v", "none"}}}, {"talking_heads", {{"enabled", true}}}}}}},
      {"data", {{"task", "induction"}, {"n_symbols", 8}}},
      {"train",
       {{"steps", steps}, {"batch_size", 4}, {"seq_len", 16}, {"lr", 3e-3}, {"warmup_steps", 2}, {"eval_every", 5},
        {"eval_batches", 1}, {"checkpoint_every", 5}, {"log_every", 1}, {"seed", 7}, {"device", "cpu"}}},
      {"probe", {{"every", 5}}},
  };
}

void makeTinyRun(const std::string& run_dir, int steps) {
  run::RunDriver(train::ExperimentConfig::from_json(tinyExperiment(steps)), run_dir).run();
}

void makeUnfinishedTinyRun(const std::string& run_dir, int steps, int trained) {
  run::RunDriver(train::ExperimentConfig::from_json(tinyExperiment(steps)), run_dir).run(trained);
}

}  // namespace headlab::testing
