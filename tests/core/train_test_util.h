#pragma once
// Tiny experiment configs and scratch directories for the training tests.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <random>
#include <string>

#include "train/experiment_config.h"

namespace headlab::testutil {

inline nlohmann::json tiny_experiment(const std::string& task, int64_t steps = 20) {
  auto j = nlohmann::json::parse(R"({
    "model": {"d_model": 32, "n_layers": 2, "n_heads": 4, "n_kv_heads": 2, "head_dim": 8, "d_ff": 64,
              "attention": "gqa", "max_seq_len": 64, "qk_norm": true,
              "interaction": {"kha": {"q": "linear", "k": "linear", "v": "mlp"}, "mea": {"enabled": true}}},
    "train": {"batch_size": 8, "seq_len": 32, "lr": 3e-3, "warmup_steps": 5, "eval_every": 5,
              "eval_batches": 2, "log_every": 1, "seed": 7, "device": "cpu"}
  })");
  j["data"] = {{"task", task}};
  j["train"]["steps"] = steps;
  return j;
}

inline train::ExperimentConfig experiment(const nlohmann::json& j) { return train::ExperimentConfig::from_json(j); }

// A fresh, empty scratch directory under the system temp dir.
inline std::filesystem::path scratch_dir(const std::string& name) {
  static std::mt19937_64 rng(std::random_device{}());
  auto dir = std::filesystem::temp_directory_path() / ("headlab-test-" + name + "-" + std::to_string(rng()));
  std::filesystem::remove_all(dir);
  return dir;
}

}  // namespace headlab::testutil
