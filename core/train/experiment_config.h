#pragma once
// The training config JSON: {"model", "data", "train", "probe", "schedule"}. Unknown keys are
// errors; impossible values (lr <= 0, batch 0, seq_len > max_seq_len) name their field.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "data/tokenizer.h"
#include "model/model_config.h"
#include "model/module_types.h"

namespace headlab::train {

struct TrainSettings {
  int64_t steps = 1000;
  int64_t batch_size = 16;
  int64_t seq_len = 64;
  int64_t grad_accum = 1;           // micro-batches per optimizer step
  double lr = 3e-3;                 // peak learning rate
  int64_t warmup_steps = 50;        // linear warmup from 0 (default: 50, or train.steps if fewer)
  double min_lr_fraction = 0.1;     // cosine decays to lr * min_lr_fraction at `steps`
  double weight_decay = 0.1;        // decoupled; not on norms, embeddings, interaction matrices
  double beta1 = 0.9, beta2 = 0.95, adam_eps = 1e-8;
  double grad_clip = 1.0;           // max global grad norm; 0 disables
  std::map<std::string, double> module_lr_multiplier{{"kha", 1.0}, {"mea", 1.0}, {"talking_heads", 1.0}};
  int64_t log_every = 1;            // metrics.jsonl cadence
  int64_t eval_every = 100;         // validation cadence (0: never)
  int64_t eval_batches = 4;
  int64_t checkpoint_every = 0;     // 0: only at the end
  int64_t keep_checkpoints = 3;
  uint64_t seed = 1234;
  std::string device = "auto";      // cpu, cuda, auto
  bool bf16 = true;                 // autocast on CUDA; CPU always float32
  int64_t cpu_shards = 0;           // CPU: batch rows split over this many threads (0: one per core)
  double spike_threshold = 6.0;     // a loss this many robust SDs above the running median is a spike
  int64_t spike_window = 50;        // steps in that running median (see anomaly_detector.h)
  int64_t max_bad_steps = 3;        // consecutive non-finite steps before the run pauses
};

struct ProbeSettings {
  int64_t every = 0;                // probe interval in steps (0: adaptive in the GUI, off in the CLI)
  std::string text;                 // probe input; empty: a sample of the task
  double budget_fraction = 0.05;    // live probes take at most this share of the worker's time
};

// A timed action applied between two steps (before step `step` runs): a module action
// (insert, bypass, activate, freeze, fold; module + optional layers) or set_lr (value).
struct ScheduleAction {
  int64_t step = 0;
  std::optional<model::ModuleActionRequest> module;  // absent: set the learning rate to `value`
  double value = 0.0;
  bool is_set_lr() const { return !module.has_value(); }
  nlohmann::json to_json() const;
  std::string describe() const;  // "bypass kha in layers 0,1", "set lr to 0.001"
};

struct ExperimentConfig {
  nlohmann::json model;  // MODEL.md §5; vocab_size and tokenizer may be left to the data
  // Fine-tuning: a model directory (or .safetensors) to start from. Its config becomes the
  // run's model and its weights the starting point; "model" must then be absent. Module
  // actions at step 0 in the schedule (insert kha, ...) apply to it before the first step.
  std::string init_from;
  // Where a run's model came from: what init_from was when the run directory was made.
  // Informational (resume starts from the checkpoint); written instead of init_from.
  std::string initialized_from;
  nlohmann::json data;   // see data/data_source.h
  TrainSettings train;
  ProbeSettings probe;
  std::vector<ScheduleAction> schedule;

  static ExperimentConfig from_json(const nlohmann::json& json);  // validates
  nlohmann::json to_json() const;

  std::string description;  // one line, shown by `headlab-cli presets`
};

// A warmup longer than the run never reaches the peak learning rate. Allowed (a preset cut
// short with --steps is a normal thing to try) but said: the run records this note as an
// event. "" when the warmup fits.
std::string warmup_note(const TrainSettings& t);
ScheduleAction parse_schedule_action(const nlohmann::json& json, const std::string& where);

// Fills vocab_size, tokenizer and format of a training config's model from the data's
// tokenizer; rejects a vocab_size that disagrees with it.
model::ModelConfig resolve_model_config(const nlohmann::json& model_json, const data::Tokenizer& tokenizer);

// Checks the schedule against the model it will act on, before training: every action's step
// is one the run reaches, its layers exist, and each module action is allowed in the state the
// earlier actions leave the module in (model::action_allowed). Throws InputError naming
// schedule[i] and the reason.
void check_schedule(const std::vector<ScheduleAction>& schedule, const model::ModelConfig& model, int64_t steps);

// Presets: resources/presets/NAME.json (HEADLAB_PRESETS_DIR overrides the folder).
std::filesystem::path presets_dir();
std::vector<std::pair<std::string, std::string>> list_presets();  // name, one-line description
nlohmann::json load_preset(const std::string& name);

}  // namespace headlab::train
