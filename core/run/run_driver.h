#pragma once
// The run driver: the one object that drives a training run, whatever front end shows it
// (headlab-cli train, the GUI's session worker, compare, headlab-bench). It owns the trainer,
// the run directory, the schedule (through the trainer), probing (the probe input, the probe
// budget, probes.jsonl), validation, checkpoints, stopping and the end-of-run saves, so that a
// fix lands once. Front ends differ only in how they show what it emits: metrics and events
// (the trainer's on_metric / on_event), probe snapshots (on_probe) and step reports.
#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>

#include "model/module_control.h"
#include "probe/snapshot.h"
#include "probe/ablation.h"
#include "probe/probe_input.h"
#include "run/probe_budget.h"
#include "train/trainer.h"

namespace headlab::run {

// How a run probes when probe.every is 0 (a fixed probe.every > 0 always wins).
enum class ProbeCadence {
  Off,       // headlab-cli train, compare, the bench: no probes unless asked for
  Adaptive,  // a live session: as often as probe.budget_fraction of the time allows
};

struct DriverOptions {
  ProbeCadence when_unset = ProbeCadence::Off;
  // Data-parallel training (dist/data_parallel.h). Rank 0 writes the run directory and
  // probes; the other ranks train their shares and write nothing (a run directory given to
  // them is only read, on resume). All ranks stop after the same step.
  std::shared_ptr<dist::DataParallel> data_parallel;
};

// Why run() returned.
enum class RunEnd { Finished, Paused, Stopped, StepLimit };

class RunDriver {
 public:
  // A new run. Validates the config and data before anything is written; with an empty
  // run_dir nothing is written at all (compare's validation pass, the bench).
  RunDriver(const train::ExperimentConfig& config, const std::filesystem::path& run_dir, DriverOptions options = {});
  // Continues a run directory from its newest checkpoint; total_steps overrides train.steps.
  static std::unique_ptr<RunDriver> resume(const std::filesystem::path& run_dir,
                                           std::optional<int64_t> total_steps = {}, DriverOptions options = {});
  ~RunDriver();

  // One step: the schedule actions due, one optimizer step, a probe when one is due. The step
  // that finishes the run also takes a final probe (when probing) and makes the end-of-run
  // saves. Returns the trainer's report (Finished without training once the run is done).
  train::StepReport step();
  bool finished() const { return trainer_->finished(); }
  // Steps until the run finishes, pauses itself (non-finite steps), request_stop() is called,
  // or `step_limit` more steps are done (0: no limit); then saves a checkpoint (run directory
  // only). on_step sees every report.
  RunEnd run(int64_t step_limit = 0, const std::function<void(const train::StepReport&)>& on_step = {});
  // Asks run() to stop after the current step. Lock-free: callable from a signal handler.
  void request_stop() { stop_requested_.store(true); }
  bool stop_requested() const { return stop_requested_.load(); }

  // The end-of-run saves (run directory only; no-ops without one): a checkpoint of this step
  // unless it exists already, and the final model/ once the run has finished.
  void save_end_of_run();
  std::optional<std::filesystem::path> last_checkpoint() const { return last_checkpoint_; }
  std::optional<std::filesystem::path> final_model() const { return final_model_; }

  // Probes now, whatever the cadence; appended to probes.jsonl when the run has a directory.
  std::shared_ptr<const ProbeSnapshot> probe();
  bool probing() const;    // whether step() probes at all
  bool probe_due() const;  // whether the next step() would probe
  // The probe input: probe.text of the config at first; "" puts back the task's default.
  // Throws InputError (and keeps the old input) for text the model cannot take.
  void set_probe_text(const std::string& text);
  const probe::ProbeInput& probe_input() const { return probe_input_; }
  ProbeBudget& probe_budget() { return budget_; }
  std::shared_ptr<const ProbeSnapshot> newest_probe() const { return newest_probe_; }
  // Called with every probe the driver takes (the session keeps its timeline with it).
  std::function<void(const std::shared_ptr<const ProbeSnapshot>&)> on_probe;

  // A user's module action or learning rate, applied between two steps and echoed as an event
  // marked "(user)". Throws InputError, with nothing changed, when it is impossible.
  model::ModuleActionResult apply(const model::ModuleActionRequest& request);
  void set_learning_rate(double lr);

  train::Trainer& trainer() { return *trainer_; }
  const train::Trainer& trainer() const { return *trainer_; }
  int64_t step_count() const { return trainer_->step_count(); }

 private:
  RunDriver(std::unique_ptr<train::Trainer> trainer, DriverOptions options);
  void init_probes();

  std::unique_ptr<train::Trainer> trainer_;
  DriverOptions options_;
  ProbeBudget budget_;
  probe::ProbeInput probe_input_;
  int64_t last_probe_step_ = 0;
  std::shared_ptr<const ProbeSnapshot> newest_probe_;
  std::unique_ptr<probe::ScoredRows> ablation_rows_;  // made at the first probe
  std::atomic<bool> stop_requested_{false};
  std::optional<std::filesystem::path> last_checkpoint_, final_model_;
};

}  // namespace headlab::run
