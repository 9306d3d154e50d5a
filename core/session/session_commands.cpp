// The user's commands, applied by the worker between two steps. Training commands go to the
// run driver; an inspection session (a loaded model, no run) takes the module actions and
// probes on its model through the same functions. An impossible request throws InputError,
// which the worker turns into an "error" event with nothing changed.
#include "common/errors.h"
#include "io/model_io.h"
#include "session/session_impl.h"

namespace headlab::session {
namespace {
template <class>
inline constexpr bool kUnhandled = false;
}  // namespace

void Session::Impl::apply(const Command& command) {
  const bool training = driver != nullptr;
  auto need_training = [&](const char* what) {
    if (!training) throw InputError(std::string(what) + " needs a training session (this one inspects a model)");
  };
  auto start = [&](const char* what) {
    need_training(what);
    if (driver->finished()) {
      record_event(EventKind::Command, "the run has finished all its steps");
      set_state(RunState::Finished);
      return;
    }
    driver->trainer().clear_pause();
    record_event(EventKind::Command, what);
    set_state(RunState::Running);
  };
  std::visit(
      [&](const auto& c) {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, cmd::Start>) {
          start("start");
        } else if constexpr (std::is_same_v<T, cmd::Resume>) {
          start("resume");
        } else if constexpr (std::is_same_v<T, cmd::Pause>) {
          if (current_state() == RunState::Running) set_state(RunState::Paused);
          record_event(EventKind::Command, "pause");
        } else if constexpr (std::is_same_v<T, cmd::Step>) {
          // Runs right here, so that commands queued after it apply after this step.
          need_training("step");
          if (driver->finished()) return;
          set_state(RunState::Paused);
          driver->trainer().clear_pause();
          record_event(EventKind::Command, "single step");
          train_one_step();
        } else if constexpr (std::is_same_v<T, cmd::Stop>) {
          if (training) set_state(RunState::Stopped);
          record_event(EventKind::Command, "stop");
        } else if constexpr (std::is_same_v<T, cmd::SetLearningRate>) {
          need_training("set lr");
          driver->set_learning_rate(c.lr);
        } else if constexpr (std::is_same_v<T, cmd::ModuleAction>) {
          if (training) {
            driver->apply(c.request);
          } else {
            const auto result = model::apply_module_action(model, c.request);
            record_event(c.request.action == model::ModuleAction::Fold ? EventKind::Fold : EventKind::Module,
                         result.message + " (user)");
          }
          model_config_stale = true;
          probe();
        } else if constexpr (std::is_same_v<T, cmd::SetProbeInput>) {
          set_probe_text(c.text);
          record_event(EventKind::Command, c.text.empty() ? "probe input: the task's default" : "probe input: " + c.text);
          probe();
        } else if constexpr (std::is_same_v<T, cmd::ProbeNow>) {
          record_event(EventKind::Command, "probe now");
          probe();
        } else if constexpr (std::is_same_v<T, cmd::SaveCheckpoint>) {
          if (training) {
            auto& trainer = driver->trainer();
            if (c.path.empty()) {
              if (!trainer.run_directory()) throw InputError("save: this run has no run directory; choose a folder");
              trainer.save_checkpoint();  // records its own event
            } else {
              trainer.write_checkpoint(c.path);
              record_event(EventKind::Checkpoint, "saved " + c.path);
            }
          } else {
            if (c.path.empty()) throw InputError("save: choose a directory for the model");
            io::save_model(model, c.path);
            record_event(EventKind::Checkpoint, "saved " + c.path);
          }
        } else if constexpr (std::is_same_v<T, cmd::SetProbeInterval>) {
          need_training("probe interval");
          driver->probe_budget().set_fixed_interval(std::max<int64_t>(0, c.interval));
          record_event(EventKind::Command, c.interval > 0 ? "probe every " + std::to_string(c.interval) + " steps"
                                                          : "probe interval adaptive");
        } else if constexpr (std::is_same_v<T, cmd::Sample>) {
          sample(c);
        } else {
          static_assert(kUnhandled<T>, "a command type without a case here");
        }
      },
      command.request);
}

}  // namespace headlab::session
