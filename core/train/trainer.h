#pragma once
// The training loop of one experiment, one optimizer step at a time, so that the CLI, the
// live session and the tests drive it alike. Deterministic on CPU: the same config and seed
// give bit-identical losses, and a run resumed from a checkpoint continues bit-identically.
#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "common/records.h"
#include "data/data_source.h"
#include "io/run_directory.h"
#include "model/module_control.h"
#include "model/transformer.h"
#include "train/anomaly_detector.h"
#include "train/experiment_config.h"
#include "dist/data_parallel.h"
#include "train/sharded_backward.h"
#include "train/optimizer.h"
#include "train/row_losses.h"

namespace headlab::dist {
class GradientReducer;
}

namespace headlab::train {

enum class StepOutcome { Trained, Skipped, Paused, Finished };

struct ValidationResult {
  double loss = 0;
  double standard_error = 0;  // NaN with fewer than 2 scored rows
  int64_t rows = 0;
  int64_t tokens = 0;
};

struct StepReport {
  StepOutcome outcome = StepOutcome::Trained;
  std::optional<MetricPoint> metric;  // present when the step trained
};

class Trainer {
 public:
  // Validates the whole config, builds data and model; only then, when run_dir is not empty,
  // creates the run directory (so a bad config leaves nothing half-written).
  explicit Trainer(const ExperimentConfig& config, const std::filesystem::path& run_dir = {});
  // Continues a run from its newest checkpoint; `total_steps` overrides train.steps. Without
  // `writes` the run directory is only read (a data-parallel rank other than 0): no lock, no
  // log cut back, nothing written.
  static std::unique_ptr<Trainer> resume(const std::filesystem::path& run_dir, std::optional<int64_t> total_steps = {},
                                         bool writes = true);
  ~Trainer();

  // Applies the schedule actions due now, then runs one optimizer step.
  StepReport step();
  bool finished() const { return step_ >= config_.train.steps; }
  bool paused() const { return paused_; }
  const std::string& pause_reason() const { return pause_reason_; }
  void clear_pause() { paused_ = false; }

  // The masked loss over the validation set: train.eval_batches batches of the held-out
  // split, the same rows for every seed (data/rng.h), token-weighted, with its standard
  // error over rows.
  ValidationResult evaluate();
  // The validation batches evaluate() uses (also what ablations are measured on).
  std::vector<data::Batch> validation_batches() const;
  // Per-row masked loss sums and scored-token counts of one batch (no grad), on the CPU.
  RowLosses row_losses(const data::Batch& batch);
  // Module actions (model/module_control.h) and set_lr, from the schedule or a user; echoed as
  // an event. Throws InputError, with nothing changed, when the action is impossible; step()
  // turns a failed schedule action into an "error" event and goes on.
  model::ModuleActionResult apply(const ScheduleAction& action, const std::string& origin = "schedule");
  // Writes checkpoints/step-N atomically (needs a run directory) and prunes old ones.
  std::filesystem::path save_checkpoint();
  // Writes a checkpoint into any directory (the session's "save checkpoint as").
  void write_checkpoint(const std::filesystem::path& dir);
  // Restores model, optimizer and counters from a checkpoint directory.
  void load_checkpoint(const std::filesystem::path& dir);
  // Writes model/ (the final model) into the run directory.
  std::filesystem::path save_final_model();
  void set_total_steps(int64_t steps) { config_.train.steps = steps; }
  void record_event(EventKind kind, const std::string& message);

