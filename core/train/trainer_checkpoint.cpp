// Checkpoints for exact resume: the model (MODEL.md §4) plus everything the trainer's next
// step depends on — optimizer moments and step counts by parameter name, the step and token
// counters, the anomaly detector, the LR override, the schedule position, frozen modules and
// the torch RNG state. Written into a temp directory and renamed into place.
#include <cstdio>

#include "common/errors.h"
#include "common/json_file.h"
#include "common/torch_compat.h"
#include "io/atomic_file.h"
#include "io/model_io.h"
#include "io/safetensors.h"
#include "train/trainer.h"
#include "train/trainer_state_file.h"

namespace headlab::train {
namespace fs = std::filesystem;
using model::ModuleKind;
using model::ModuleState;
using nlohmann::json;

namespace {

const char* kOptimizerFile = "optimizer.safetensors";
const char* kStateFile = "trainer_state.json";

std::string to_hex(const torch::Tensor& bytes) {
  auto t = bytes.contiguous().to(torch::kCPU);
  const auto* p = t.data_ptr<uint8_t>();
  std::string s;
  s.reserve(t.numel() * 2);
  char buf[3];
  for (int64_t i = 0; i < t.numel(); ++i) {
    std::snprintf(buf, sizeof buf, "%02x", p[i]);
    s += buf;
  }
  return s;
}

}  // namespace

void Trainer::write_checkpoint(const fs::path& dir) {
  io::AtomicDirectory target(dir);
  const fs::path tmp = target.temp_path();
  io::write_model_files(model_, tmp);
  io::write_safetensors(tmp / kOptimizerFile, optimizer_->state_tensors(), {});
  json modules = json::object();
  const auto& mc = model_->config();
  for (int64_t l = 0; l < mc.n_layers; ++l)
    for (ModuleKind k : model::kAllModuleKinds)
      if (model_->module_state(l, k) == ModuleState::Frozen) modules[model::bypass_entry(k, l)] = "frozen";
  json state = {{"format", "headlab-trainer/1"},
                {"step", step_},
                {"tokens", tokens_},
                {"elapsed_s", elapsed_s_},
                {"data_index", step_ * config_.train.grad_accum},
                {"next_action", next_action_},
                {"lr_override", lr_override_ ? json(*lr_override_) : json(nullptr)},
                {"anomalies", anomalies_.to_json()},
                {"optimizer", optimizer_->state_json()},
                {"frozen", modules},
                {"rng_state", to_hex(compat::cpu_rng_state())},
                {"run_config", run_config_}};
  io::write_file_atomic(tmp / kStateFile, state.dump(2) + "\n");
  if (before_checkpoint_commit) before_checkpoint_commit(tmp);
  target.commit();
}

fs::path Trainer::save_checkpoint() {
  if (!run_) throw std::logic_error("save_checkpoint needs a run directory");
  const fs::path dir = run_->checkpoint_path(step_);
  write_checkpoint(dir);
  run_->prune_checkpoints(config_.train.keep_checkpoints);
  record_event(EventKind::Checkpoint, "saved " + fs::relative(dir, run_->path()).string());
  return dir;
}

void Trainer::load_checkpoint(const fs::path& dir) {
  if (!fs::exists(dir / kStateFile)) throw InputError(dir.string() + ": not a training checkpoint (no " + kStateFile + ")");
  const TrainerStateFile state = read_trainer_state(dir / kStateFile);
  // A checkpoint is trusted only as far as it is consistent: a step that is not the one its
  // directory is named after would resume with a wrong learning rate or end the run at once.
  const std::string name = dir.filename().string();
  if (name.rfind("step-", 0) == 0 && name != "step-" + std::to_string(state.step))
    throw InputError((dir / kStateFile).string() + ": step " + std::to_string(state.step) +
                     " does not match the checkpoint '" + name + "'");
  if (state.step > config_.train.steps)
    throw InputError((dir / kStateFile).string() + ": step " + std::to_string(state.step) + " is beyond the run's " +
                     std::to_string(config_.train.steps) + " steps (train.steps)");
  model_ = io::load_model(dir, device_);
  if (model_->config().vocab_size != data_->tokenizer().vocab_size())
    throw InputError(dir.string() + ": the checkpoint's vocabulary does not match the run's data");
  for (const FrozenModule& m : state.frozen) {
    if (model_->module_state(m.layer, m.kind) == ModuleState::Absent)
      throw InputError((dir / kStateFile).string() + ": frozen entry '" + model::bypass_entry(m.kind, m.layer) +
                       "' names a module the checkpoint's model does not have");
  }
  auto rng = torch::from_blob(const_cast<uint8_t*>(state.rng_state.data()),
                              {static_cast<int64_t>(state.rng_state.size())}, torch::kUInt8)
                 .clone();
  try {
    compat::set_cpu_rng_state(rng);
  } catch (const c10::Error&) {
    throw InputError((dir / kStateFile).string() + ": rng_state is not a CPU generator state (" +
                     std::to_string(state.rng_state.size()) + " bytes)");
  }
  optimizer_ = std::make_unique<TrainingOptimizer>(model_, config_.train);
  for (const FrozenModule& m : state.frozen) model_->set_module_state(m.layer, m.kind, ModuleState::Frozen);
  auto moments = io::read_safetensors(dir / kOptimizerFile);
  optimizer_->load_state(moments.tensors, state.optimizer);
  step_ = state.step;
  tokens_ = state.tokens;
  elapsed_s_ = state.elapsed_s;
  next_action_ = state.next_action;
  lr_override_ = state.lr_override;
  anomalies_.load(state.anomalies);
}

}  // namespace headlab::train
