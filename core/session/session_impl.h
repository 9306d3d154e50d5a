#pragma once
// Session internals (torch side). Only core/session/*.cpp include this.
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "model/transformer.h"
#include "session/probe_budget.h"
#include "session/probe_timeline.h"
#include "session/session.h"
#include "train/trainer.h"

namespace headlab::session {

struct Session::Impl {
  // --- owned by the worker thread once it runs ---
  std::unique_ptr<train::Trainer> trainer;  // training sessions
  model::Transformer model{nullptr};        // inspection sessions (trainer's model otherwise)
  std::vector<int64_t> probe_tokens;
  std::vector<std::string> probe_labels;
  ProbeBudget budget;
  int64_t last_probe_step = -1;
  std::string device;
  std::string run_dir;

  // --- shared, each under its own short lock ---
  mutable std::mutex command_mutex;
  std::condition_variable command_cv;
  std::deque<Command> commands;
  bool quit = false;
  RunState state = RunState::Idle;  // written by the worker under command_mutex

  mutable std::mutex publish_mutex;
  mutable std::condition_variable publish_cv;
  std::shared_ptr<const Snapshot> latest;
  ProbeTimeline timeline;
  std::shared_ptr<const ProbeSnapshot> newest_probe;
  std::shared_ptr<const SampleResult> newest_sample;

  mutable std::mutex series_mutex;
  std::vector<MetricPoint> metrics;
  std::vector<EventRecord> events;

  std::thread worker;

  // Worker side (session_worker.cpp).
  void run();
  void apply(const Command& command);
  void train_one_step();
  void probe(bool forced);
  void sample(const Command& command);  // session_sample.cpp
  void publish(const std::string& message = {});
  void record_event(const std::string& kind, const std::string& message);
  void set_state(RunState s);
  RunState current_state() const;
  model::Transformer& live_model() { return trainer ? trainer->model() : model; }
  int64_t current_step() const { return trainer ? trainer->step_count() : 0; }
  void set_probe_text(const std::string& text);
  void default_probe_input();
  std::string status_message;
};

}  // namespace headlab::session
