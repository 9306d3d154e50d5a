#include "run/run_driver.h"

#include <chrono>

#include "common/errors.h"
#include "probe/probe_record.h"
#include "probe/probe_runner.h"

namespace headlab::run {
namespace fs = std::filesystem;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// The first rows of the validation set (at most kAblationRows): what ablations are measured
// on, the same rows at every probe so that deltas over training are comparable.
constexpr int64_t kAblationRows = 64;
probe::ScoredRows validation_rows(train::Trainer& trainer) {
  std::vector<torch::Tensor> inputs, targets, masks;
  int64_t rows = 0;
  for (const auto& b : trainer.validation_batches()) {
    if (rows >= kAblationRows) break;
    const int64_t take = std::min<int64_t>(b.inputs.size(0), kAblationRows - rows);
    inputs.push_back(b.inputs.narrow(0, 0, take));
    targets.push_back(b.targets.narrow(0, 0, take));
    masks.push_back(b.loss_mask.narrow(0, 0, take));
    rows += take;
  }
  return {torch::cat(inputs), torch::cat(targets), torch::cat(masks), "validation"};
}

}  // namespace

namespace {
bool writes_run(const DriverOptions& options) { return !options.data_parallel || options.data_parallel->rank() == 0; }

// The trainer of a new run; a batch too small for the ranks is refused before the run
// directory is made.
std::unique_ptr<train::Trainer> new_trainer(const train::ExperimentConfig& config, const fs::path& run_dir,
                                            const DriverOptions& options) {
  if (options.data_parallel) train::Trainer::check_ranks(config.train, options.data_parallel->world_size());
  return std::make_unique<train::Trainer>(config, writes_run(options) ? run_dir : fs::path());
}
}  // namespace

RunDriver::RunDriver(const train::ExperimentConfig& config, const fs::path& run_dir, DriverOptions options)
    : RunDriver(new_trainer(config, run_dir, options), options) {}

RunDriver::RunDriver(std::unique_ptr<train::Trainer> trainer, DriverOptions options)
    : trainer_(std::move(trainer)), options_(options), budget_(trainer_->config().probe.budget_fraction) {
  if (options_.data_parallel) {
    trainer_->set_data_parallel(options_.data_parallel);
    trainer_->stop_vote = [this] { return stop_requested(); };
  }
  init_probes();
}

RunDriver::~RunDriver() = default;

std::unique_ptr<RunDriver> RunDriver::resume(const fs::path& run_dir, std::optional<int64_t> total_steps,
                                             DriverOptions options) {
  return std::unique_ptr<RunDriver>(
      new RunDriver(train::Trainer::resume(run_dir, total_steps, writes_run(options)), options));
}

void RunDriver::init_probes() {
  const auto& probe = trainer_->config().probe;
  budget_.set_fixed_interval(probe.every);
  last_probe_step_ = trainer_->step_count();
  // The config's probe.text is honoured by every front end (the trainer has checked that the
  // model can read it before it wrote anything).
  set_probe_text(probe.text);
}

void RunDriver::set_probe_text(const std::string& text) {
  probe_input_ = probe::resolve_probe_input(trainer_->model()->config(), &trainer_->data(), trainer_->config().train.seq_len,
                                     text);
}

bool RunDriver::probing() const {
  if (!writes_run(options_)) return false;  // rank 0 probes for the run
  return trainer_->config().probe.every > 0 || options_.when_unset == ProbeCadence::Adaptive;
}

bool RunDriver::probe_due() const {
  return probing() && trainer_->step_count() - last_probe_step_ >= budget_.interval();
}

std::shared_ptr<const ProbeSnapshot> RunDriver::probe() {
  const auto started = std::chrono::steady_clock::now();
  if (!ablation_rows_) ablation_rows_ = std::make_unique<probe::ScoredRows>(validation_rows(*trainer_));
  probe::ProbeOptions options;
  options.scored_rows = ablation_rows_.get();
  auto snapshot = std::make_shared<const ProbeSnapshot>(
      probe::run_probe(trainer_->model(), probe_input_.tokens, probe_input_.labels, trainer_->step_count(), options));
  // Writing the record (maps included: up to ~1 MB for a large model) is part of what a probe
  // costs the run, so the adaptive cadence counts it.
  if (auto* run = trainer_->run_directory()) run->append_probe(probe::record_json(*snapshot));
  const double seconds = seconds_since(started);
  budget_.record_probe(seconds);
  budget_.record_busy(seconds);
  last_probe_step_ = trainer_->step_count();
  newest_probe_ = snapshot;
  if (on_probe) on_probe(snapshot);
  return snapshot;
}

train::StepReport RunDriver::step() {
  if (trainer_->finished()) {
    train::StepReport done;
    done.outcome = train::StepOutcome::Finished;
    return done;
  }
  const auto started = std::chrono::steady_clock::now();
  auto report = trainer_->step();
  const double seconds = seconds_since(started);
  budget_.record_step(seconds);
  budget_.record_busy(seconds);
  if (trainer_->finished()) {
    if (probing()) probe();
    save_end_of_run();
  } else if (report.outcome == train::StepOutcome::Trained && probe_due()) {
    probe();
  }
  return report;
}

RunEnd RunDriver::run(int64_t step_limit, const std::function<void(const train::StepReport&)>& on_step) {
  const int64_t until = step_limit > 0 ? trainer_->step_count() + step_limit : -1;
  RunEnd end = RunEnd::Finished;
  while (!trainer_->finished()) {
    const auto report = step();
    if (on_step) on_step(report);
    if (report.outcome == train::StepOutcome::Paused) {
      end = RunEnd::Paused;
      break;
    }
    // Data-parallel ranks stop together, after the step in which any of them asked: one that
    // stopped alone would leave the others waiting in the next allreduce.
    if (options_.data_parallel ? trainer_->stop_agreed() : stop_requested()) {
      end = RunEnd::Stopped;
      break;
    }
    if (until >= 0 && trainer_->step_count() >= until && !trainer_->finished()) {
      end = RunEnd::StepLimit;
      break;
    }
  }
  save_end_of_run();
  return end;
}

void RunDriver::save_end_of_run() {
  auto* run = trainer_->run_directory();
  if (!run) return;
  const fs::path checkpoint = run->checkpoint_path(trainer_->step_count());
  if (!fs::exists(checkpoint)) trainer_->save_checkpoint();
  last_checkpoint_ = checkpoint;
  if (trainer_->finished() && !final_model_) final_model_ = trainer_->save_final_model();
}

model::ModuleActionResult RunDriver::apply(const model::ModuleActionRequest& request) {
  train::ScheduleAction action;
  action.step = trainer_->step_count();
  action.module = request;
  return trainer_->apply(action, "user");
}

void RunDriver::set_learning_rate(double lr) {
  train::ScheduleAction action;
  action.step = trainer_->step_count();
  action.value = lr;
  trainer_->apply(action, "user");
}

}  // namespace headlab::run
