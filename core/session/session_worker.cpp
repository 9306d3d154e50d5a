// The worker thread: commands between steps, training through the run driver, publishing.
// Every tensor lives here; what leaves is a plain Snapshot. Errors become events and a paused
// or error state, never a dead process.
#include <algorithm>
#include <chrono>

#include "common/errors.h"
#include "probe/probe_runner.h"
#include "session/session_impl.h"

namespace headlab::session {
namespace {

// The GUI redraws at ~30 Hz: a snapshot per step of a tiny model would only be thrown away.
constexpr std::chrono::milliseconds kPublishInterval{33};

}  // namespace

void Session::Impl::set_state(RunState s) {
  std::lock_guard<std::mutex> lock(command_mutex);
  state = s;
}

RunState Session::Impl::current_state() const {
  std::lock_guard<std::mutex> lock(command_mutex);
  return state;
}

void Session::Impl::record_event(EventKind kind, const std::string& message) {
  if (driver) {
    driver->trainer().record_event(kind, message);  // reaches `events` through on_event
    return;
  }
  std::lock_guard<std::mutex> lock(series_mutex);
  events.push_back({0, kind, message});
}

void Session::Impl::run() {
  for (;;) {
    std::deque<Command> batch;
    {
      std::unique_lock<std::mutex> lock(command_mutex);
      command_cv.wait(lock, [&] { return quit || !commands.empty() || state == RunState::Running; });
      if (quit) return;
      batch.swap(commands);
    }
    try {
      for (const auto& c : batch) {
        try {
          apply(c);
        } catch (const InputError& e) {
          // The user asked for something impossible: say so, keep the run as it was.
          record_event(EventKind::Error, e.what());
          status_message = e.what();
        }
      }
      if (driver && current_state() == RunState::Running) train_one_step();
      if (!batch.empty() && current_state() != RunState::Running) publish();
    } catch (const std::exception& e) {
      // A bad batch, a non-finite value or CUDA out of memory: stop the run, keep the process.
      set_state(RunState::Error);
      record_event(EventKind::Error, e.what());
      publish(e.what());
    }
  }
}

void Session::Impl::train_one_step() {
  const auto report = driver->step();  // probes when due; saves at the end of the run
  if (report.outcome == train::StepOutcome::Paused) {
    set_state(RunState::Paused);
    publish(driver->trainer().pause_reason());
    return;
  }
  if (driver->finished()) {
    set_state(RunState::Finished);
    publish();
    return;
  }
  publish({}, /*throttled=*/true);
}

void Session::Impl::keep_probe(const std::shared_ptr<const ProbeSnapshot>& snapshot) {
  std::lock_guard<std::mutex> lock(publish_mutex);
  newest_probe = snapshot;
  timeline.add(snapshot);
}

void Session::Impl::probe() {
  if (driver) {
    driver->probe();  // reaches the timeline through on_probe
    return;
  }
  keep_probe(std::make_shared<const ProbeSnapshot>(
      probe::run_probe(model, inspection_probe.tokens, inspection_probe.labels, inspection_step)));
}

void Session::Impl::set_probe_text(const std::string& text) {
  if (driver) {
    driver->set_probe_text(text);
    return;
  }
  inspection_probe = probe::resolve_probe_input(model->config(), nullptr, 0, text);
}

void Session::Impl::publish(const std::string& message, bool throttled) {
  const auto now = std::chrono::steady_clock::now();
  if (throttled && now - last_publish < kPublishInterval) return;
  last_publish = now;
  if (!message.empty()) status_message = message;
  auto snap = std::make_shared<Snapshot>();
  auto& s = snap->status;
  s.state = current_state();
  s.training = driver != nullptr;
  s.message = status_message;
  s.device = device;
  s.run_dir = run_dir;
  auto& m = live_model();
  const auto& cfg = m->config();
  if (model_config_stale) {
    model_config_json = cfg.to_json().dump();
    model_config_stale = false;
  }
  s.model_config_json = model_config_json;
  for (int64_t l = 0; l < cfg.n_layers; ++l)
    for (auto kind : model::kAllModuleKinds) s.modules.push_back({static_cast<int>(l), kind, m->module_state(l, kind)});
  if (driver) {
    const auto& t = driver->trainer();
    s.step = t.step_count();
    s.total_steps = t.config().train.steps;
    s.tokens = t.tokens_seen();
    s.elapsed_s = t.elapsed_seconds();
    s.tokens_per_second = s.elapsed_s > 0 ? static_cast<double>(s.tokens) / s.elapsed_s : 0;
    s.eta_seconds = s.step > 0 ? (s.total_steps - s.step) * s.elapsed_s / static_cast<double>(s.step) : -1;
    s.lr = t.current_lr();
    s.probe_interval = driver->probe_budget().interval();
    s.probe_time_fraction = driver->probe_budget().spent_fraction();
  } else {
    s.step = inspection_step;
  }
  {
    std::lock_guard<std::mutex> lock(publish_mutex);
    snap->probe = newest_probe;
    snap->sample = newest_sample;
    latest = std::move(snap);
  }
  publish_cv.notify_all();
}

}  // namespace headlab::session
