#pragma once
// Plain records of a run that cross from the engine to the GUI and to disk
// (metrics.jsonl, events.jsonl). No torch, no Qt: widgets/ includes this header.
#include <cstdint>
#include <optional>
#include <string>

namespace headlab {

// One logged training step.
struct MetricPoint {
  int64_t step = 0;
  double loss = 0.0;
  double lr = 0.0;
  int64_t tokens = 0;          // tokens seen so far
  double elapsed_s = 0.0;      // wall time since the run started
  std::optional<double> val_loss;  // present when validation ran at this step
  std::optional<double> val_loss_se;  // its standard error over the validation rows
};

// What an event is about. The names (to_string) are what events.jsonl stores.
enum class EventKind {
  Command,     // a user command echoed (start, pause, probe now, ...)
  Module,      // a module inserted, activated, bypassed or frozen
  Fold,        // modules folded into the projections
  Lr,          // the learning rate set by hand or by the schedule
  Spike,       // a loss spike
  Skip,        // a step skipped for a non-finite loss or gradient
  Checkpoint,  // a checkpoint or model saved
  Pause,       // the run paused itself (too many bad steps)
  Resume,      // the run resumed from a checkpoint
  Error,       // an action that could not be applied, or a failed step
};
inline constexpr EventKind kAllEventKinds[] = {EventKind::Command, EventKind::Module,     EventKind::Fold,
                                               EventKind::Lr,      EventKind::Spike,      EventKind::Skip,
                                               EventKind::Checkpoint, EventKind::Pause,   EventKind::Resume,
                                               EventKind::Error};

inline const char* to_string(EventKind kind) {
  switch (kind) {
    case EventKind::Command: return "command";
    case EventKind::Module: return "module";
    case EventKind::Fold: return "fold";
    case EventKind::Lr: return "lr";
    case EventKind::Spike: return "spike";
    case EventKind::Skip: return "skip";
    case EventKind::Checkpoint: return "checkpoint";
    case EventKind::Pause: return "pause";
    case EventKind::Resume: return "resume";
    case EventKind::Error: return "error";
  }
  return "?";
}

// The kind named `name`; nullopt for a name this version does not know.
inline std::optional<EventKind> event_kind_from_string(const std::string& name) {
  for (EventKind k : kAllEventKinds)
    if (name == to_string(k)) return k;
  return std::nullopt;
}

// A first-class event with its step: drawn as a marker on the loss chart.
struct EventRecord {
  int64_t step = 0;
  EventKind kind = EventKind::Command;
  std::string message;  // one line for a person, e.g. "bypass kha in layers 0,1"
};

}  // namespace headlab
