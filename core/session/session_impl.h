#pragma once
// Session internals (torch side). Only core/session/*.cpp include this.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "model/transformer.h"
#include "run/run_driver.h"
#include "session/probe_timeline.h"
#include "session/session.h"

namespace headlab::session {

struct Session::Impl {
  // --- owned by the worker thread once it runs ---
  std::unique_ptr<run::RunDriver> driver;  // training sessions: the run, as every front end drives it
  model::Transformer model{nullptr};       // inspection sessions (the driver's model otherwise)
  probe::ProbeInput inspection_probe;        // inspection sessions' probe input
  int64_t inspection_step = 0;               // how far an inspected model was trained, when known
  std::string device;
  std::string run_dir;
  // The live model's config.json, serialized again only after something changed it.
  std::string model_config_json;
  bool model_config_stale = true;
  std::chrono::steady_clock::time_point last_publish{};

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

  // Worker side (session_worker.cpp, session_commands.cpp).
  void run();
  void apply(const Command& command);
  void train_one_step();
  void probe();
  void keep_probe(const std::shared_ptr<const ProbeSnapshot>& snapshot);
  void sample(const cmd::Sample& command);  // session_sample.cpp
  // Publishes a new Snapshot; `throttled` ones are skipped when the last was under ~33 ms ago.
  void publish(const std::string& message = {}, bool throttled = false);
  void record_event(EventKind kind, const std::string& message);
  void set_state(RunState s);
  RunState current_state() const;
  model::Transformer& live_model() { return driver ? driver->trainer().model() : model; }
  int64_t current_step() const { return driver ? driver->step_count() : 0; }
  void set_probe_text(const std::string& text);
  std::string status_message;
};

}  // namespace headlab::session
