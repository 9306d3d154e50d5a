#pragma once
// Compare variants: one base experiment and named changes to its model (MHA, +KHA-linear,
// +KHA-mlp, +MEA, +talking heads, or any overrides), trained with the same seed and data
// order, one after the other or interleaved step by step. The result is a folder of run
// directories plus summary.json and summary.csv.
#include <nlohmann/json.hpp>

#include <atomic>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace headlab::run {

struct Variant {
  std::string name;
  nlohmann::json model_patch;  // each key replaces that key of the base "model" (null removes it)
};

// Built-in variants: "base" (the config as given), "baseline" (alias "mha": no interaction
// modules, the base's attention layout), "kha-linear", "kha-mlp", "mea", "talking-heads"
// (each the baseline plus that one module in every layer). Throws InputError for other names.
Variant builtin_variant(const std::string& name);

struct VariantSummary {
  std::string name;
  std::string run_dir;
  double final_train_loss = 0;
  double final_val_loss = 0;  // NaN when never validated
  int64_t spikes = 0;
  double tokens_per_second = 0;
  int64_t parameters = 0;
  uint64_t first_batch_hash = 0;  // proves every variant saw the same data
};

struct CompareOptions {
  bool interleave = false;
  // Called after every step of every variant: (variant index, step, total steps).
  std::function<void(size_t, int64_t, int64_t)> on_progress;
  // Read before every step; once it holds true the comparison stops and throws
  // CompareCancelled. A flag rather than a return value of on_progress, so another thread
  // (the GUI's Cancel button) can set it without a callback of its own.
  const std::atomic<bool>* cancel = nullptr;
};

// Thrown by run_comparison after a cancel: the variants' run directories keep the steps
// trained so far (metrics, events), but no summary is written, so the folder is not
// mistaken for a finished comparison.
class CompareCancelled : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Validates every variant's config before training any (a bad variant writes nothing).
std::vector<VariantSummary> run_comparison(const nlohmann::json& base_config, const std::vector<Variant>& variants,
                                           const std::filesystem::path& out_dir, const CompareOptions& options = {});

nlohmann::json summary_to_json(const std::vector<VariantSummary>& summaries);
std::string summary_to_csv(const std::vector<VariantSummary>& summaries);

}  // namespace headlab::run
