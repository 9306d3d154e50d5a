#pragma once
// Compare variants: one base experiment and named changes to its model (MHA, +KHA-linear,
// +KHA-mlp, +MEA, +talking heads, or any overrides), each trained on N seeds and, optionally,
// at every point of a grid of config values (a sweep). Runs with the same seed see identical
// batches whatever the variant, so the seed pairs them: the summary gives, per variant, the
// final validation loss over seeds (mean, SD, 95% CI) and, against the first variant (the
// baseline) at the same sweep point, the paired difference per seed with its t-interval and
// a verdict ("lower", "higher", "within noise"). One seed is allowed but gets no verdict.
//
// The result is a folder: one run directory per run (NAME/ for one seed, NAME/seed-S/ for
// several; NAME is the variant, plus "@key=value" per swept key), summary.json, summary.csv
// (one row per variant) and runs.csv (one row per run).
#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "stats/estimate.h"

namespace headlab::run {

struct Variant {
  std::string name;
  nlohmann::json model_patch;  // each key replaces that key of the base "model" (null removes it)
};

// Built-in variants: "base" (the config as given), "baseline" (alias "mha": no interaction
// modules, the base's attention layout), "kha-linear", "kha-mlp", "mea", "mea-no-norm" (MEA
// without its group norm), "talking-heads" (each the baseline plus that one module in every
// layer). Throws InputError for other names.
Variant builtin_variant(const std::string& name);

// One swept config value: "train.lr=3e-3,1e-2,3e-2" -> key train.lr, three values (each
// parsed as JSON, else kept as a string, like --set). Throws InputError when malformed.
struct Sweep {
  std::string key;
  std::vector<nlohmann::json> values;
};
Sweep parse_sweep(const std::string& text);

// Where a comparison in out_dir keeps the run of `row` on `seed`: out_dir/ROW with one seed,
// out_dir/ROW/seed-S with several.
std::filesystem::path run_directory_of(const std::filesystem::path& out_dir, const std::string& row, uint64_t seed,
                                       int64_t seeds);

struct RunSummary {
  uint64_t seed = 0;
  std::string run_dir;
  double final_train_loss = 0;
  double final_val_loss = 0;     // NaN when never validated
  double final_val_loss_se = 0;  // its standard error over validation rows (NaN when unknown)
  std::vector<int64_t> spike_steps;  // the steps that started a spike episode
  double tokens_per_second = 0;
  int64_t parameters = 0;
  uint64_t first_batch_hash = 0;  // proves that runs with one seed saw the same data
};

struct VariantSummary {
  std::string name;     // the variant, plus "@key=value" per swept key
  std::string variant;  // the variant alone
  nlohmann::json point = nlohmann::json::object();  // the sweep values of this row {"train.lr": 0.01}
  std::vector<RunSummary> runs;                     // one per seed, in seed order
  stats::Estimate final_val_loss;                   // over seeds
  std::string baseline;                             // the row it is paired with (empty for a baseline)
  std::optional<stats::PairedComparison> vs_baseline;
  int64_t spikes = 0;                  // spike episodes, all seeds
  int64_t spikes_not_in_baseline = 0;  // of those, the ones the paired baseline run did not have at that step
  double tokens_per_second = 0;        // mean over seeds
  int64_t parameters = 0;
};

struct CompareProgress {
  size_t run = 0, runs = 0;  // which run stepped, of how many
  std::string name;          // its row name
  uint64_t seed = 0;
  int64_t step = 0, steps = 0;          // of that run
  int64_t done_steps = 0, total_steps = 0;  // of the whole comparison
};

struct CompareOptions {
  int64_t seeds = 1;  // seeds train.seed, train.seed + 1, ...
  std::vector<Sweep> sweeps;  // crossed with each other and with the variants
  // Round-robin one step of every unfinished run, so all curves grow together; otherwise
  // the runs go one after the other, seed by seed (every variant of seed 1 first).
  bool interleave = false;
  std::function<void(const CompareProgress&)> on_progress;  // after every step
  // Called when a run finishes (with its summary so far): curves as they come.
  std::function<void(const VariantSummary& row, const RunSummary& run)> on_run_finished;
  // Read before every step; once it holds true the comparison stops and throws
  // CompareCancelled. A flag rather than a return value of on_progress, so another thread
  // (the GUI's Cancel button) can set it without a callback of its own.
  const std::atomic<bool>* cancel = nullptr;
};

// Thrown by run_comparison after a cancel: the run directories keep the steps trained so
// far (metrics, events), but no summary is written, so the folder is not mistaken for a
// finished comparison.
class CompareCancelled : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Validates every run's config before training any (a bad variant or sweep value writes
// nothing). Refuses an out_dir that already holds a comparison.
std::vector<VariantSummary> run_comparison(const nlohmann::json& base_config, const std::vector<Variant>& variants,
                                           const std::filesystem::path& out_dir, const CompareOptions& options = {});

// Fills the statistics of rows whose runs are complete: final_val_loss over seeds, spikes,
// and the pairing with the baseline row of the same sweep point (rows[0]'s variant).
void summarize(std::vector<VariantSummary>& rows, double confidence = 0.95);

nlohmann::json summary_to_json(const std::vector<VariantSummary>& rows);
std::string summary_to_csv(const std::vector<VariantSummary>& rows);
std::string runs_to_csv(const std::vector<VariantSummary>& rows);
// Reads summary.json back (the GUI's Open comparison); InputError when it is not one.
std::vector<VariantSummary> summary_from_json(const nlohmann::json& j);

}  // namespace headlab::run
