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

torch::Tensor from_hex(const std::string& s) {
  if (s.size() % 2 != 0) throw InputError("trainer_state.json: rng_state is not hex");
  auto t = torch::empty({static_cast<int64_t>(s.size() / 2)}, torch::kUInt8);
  auto* p = t.data_ptr<uint8_t>();
  for (size_t i = 0; i < s.size() / 2; ++i) p[i] = static_cast<uint8_t>(std::stoul(s.substr(2 * i, 2), nullptr, 16));
  return t;
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
                {"rng_state", to_hex(compat::cpu_rng_state())}};
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
  const json state = read_json_file(dir / kStateFile);
  if (state.value("format", "") != "headlab-trainer/1")
    throw InputError((dir / kStateFile).string() + ": unknown format '" + state.value("format", "") + "'");
  model_ = io::load_model(dir, device_);
  if (model_->config().vocab_size != data_->tokenizer().vocab_size())
    throw InputError(dir.string() + ": the checkpoint's vocabulary does not match the run's data");
  optimizer_ = std::make_unique<TrainingOptimizer>(model_, config_.train);
  try {
    for (auto it = state.at("frozen").begin(); it != state.at("frozen").end(); ++it) {
      const std::string& entry = it.key();
      const auto at = entry.find('@');
      model_->set_module_state(std::stoll(entry.substr(at + 1)), model::module_kind_from_string(entry.substr(0, at)),
                               ModuleState::Frozen);
    }
    auto moments = io::read_safetensors(dir / kOptimizerFile);
    optimizer_->load_state(moments.tensors, state.at("optimizer"));
    step_ = state.at("step").get<int64_t>();
    tokens_ = state.at("tokens").get<int64_t>();
    // A checkpoint is trusted only as far as it is consistent: a step that is not the one its
    // directory is named after (or negative) would resume with a wrong learning rate or end
    // the run at once.
    const std::string name = dir.filename().string();
    if (step_ < 0 || tokens_ < 0 || (name.rfind("step-", 0) == 0 && name != "step-" + std::to_string(step_)))
      throw InputError((dir / kStateFile).string() + ": step " + std::to_string(step_) +
                       " does not match the checkpoint '" + name + "'");
    elapsed_s_ = state.at("elapsed_s").get<double>();
    next_action_ = state.at("next_action").get<size_t>();
    lr_override_.reset();
    if (state.at("lr_override").is_number()) lr_override_ = state.at("lr_override").get<double>();
    anomalies_.load(state.at("anomalies"));
    compat::set_cpu_rng_state(from_hex(state.at("rng_state").get<std::string>()));
  } catch (const json::exception& e) {
    throw InputError((dir / kStateFile).string() + ": malformed trainer state: " + e.what());
  }
}

}  // namespace headlab::train
