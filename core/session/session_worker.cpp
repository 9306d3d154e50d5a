// The worker thread: commands between steps, training, budgeted probes, publishing. Every
// tensor lives here; what leaves is a plain Snapshot. Errors become events and a paused or
// error state, never a dead process.
#include <algorithm>
#include <chrono>

#include "common/errors.h"
#include "data/tokenizer.h"
#include "io/model_io.h"
#include "model/fold.h"
#include "probe/probe_runner.h"
#include "session/session_impl.h"

namespace headlab::session {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

void Session::Impl::set_state(RunState s) {
  std::lock_guard<std::mutex> lock(command_mutex);
  state = s;
}

RunState Session::Impl::current_state() const {
  std::lock_guard<std::mutex> lock(command_mutex);
  return state;
}

void Session::Impl::record_event(const std::string& kind, const std::string& message) {
  if (trainer) {
    trainer->record_event(kind, message);  // reaches `events` through on_event
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
          record_event("error", e.what());
          status_message = e.what();
        }
      }
      const RunState s = current_state();
      if (trainer && s == RunState::Running) train_one_step();
      if (!batch.empty() && current_state() != RunState::Running) publish();
    } catch (const std::exception& e) {
      // A bad batch, a non-finite value or CUDA out of memory: stop the run, keep the process.
      set_state(RunState::Error);
      record_event("error", e.what());
      publish(e.what());
    }
  }
}

void Session::Impl::apply(const Command& c) {
  using K = Command::Kind;
  const bool training = trainer != nullptr;
  auto need_training = [&](const char* what) {
    if (!training) throw InputError(std::string(what) + " needs a training session (this one inspects a model)");
  };
  switch (c.kind) {
    case K::Start:
    case K::Resume:
      need_training(c.kind == K::Start ? "start" : "resume");
      if (trainer->finished()) {
        record_event("command", "the run has finished all its steps");
        set_state(RunState::Finished);
        break;
      }
      trainer->clear_pause();
      record_event("command", c.kind == K::Start ? "start" : "resume");
      set_state(RunState::Running);
      break;
    case K::Pause:
      if (current_state() == RunState::Running) set_state(RunState::Paused);
      record_event("command", "pause");
      break;
    case K::Step:
      // Runs right here, so that commands queued after it apply after this step.
      need_training("step");
      if (trainer->finished()) break;
      set_state(RunState::Paused);
      trainer->clear_pause();
      record_event("command", "single step");
      train_one_step();
      break;
    case K::Stop:
      if (training) set_state(RunState::Stopped);
      record_event("command", "stop");
      break;
    case K::SetLearningRate: {
      need_training("set lr");
      train::ScheduleAction a;
      a.step = current_step();
      a.action = "set_lr";
      a.value = c.value;
      if (!(c.value > 0)) throw InputError("learning rate must be positive");
      trainer->apply(a, "user");
      break;
    }
    case K::ModuleAction: {
      train::ScheduleAction a;
      a.step = current_step();
      a.action = c.action;
      a.module = c.module;
      a.layers = c.layers;
      if (training) {
        trainer->apply(a, "user");
      } else {
        // Inspection: the same actions on the loaded model, without an optimizer.
        auto kind = model::module_kind_from_string(c.module);
        auto layers = c.layers;
        if (layers.empty())
          for (int64_t l = 0; l < model->config().n_layers; ++l)
            if (c.action == "insert" || model->module_state(l, kind) != model::ModuleState::Absent) layers.push_back(l);
        if (c.action == "insert") model->insert_module(kind, layers);
        else if (c.action == "fold") model::fold_modules(model, {kind}, c.layers);
        else
          for (int64_t l : layers)
            model->set_module_state(l, kind, c.action == "bypass"   ? model::ModuleState::Bypassed
                                             : c.action == "freeze" ? model::ModuleState::Frozen
                                                                    : model::ModuleState::Active);
        record_event("module", a.describe() + " (user)");
      }
      probe(true);
      break;
    }
    case K::SetProbeInput:
      set_probe_text(c.text);
      record_event("command", c.text.empty() ? "probe input: the task's default" : "probe input: " + c.text);
      probe(true);
      break;
    case K::ProbeNow:
      record_event("command", "probe now");
      probe(true);
      break;
    case K::SaveCheckpoint:
      if (training) {
        if (c.path.empty()) {
          trainer->save_checkpoint();  // records its own event
        } else {
          trainer->write_checkpoint(c.path);
          record_event("checkpoint", "saved " + c.path);
        }
      } else {
        if (c.path.empty()) throw InputError("save: choose a directory for the model");
        io::save_model(model, c.path);
        record_event("checkpoint", "saved " + c.path);
      }
      break;
    case K::LoadCheckpoint:
      if (training) {
        trainer->load_checkpoint(c.path);
        record_event("checkpoint", "loaded " + c.path + " at step " + std::to_string(trainer->step_count()));
      } else {
        model = io::load_model(c.path);
        default_probe_input();
        record_event("checkpoint", "loaded " + c.path);
      }
      probe(true);
      break;
    case K::SetProbeInterval:
      budget.set_fixed_interval(std::max<int64_t>(0, c.interval));
      record_event("command", c.interval > 0 ? "probe every " + std::to_string(c.interval) + " steps"
                                             : "probe interval adaptive");
      break;
    case K::Sample:
      sample(c);
      break;
  }
}

