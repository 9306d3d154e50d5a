#include "train/trainer.h"

#include <cmath>

#include "common/errors.h"
#include "common/runtime.h"
#include "common/torch_compat.h"
#include "dist/gradient_reducer.h"
#include "io/model_io.h"
#include "model/fold.h"
#include "model/model_size.h"
#include "probe/probe_input.h"
#include "stats/estimate.h"
#include "train/config_edits.h"
#include "train/lr_schedule.h"
#include "train/trainer_state_file.h"

namespace headlab::train {
namespace fs = std::filesystem;
using model::ModuleKind;
using model::ModuleState;

namespace {

// The model a fine-tuning run starts from. Its tokenizer must be the data's: the same ids
// must mean the same text, or the embeddings would be trained on a different alphabet.
model::Transformer load_initial_model(const fs::path& path, const data::Tokenizer& tokenizer, const torch::Device& device) {
  model::Transformer m{nullptr};
  try {
    m = io::load_model(path, device);
  } catch (const InputError& e) {
    throw InputError("init_from: " + std::string(e.what()));
  }
  const auto& c = m->config();
  if (c.tokenizer != tokenizer.to_json()) {
    // A pretrained model reads text with its own tokenizer file: say how to ask for it.
    const bool file = c.tokenizer.is_object() && c.tokenizer.contains("file");
    throw InputError("init_from: the model's tokenizer (" + c.tokenizer.dump().substr(0, 120) +
                     ") differs from the data's (" + tokenizer.to_json().dump().substr(0, 120) + "); " +
                     (file ? "read a text corpus with the model's tokenizer: data.tokenizer \"model\""
                           : "train it on data with the same tokenizer"));
  }
  return m;
}

// A run holds the weights, their gradients and two AdamW moments (float32), plus the
// activations of one micro-batch: per layer about 16 d_model-wide and 3 d_ff-wide values per
// token and the [H, T, T] attention, and the logits twice (forward, softmax). An estimate, not
// a bound: it exists to refuse batch 1e9 or n_layers 1e6 with a number, before allocating.
void check_run_fits_in_memory(const model::ModelConfig& c, const TrainSettings& t) {
  const double params = model::parameter_count_lower_bound(c);
  const double tokens = static_cast<double>(t.batch_size) * static_cast<double>(t.seq_len);
  const double per_token = static_cast<double>(c.n_layers) *
                               (16.0 * static_cast<double>(c.d_model) + 3.0 * static_cast<double>(c.d_ff) +
                                static_cast<double>(c.n_heads) * static_cast<double>(t.seq_len)) +
                           2.0 * static_cast<double>(c.vocab_size);
  model::check_fits_in_memory(4.0 * (4.0 * params + tokens * per_token), "this run (weights, gradients, optimizer state, activations)");
}

// data.tokenizer "model": the corpus is read with the tokenizer of the model the run starts
// from, named by its directory so that a resumed run (which has no init_from) reads it again.
ExperimentConfig with_model_tokenizer(ExperimentConfig config) {
  auto& data = config.data;
  if (!config.init_from.empty() && data.is_object() && data.value("tokenizer", nlohmann::json()) == "model")
    data["tokenizer"] = fs::absolute(config.init_from).lexically_normal().string();
  return config;
}

}  // namespace

Trainer::Trainer(const ExperimentConfig& config, const fs::path& run_dir) : Trainer(config, run_dir, false) {}

Trainer::Trainer(const ExperimentConfig& config, const fs::path& run_dir, bool resuming)
    : config_(with_model_tokenizer(config)),
      data_(data::make_data_source(config_.data, config.train.seed)),
      device_(resolve_device_name(config.train.device)),
      anomalies_(config.train.spike_threshold, config.train.spike_window, config.train.max_bad_steps) {
  model::Transformer initial{nullptr};
  if (!config_.init_from.empty()) {
    initial = load_initial_model(config_.init_from, data_->tokenizer(), device_);
    config_.model = initial->config().to_json();
  }
  auto model_config = resolve_model_config(config_.model, data_->tokenizer());
  check_run_fits_in_memory(model_config, config_.train);
  if (config_.train.seq_len > model_config.max_seq_len)
    throw InputError("train.seq_len (" + std::to_string(config_.train.seq_len) + ") exceeds model.max_seq_len (" +
                     std::to_string(model_config.max_seq_len) + ")");
  // Draw one batch now: a corpus too short for seq_len fails here, before any file is written.
  data_->batch(data::Split::Train, 0, 1, config_.train.seq_len);
  torch::manual_seed(config_.train.seed);
  model_ = initial ? initial : model::Transformer(model_config, device_);
  optimizer_ = std::make_unique<TrainingOptimizer>(model_, config_.train);
  check_schedule(config_.schedule, model_->config(), config_.train.steps);
  // probe.text is part of the config: one the model cannot read fails here, before any file.
  try {
    probe::resolve_probe_input(model_->config(), data_.get(), config_.train.seq_len, config_.probe.text);
  } catch (const InputError& e) {
    throw InputError("probe.text: " + std::string(e.what()));
  }
  if (!config_.init_from.empty()) {
    config_.initialized_from = fs::absolute(config_.init_from).lexically_normal().string();
    config_.init_from.clear();
  }
  if (!run_dir.empty() && !resuming) {
    auto resolved = config_.to_json();
    resolved["model"] = model_config.to_json();
    resolved["data"] = data_->config();
    std::string restart_note;
    run_ = std::make_unique<io::RunDirectory>(io::RunDirectory::create(run_dir, resolved, &restart_note));
    run_config_ = resolved;
    if (!restart_note.empty()) record_event(EventKind::Command, restart_note);
    if (const auto note = warmup_note(config_.train); !note.empty()) record_event(EventKind::Lr, note);
  }
}

Trainer::~Trainer() = default;

std::unique_ptr<Trainer> Trainer::resume(const fs::path& run_dir, std::optional<int64_t> total_steps, bool writes) {
  const auto file_config = io::RunDirectory::read_config(run_dir);
  const auto steps = io::RunDirectory::checkpoint_steps(run_dir);
  if (steps.empty())
    throw InputError(run_dir.string() + ": no checkpoint to resume from; `train --out " + run_dir.string() +
                     "` starts it over (its logs are kept in attempt-N/)");
  const fs::path checkpoint = io::RunDirectory::checkpoint_path(run_dir, steps.back());
  // config.json edited since the checkpoint: model edits are refused before anything is built
  // from them; other edits apply and are said (config_edits.h).
  std::string edits;
  if (fs::exists(checkpoint / "trainer_state.json")) {
    const auto snapshot = read_trainer_state(checkpoint / "trainer_state.json").run_config;
    if (!snapshot.is_null()) edits = check_resume_edits(config_edits(snapshot, file_config), (run_dir / "config.json").string());
  }
  auto resolved = file_config;
  // Runs written before modular_addition had split_seed split its pairs with the run seed:
  // keep their split, or a resumed run would train on pairs it had validated on.
  if (resolved.contains("data") && resolved["data"].is_object() && resolved["data"].value("task", "") == "modular_addition" &&
      !resolved["data"].contains("split_seed") && resolved.contains("train") && resolved["train"].contains("seed"))
    resolved["data"]["split_seed"] = resolved["train"]["seed"];
  auto config = ExperimentConfig::from_json(resolved);
  if (total_steps) config.train.steps = *total_steps;
  std::unique_ptr<Trainer> t(new Trainer(config, writes ? run_dir : fs::path(), true));
  t->load_checkpoint(checkpoint);
  t->run_config_ = file_config;
  if (!writes) return t;
  // The logs are read, and so checked, before reopen cuts them back to the checkpoint.
  auto metrics = io::RunDirectory::read_metrics(run_dir);
  auto events = io::RunDirectory::read_events(run_dir);
  t->run_ = std::make_unique<io::RunDirectory>(io::RunDirectory::reopen(run_dir, t->step_));
  for (auto& m : metrics)
    if (m.step <= t->step_) t->metrics_.push_back(std::move(m));
  for (auto& e : events)
    if (e.step <= t->step_) t->events_.push_back(std::move(e));
  t->record_event(EventKind::Resume, "resumed from checkpoint step-" + std::to_string(t->step_) +
                                         (edits.empty() ? "" : "; config.json was edited since, the edited values apply: " + edits));
  return t;
}

double Trainer::current_lr() const {
  if (lr_override_) return *lr_override_;
  const auto& t = config_.train;
  return scheduled_lr(step_, t.steps, t.warmup_steps, t.lr, t.min_lr_fraction);
}

void Trainer::record_event(EventKind kind, const std::string& message) {
  EventRecord e{step_, kind, message};
  events_.push_back(e);
  if (run_) run_->append_event(e);
  if (on_event) on_event(e);
}

void Trainer::log_metric(const MetricPoint& m) {
  metrics_.push_back(m);
  if (run_) run_->append_metric(m);
  if (on_metric) on_metric(m);
}

torch::Tensor Trainer::loss_sum(const torch::Tensor& inputs, const torch::Tensor& targets, const torch::Tensor& mask) {
  const bool autocast = device_.is_cuda() && config_.train.bf16;
  if (autocast) compat::set_cuda_autocast(true);
  auto logits = model_->logits(inputs);
  if (autocast) compat::set_cuda_autocast(false);
  const int64_t V = logits.size(-1);
  auto ce = torch::nn::functional::cross_entropy(
      logits.to(torch::kFloat32).reshape({-1, V}), targets.reshape({-1}),
      torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
  return (ce * mask.reshape({-1}).to(torch::kFloat32)).sum();
}

torch::Tensor Trainer::masked_loss(const data::Batch& batch) {
  auto mask = batch.loss_mask.to(device_);
  return loss_sum(batch.inputs.to(device_), batch.targets.to(device_), mask) /
         mask.to(torch::kFloat32).sum().clamp_min(1.0);
}

double Trainer::backward_batch(const data::Batch& batch, double scale) {
  const int64_t rows = batch.inputs.size(0);
  const int shards =
      device_.is_cpu() ? shard_count(static_cast<int>(config_.train.cpu_shards), at::get_num_threads(), rows) : 1;
  // A backward whose gradients c10d's Reducer allreduces runs in one piece: its hooks sit on
  // the gradient accumulators, which the shards' autograd::grad passes never reach.
  if (shards <= 1 || reduce_in_backward_) {
    auto loss = masked_loss(batch);
    if (!reduce_in_backward_) {
      (loss * scale).backward();
      return loss.item<double>();
    }
    reduce_in_backward_ = false;
    gradients_reduced_ = reducer_->expect_backward(loss);
    try {
      (loss * scale).backward();
    } catch (const std::exception& e) {  // c10::Error, or Gloo's own exceptions
      if (gradients_reduced_) throw dp_->collective_failure(e);  // a bucket's allreduce failed: a rank is gone
      throw;
    }
    return loss.item<double>();
  }
  if (!shards_ || shards_->shards() != shards)
    shards_ = std::make_unique<ShardPool>(shards, std::max(1, at::get_num_threads() / shards));
  auto inputs = batch.inputs.to(device_), targets = batch.targets.to(device_), mask = batch.loss_mask.to(device_);
  // Every shard divides by the whole batch's token count, so the shard losses add up to the
  // batch's mean loss and the gradients to its gradient.
  const double tokens = std::max(1.0, mask.to(torch::kFloat64).sum().item<double>());
  // The fused QKV weights (KHA/MEA folded in) are built once per step, not in every shard.
  struct SharedWeights {
    model::Transformer& model;
    bool done = false;
    ~SharedWeights() {
      if (!done) model->release_shared_qkv_weights(false);
    }
  } shared{model_};
  // Layers fold independently: each shard's thread builds (and later backpropagates) some.
  const auto by_layer = [this](int64_t n, const std::function<void(int64_t)>& fn) { for_each_in_shards(*shards_, n, fn); };
  std::vector<torch::Tensor> params = model_->share_qkv_weights(by_layer);
  for (const auto& [name, p] : model_->named_tensors()) params.push_back(p);
  const double loss = sharded_backward(
      *shards_, rows,
      [&](int64_t begin, int64_t count) {
        return loss_sum(inputs.narrow(0, begin, count), targets.narrow(0, begin, count), mask.narrow(0, begin, count)) /
               tokens;
      },
      scale, params);
  model_->release_shared_qkv_weights(true, by_layer);
  shared.done = true;
  return loss;
}

std::vector<data::Batch> Trainer::validation_batches() const {
  const auto& t = config_.train;
  std::vector<data::Batch> batches;
  for (int64_t i = 0; i < t.eval_batches; ++i)
    batches.push_back(data_->batch(data::Split::Validation, static_cast<uint64_t>(i), t.batch_size, t.seq_len));
  return batches;
}

RowLosses Trainer::row_losses(const data::Batch& batch) {
  torch::NoGradGuard no_grad;
  const bool autocast = device_.is_cuda() && config_.train.bf16;
  if (autocast) compat::set_cuda_autocast(true);
  auto logits = model_->logits(batch.inputs.to(device_));
  if (autocast) compat::set_cuda_autocast(false);
  return masked_row_losses(logits, batch.targets, batch.loss_mask);
}

ValidationResult Trainer::evaluate() {
  RowLosses all;
  for (const auto& batch : validation_batches()) {
    auto rows = row_losses(batch);
    all.sums.insert(all.sums.end(), rows.sums.begin(), rows.sums.end());
    all.counts.insert(all.counts.end(), rows.counts.begin(), rows.counts.end());
  }
  const auto mean = stats::clustered_mean(all.sums, all.counts);
  ValidationResult r;
  r.loss = mean.mean;
  r.standard_error = mean.standard_error;
  r.rows = mean.clusters;
  for (double c : all.counts) r.tokens += static_cast<int64_t>(c);
  return r;
}

StepReport Trainer::step() {
  StepReport report;
  if (finished()) {
    report.outcome = StepOutcome::Finished;
    return report;
  }
  if (paused_) {
    report.outcome = StepOutcome::Paused;
    return report;
  }
  const auto started = std::chrono::steady_clock::now();
  while (next_action_ < config_.schedule.size() && config_.schedule[next_action_].step <= step_) {
    const ScheduleAction& action = config_.schedule[next_action_++];
    try {
      apply(action, "schedule");
    } catch (const InputError& e) {
      // Nobody to ask at this point of a run: log it and train on.
      record_event(EventKind::Error, std::string(e.what()));
    }
  }

  const auto& t = config_.train;
  const double lr = current_lr();
  optimizer_->zero_grad();
  double micro_losses = 0;
  const bool overlapped = dp_ && begin_overlapped_step();
  gradients_reduced_ = false;
  // c10d's Reducer leaves the ranks' mean in .grad, as DDP does: the world size times the
  // rank's share makes that mean the whole batch's gradient.
  const double rank_scale = overlapped ? static_cast<double>(dp_->world_size()) : 1.0;
  for (int64_t micro = 0; micro < t.grad_accum; ++micro) {
    const uint64_t index = static_cast<uint64_t>(step_ * t.grad_accum + micro);
    auto batch = data_->batch(data::Split::Train, index, t.batch_size, t.seq_len);
    // Data-parallel: every rank draws the same global batch and trains on its rows only.
    double share = 1.0;
    if (dp_) batch = rank_share(batch, &share);
    // Earlier micro-batches accumulate locally (DDP's no_sync); the last one's backward reduces.
    reduce_in_backward_ = overlapped && micro == t.grad_accum - 1;
    micro_losses += share * backward_batch(batch, rank_scale * share / static_cast<double>(t.grad_accum));
  }
  double loss = micro_losses / static_cast<double>(t.grad_accum);
  if (dp_) loss = reduce_over_ranks(loss, gradients_reduced_);
  const double norm = optimizer_->grad_norm();
  if (!std::isfinite(loss) || !std::isfinite(norm)) {
    optimizer_->zero_grad();
    record_event(EventKind::Skip, std::string("skipped a step with a non-finite ") + (std::isfinite(loss) ? "gradient" : "loss"));
    ++step_;  // the data moves on, so the same bad batch is not retried forever
    if (anomalies_.observe_bad_step()) {
      paused_ = true;
      pause_reason_ = std::to_string(t.max_bad_steps) + " non-finite steps in a row: paused before the weights are harmed";
      record_event(EventKind::Pause, pause_reason_);
      report.outcome = StepOutcome::Paused;
    } else {
      report.outcome = StepOutcome::Skipped;
    }
    elapsed_s_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return report;
  }
  optimizer_->clip_grad_norm(t.grad_clip, norm);
  optimizer_->set_learning_rate(lr);
  optimizer_->step();
  if (anomalies_.observe_loss(loss)) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "loss spike: %.4g is %.1f robust SDs above the running median %.4g", loss,
                  anomalies_.last_score(), anomalies_.median());
    record_event(EventKind::Spike, buf);
  }
  ++step_;
  tokens_ += t.batch_size * t.seq_len * t.grad_accum;
  elapsed_s_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  MetricPoint m{step_, loss, lr, tokens_, elapsed_s_, std::nullopt, std::nullopt};
  // Data-parallel, rank 0 alone logs, so it alone evaluates (the others would only wait for
  // it at the next allreduce anyway, having spent the time).
  const bool logs = !dp_ || dp_->rank() == 0;
  if (logs && t.eval_every > 0 && (step_ % t.eval_every == 0 || finished())) {
    const auto v = evaluate();
    m.val_loss = v.loss;
    m.val_loss_se = v.standard_error;
  }
  if (step_ % t.log_every == 0 || finished() || m.val_loss) log_metric(m);
  report.metric = m;
  if (run_ && t.checkpoint_every > 0 && step_ % t.checkpoint_every == 0) save_checkpoint();
  return report;
}

model::ModuleActionResult Trainer::apply(const ScheduleAction& action, const std::string& origin) {
  const std::string who = origin == "schedule" ? "" : " (" + origin + ")";
  if (action.is_set_lr()) {
    if (!(action.value > 0)) throw InputError("learning rate must be positive");
    lr_override_ = action.value;
    record_event(EventKind::Lr, action.describe() + who);
    return {};
  }
  model::ModuleActionResult result;
  try {
    result = model::apply_module_action(model_, *action.module);
  } catch (const InputError& e) {
    throw InputError(std::string(e.what()) + who);
  }
  if (result.new_parameters) optimizer_->register_new_parameters();
  record_event(action.module->action == model::ModuleAction::Fold ? EventKind::Fold : EventKind::Module,
               result.message + who);
  return result;
}

fs::path Trainer::save_final_model() {
  if (!run_) throw std::logic_error("save_final_model needs a run directory");
  io::save_model(model_, run_->model_path());
  return run_->model_path();
}

}  // namespace headlab::train
