// The public side of Session: creation (validation happens on the caller's thread, before any
// worker starts) and the lock-light readers the GUI calls at display rate.
#include "session/session.h"

#include <chrono>

#include "common/errors.h"
#include "common/runtime.h"
#include "io/model_io.h"
#include "session/session_impl.h"
#include "train/experiment_config.h"

namespace headlab::session {

std::string to_string(RunState state) {
  switch (state) {
    case RunState::Idle: return "idle";
    case RunState::Running: return "running";
    case RunState::Paused: return "paused";
    case RunState::Finished: return "finished";
    case RunState::Stopped: return "stopped";
    case RunState::Error: return "error";
  }
  return "?";
}

namespace {

// Hooks the run's metric, event and probe streams into the session's series and timeline.
void attach(Session::Impl& impl) {
  auto* p = &impl;
  auto& trainer = p->driver->trainer();
  {
    std::lock_guard<std::mutex> lock(p->series_mutex);
    p->metrics = trainer.metrics();
    p->events = trainer.events();
  }
  trainer.on_metric = [p](const MetricPoint& m) {
    std::lock_guard<std::mutex> lock(p->series_mutex);
    p->metrics.push_back(m);
  };
  trainer.on_event = [p](const EventRecord& e) {
    std::lock_guard<std::mutex> lock(p->series_mutex);
    p->events.push_back(e);
  };
  p->driver->on_probe = [p](const std::shared_ptr<const ProbeSnapshot>& snapshot) { p->keep_probe(snapshot); };
  p->device = trainer.device().str();
}

}  // namespace

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {
  impl_->probe();
  impl_->publish();
  impl_->worker = std::thread([p = impl_.get()] { p->run(); });
}

Session::~Session() {
  request_quit();
  if (impl_->worker.joinable()) impl_->worker.join();
}

void Session::request_quit() {
  {
    std::lock_guard<std::mutex> lock(impl_->command_mutex);
    impl_->quit = true;
  }
  impl_->command_cv.notify_all();
}

namespace {
// A live session probes as often as its budget allows (the run driver's adaptive cadence).
run::DriverOptions live_session_options() {
  run::DriverOptions options;
  options.when_unset = run::ProbeCadence::Adaptive;
  return options;
}
}  // namespace

std::unique_ptr<Session> Session::create_training(const nlohmann::json& experiment_config, const std::string& run_dir) {
  auto config = train::ExperimentConfig::from_json(experiment_config);
  auto impl = std::make_unique<Impl>();
  impl->driver = std::make_unique<run::RunDriver>(config, run_dir, live_session_options());
  impl->run_dir = run_dir;
  attach(*impl);
  return std::unique_ptr<Session>(new Session(std::move(impl)));
}

std::unique_ptr<Session> Session::create_resume(const std::string& run_dir, std::optional<int64_t> total_steps) {
  auto impl = std::make_unique<Impl>();
  impl->driver = run::RunDriver::resume(run_dir, total_steps, live_session_options());
  impl->run_dir = run_dir;
  attach(*impl);
  return std::unique_ptr<Session>(new Session(std::move(impl)));
}

std::unique_ptr<Session> Session::create_inspection(const std::string& model_path, int64_t trained_step) {
  auto impl = std::make_unique<Impl>();
  impl->model = io::load_model(model_path);
  impl->inspection_step = trained_step;
  impl->inspection_probe = probe::resolve_probe_input(impl->model->config(), nullptr, 0, "");
  impl->device = "cpu";
  return std::unique_ptr<Session>(new Session(std::move(impl)));
}

void Session::post(Command command) {
  {
    std::lock_guard<std::mutex> lock(impl_->command_mutex);
    impl_->commands.push_back(std::move(command));
  }
  impl_->command_cv.notify_all();
}

void Session::post_all(std::vector<Command> commands) {
  {
    std::lock_guard<std::mutex> lock(impl_->command_mutex);
    for (auto& c : commands) impl_->commands.push_back(std::move(c));
  }
  impl_->command_cv.notify_all();
}

std::shared_ptr<const Snapshot> Session::latest() const {
  std::lock_guard<std::mutex> lock(impl_->publish_mutex);
  return impl_->latest;
}

std::vector<MetricPoint> Session::metrics_since(size_t from) const {
  std::lock_guard<std::mutex> lock(impl_->series_mutex);
  if (from >= impl_->metrics.size()) return {};
  return {impl_->metrics.begin() + static_cast<std::ptrdiff_t>(from), impl_->metrics.end()};
}

std::vector<EventRecord> Session::events_since(size_t from) const {
  std::lock_guard<std::mutex> lock(impl_->series_mutex);
  if (from >= impl_->events.size()) return {};
  return {impl_->events.begin() + static_cast<std::ptrdiff_t>(from), impl_->events.end()};
}

std::vector<std::shared_ptr<const ProbeSnapshot>> Session::probe_history() const {
  std::lock_guard<std::mutex> lock(impl_->publish_mutex);
  return impl_->timeline.entries();
}

std::shared_ptr<const ProbeSnapshot> Session::probe_at(int64_t step) const {
  std::lock_guard<std::mutex> lock(impl_->publish_mutex);
  return impl_->timeline.at(step);
}

bool Session::wait_until(const std::function<bool(const Snapshot&)>& pred, double timeout_seconds) const {
  std::unique_lock<std::mutex> lock(impl_->publish_mutex);
  return impl_->publish_cv.wait_for(lock, std::chrono::duration<double>(timeout_seconds),
                                    [&] { return impl_->latest && pred(*impl_->latest); });
}

}  // namespace headlab::session