void Session::Impl::train_one_step() {
  const auto started = std::chrono::steady_clock::now();
  auto report = trainer->step();
  const double step_s = seconds_since(started);
  budget.record_step(step_s);
  budget.record_busy(step_s);
  switch (report.outcome) {
    case train::StepOutcome::Finished:
      set_state(RunState::Finished);
      break;
    case train::StepOutcome::Paused:
      set_state(RunState::Paused);
      publish(trainer->pause_reason());
      return;
    default:
      break;
  }
  if (trainer->finished()) {
    set_state(RunState::Finished);
    if (trainer->run_directory()) {
      trainer->save_checkpoint();
      trainer->save_final_model();
    }
    probe(true);
  } else if (trainer->step_count() - last_probe_step >= budget.interval()) {
    probe(false);
  }
  publish();
}

void Session::Impl::probe(bool forced) {
  (void)forced;
  if (probe_tokens.size() < 2) return;
  const auto started = std::chrono::steady_clock::now();
  auto snapshot = std::make_shared<ProbeSnapshot>(
      probe::run_probe(live_model(), probe_tokens, probe_labels, current_step()));
  const double seconds = seconds_since(started);
  budget.record_probe(seconds);
  budget.record_busy(seconds);
  last_probe_step = current_step();
  std::lock_guard<std::mutex> lock(publish_mutex);
  newest_probe = snapshot;
  timeline.add(snapshot);
}

void Session::Impl::set_probe_text(const std::string& text) {
  if (text.empty()) {
    default_probe_input();
    return;
  }
  const auto& cfg = live_model()->config();
  if (cfg.tokenizer.is_null()) throw InputError("this model has no tokenizer: the probe needs token ids");
  auto tokenizer = data::Tokenizer::from_json(cfg.tokenizer);
  auto ids = tokenizer->encode(text);
  if (ids.size() < 2) throw InputError("the probe text needs at least two tokens");
  if (static_cast<int64_t>(ids.size()) > cfg.max_seq_len) ids.resize(cfg.max_seq_len);
  probe_tokens = ids;
  probe_labels.clear();
  for (int64_t id : ids) probe_labels.push_back(tokenizer->token_label(id));
}

void Session::Impl::default_probe_input() {
  const auto& cfg = live_model()->config();
  const int64_t length = std::min<int64_t>(64, trainer ? trainer->config().train.seq_len : cfg.max_seq_len);
  std::unique_ptr<data::Tokenizer> tokenizer;
  if (!cfg.tokenizer.is_null()) tokenizer = data::Tokenizer::from_json(cfg.tokenizer);
  if (trainer) {
    probe_tokens = trainer->data().probe_tokens(length);
  } else {
    // A loaded model has no data: a sequence that repeats its first half shows induction heads.
    const int64_t half = std::max<int64_t>(2, length / 2), V = cfg.vocab_size;
    probe_tokens.clear();
    for (int64_t i = 0; i < half; ++i) probe_tokens.push_back((i * 7 + 3) % V);
    for (int64_t i = 0; i < half && static_cast<int64_t>(probe_tokens.size()) < length; ++i)
      probe_tokens.push_back(probe_tokens[i]);
    if (tokenizer && cfg.tokenizer.value("type", "") == "bytes") {
      const std::string text = "the cat sat on the mat. the cat sat on the mat.";
      probe_tokens = tokenizer->encode(text.substr(0, std::min<size_t>(text.size(), length)));
    }
  }
  probe_labels.clear();
  for (int64_t id : probe_tokens) probe_labels.push_back(tokenizer ? tokenizer->token_label(id) : std::to_string(id));
}

void Session::Impl::publish(const std::string& message) {
  if (!message.empty()) status_message = message;
  auto snap = std::make_shared<Snapshot>();
  auto& s = snap->status;
  s.state = current_state();
  s.training = trainer != nullptr;
  s.message = status_message;
  s.device = device;
  s.run_dir = run_dir;
  auto& m = live_model();
  const auto& cfg = m->config();
  s.model_config_json = cfg.to_json().dump();
  for (int64_t l = 0; l < cfg.n_layers; ++l)
    for (auto kind : model::kAllModuleKinds)
      s.modules.push_back({static_cast<int>(l), model::to_string(kind), model::to_string(m->module_state(l, kind))});
  if (trainer) {
    s.step = trainer->step_count();
    s.total_steps = trainer->config().train.steps;
    s.tokens = trainer->tokens_seen();
    s.elapsed_s = trainer->elapsed_seconds();
    s.tokens_per_second = s.elapsed_s > 0 ? static_cast<double>(s.tokens) / s.elapsed_s : 0;
    s.eta_seconds = s.step > 0 ? (s.total_steps - s.step) * s.elapsed_s / static_cast<double>(s.step) : -1;
    s.lr = trainer->current_lr();
  }
  s.probe_interval = budget.interval();
  s.probe_time_fraction = budget.spent_fraction();
  {
    std::lock_guard<std::mutex> lock(publish_mutex);
    snap->probe = newest_probe;
    snap->sample = newest_sample;
    latest = std::move(snap);
  }
  publish_cv.notify_all();
}

}  // namespace headlab::session
