#pragma once
// The live experiment: a worker thread that owns every tensor and runs the training loop,
// commands applied between two steps, and plain snapshots published for the GUI. This header
// has no torch: the GUI includes it. See ARCHITECTURE.md "Data flow".
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/records.h"
#include "probe/snapshot.h"

namespace headlab::session {

enum class RunState { Idle, Running, Paused, Finished, Stopped, Error };
std::string to_string(RunState state);

// A request from the user. Applied by the worker between two steps, in order, and echoed as
// an event with its step (kind "command", or the trainer's own kinds for module/lr changes).
struct Command {
  enum class Kind {
    Start,             // begin (or continue) training
    Pause,
    Resume,
    Step,              // exactly one step, then paused
    Stop,              // stop training; the session stays open for inspection
    SetLearningRate,   // value
    ModuleAction,      // action (insert, activate, bypass, freeze, fold), module, layers
    SetProbeInput,     // text (empty: the task's default probe)
    ProbeNow,
    SaveCheckpoint,    // path (empty: the run directory's checkpoints/step-N)
    LoadCheckpoint,    // path of a checkpoint directory (training) or model directory
    SetProbeInterval,  // interval in steps; 0 = adaptive within the time budget
  };
  Kind kind = Kind::ProbeNow;
  double value = 0;
  std::string action, module, text, path;
  std::vector<int64_t> layers;
  int64_t interval = 0;

  static Command start() { return {Kind::Start}; }
  static Command pause() { return {Kind::Pause}; }
  static Command resume() { return {Kind::Resume}; }
  static Command step() { return {Kind::Step}; }
  static Command stop() { return {Kind::Stop}; }
  static Command probe_now() { return {Kind::ProbeNow}; }
  static Command set_lr(double lr) { Command c{Kind::SetLearningRate}; c.value = lr; return c; }
  static Command module_action(std::string action, std::string module, std::vector<int64_t> layers = {}) {
    Command c{Kind::ModuleAction};
    c.action = std::move(action);
    c.module = std::move(module);
    c.layers = std::move(layers);
    return c;
  }
  static Command set_probe_input(std::string text) { Command c{Kind::SetProbeInput}; c.text = std::move(text); return c; }
  static Command save_checkpoint(std::string path = {}) { Command c{Kind::SaveCheckpoint}; c.path = std::move(path); return c; }
  static Command load_checkpoint(std::string path) { Command c{Kind::LoadCheckpoint}; c.path = std::move(path); return c; }
  static Command set_probe_interval(int64_t n) { Command c{Kind::SetProbeInterval}; c.interval = n; return c; }
};

// One cell of the layers x modules table.
struct ModuleCell {
  int layer = 0;
  std::string module;  // kha, mea, talking_heads
  std::string state;   // active, frozen, bypassed, absent
};

struct SessionStatus {
  RunState state = RunState::Idle;
  bool training = true;  // false: inspection mode (a loaded model, probes only)
  int64_t step = 0;
  int64_t total_steps = 0;
  int64_t tokens = 0;
  double elapsed_s = 0;
  double tokens_per_second = 0;
  double eta_seconds = -1;  // -1: unknown
  double lr = 0;
  std::string message;      // the last error or pause reason, for the status bar
  std::string device;       // "cpu", "cuda"
  std::string run_dir;      // empty without a run directory
  std::string model_config_json;  // MODEL.md §5 of the live model
  std::vector<ModuleCell> modules;
  int64_t probe_interval = 0;       // steps between probes now (adaptive or fixed)
  double probe_time_fraction = 0;   // share of the worker's time spent probing
};

struct Snapshot {
  SessionStatus status;
  std::shared_ptr<const ProbeSnapshot> probe;  // the newest probe; null before the first
};

class Session {
 public:
  // A training session for an experiment config (see train/experiment_config.h). Throws
  // InputError before any thread starts or file is written when the config is bad. An empty
  // run_dir trains without writing a run directory (checkpoints need an explicit path then).
  static std::unique_ptr<Session> create_training(const nlohmann::json& experiment_config, const std::string& run_dir);
  // Continues a run directory from its newest checkpoint (Idle until Start).
  static std::unique_ptr<Session> create_resume(const std::string& run_dir);
  // Inspection mode: a model directory or a training checkpoint, probes only.
  static std::unique_ptr<Session> create_inspection(const std::string& model_path);
  ~Session();  // stops and joins the worker

  void post(Command command);  // thread-safe; never waits for a step
  // Several commands that must apply at the same step boundary, in order (e.g. "start, then
  // pause at once"): separate post() calls may straddle a step the worker runs in between.
  void post_all(std::vector<Command> commands);
  std::shared_ptr<const Snapshot> latest() const;  // never waits for the worker
  // The metric series and event list, incrementally: everything from index `from` on.
  std::vector<MetricPoint> metrics_since(size_t from) const;
  std::vector<EventRecord> events_since(size_t from) const;
  // Bounded, decimated timeline of probe snapshots (oldest first), for scrubbing.
  std::vector<std::shared_ptr<const ProbeSnapshot>> probe_history() const;
  // The newest snapshot of the timeline at or before `step` (null if none).
  std::shared_ptr<const ProbeSnapshot> probe_at(int64_t step) const;
  // Blocks until pred(latest()) holds or the timeout passes (tests, headless demo).
  bool wait_until(const std::function<bool(const Snapshot&)>& pred, double timeout_seconds) const;
  struct Impl;

 private:
  explicit Session(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace headlab::session