  model::Transformer& model() { return model_; }
  const data::DataSource& data() const { return *data_; }
  const ExperimentConfig& config() const { return config_; }
  int64_t step_count() const { return step_; }
  int64_t tokens_seen() const { return tokens_; }
  double elapsed_seconds() const { return elapsed_s_; }
  double current_lr() const;
  const std::vector<MetricPoint>& metrics() const { return metrics_; }
  const std::vector<EventRecord>& events() const { return events_; }
  io::RunDirectory* run_directory() { return run_.get(); }
  torch::Device device() const { return device_; }
  // Called for every new metric point and event (the session publishes them).
  std::function<void(const MetricPoint&)> on_metric;
  std::function<void(const EventRecord&)> on_event;
  // Data-parallel training (dist/data_parallel.h): this rank trains on its share of every
  // batch, and the shares' gradients and losses are summed over the ranks before the
  // optimizer step, so every rank takes the same step. Set before the first step.
  void set_data_parallel(std::shared_ptr<dist::DataParallel> group);
  // InputError unless every one of `ranks` gets at least one row of each batch.
  static void check_ranks(const TrainSettings& train, int ranks);
  const dist::DataParallel* data_parallel() const { return dp_.get(); }
  // This rank's wish to stop (the run driver's request_stop), summed with the other ranks'
  // in each step's allreduce: stop_agreed() turns true on every rank after the same step.
  std::function<bool()> stop_vote;
  bool stop_agreed() const { return stop_agreed_; }
  // Test hook: runs inside write_checkpoint after every file is written, before the rename
  // (a throw here is a crash mid-save).
  std::function<void(const std::filesystem::path& temp_dir)> before_checkpoint_commit;

 private:
  Trainer(const ExperimentConfig& config, const std::filesystem::path& run_dir, bool resuming);
  torch::Tensor masked_loss(const data::Batch& batch);
  // Sum of the masked per-token cross-entropy of rows of a batch already on the device.
  torch::Tensor loss_sum(const torch::Tensor& inputs, const torch::Tensor& targets, const torch::Tensor& mask);
  // Forward and backward of one training batch (gradients scaled by `scale`, added to
  // .grad), in row shards on the CPU (train/sharded_backward.h). Returns its masked loss.
  double backward_batch(const data::Batch& batch, double scale);
  // Data-parallel (trainer_data_parallel.cpp): this rank's rows of a global batch, with the
  // share of the batch's scored tokens they hold (their loss and gradient weigh that much).
  data::Batch rank_share(const data::Batch& batch, double* token_share) const;
  // Whether this step's gradients are reduced during the last micro-batch's backward, by
  // c10d's Reducer (dist/gradient_reducer.h), rather than in one allreduce after it: decided
  // by all ranks together at the first step (HEADLAB_DIST_OVERLAP). That backward then runs
  // in one piece, not in row shards, whose autograd::grad passes the Reducer's hooks miss.
  bool begin_overlapped_step();
  // Sums the loss and the stop votes over the ranks, and the gradients too unless the
  // backward has reduced them already; returns the global loss.
  double reduce_over_ranks(double local_loss, bool gradients_reduced);
  void log_metric(const MetricPoint& m);

  ExperimentConfig config_;
  nlohmann::json run_config_;  // config.json as written at the start (or read at resume): edits are told apart
  std::unique_ptr<data::DataSource> data_;
  torch::Device device_;
  model::Transformer model_{nullptr};
  std::unique_ptr<TrainingOptimizer> optimizer_;
  AnomalyDetector anomalies_;
  std::unique_ptr<io::RunDirectory> run_;
  std::unique_ptr<ShardPool> shards_;  // made on the first sharded step
  std::shared_ptr<dist::DataParallel> dp_;  // null: one process
  std::optional<bool> ranks_overlap_;  // all ranks agreed at the first step: see begin_overlapped_step
  std::unique_ptr<dist::GradientReducer> reducer_;
  bool reduce_in_backward_ = false;  // the next backward_batch hands its loss to reducer_
  bool gradients_reduced_ = false;   // this step's backward left the ranks' mean in .grad
  bool stop_agreed_ = false;
  int64_t step_ = 0;
  int64_t tokens_ = 0;
  double elapsed_s_ = 0;
  std::optional<double> lr_override_;
  size_t next_action_ = 0;
  bool paused_ = false;
  std::string pause_reason_;
  std::vector<MetricPoint> metrics_;
  std::vector<EventRecord> events_;
};

}  // namespace headlab::train
