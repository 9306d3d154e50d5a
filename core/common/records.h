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
};

// A first-class event with its step: drawn as a marker on the loss chart.
struct EventRecord {
  int64_t step = 0;
  std::string kind;     // "module", "fold", "lr", "spike", "skip", "checkpoint", "pause", "error", ...
  std::string message;  // one line for a person, e.g. "bypass kha in layers 0,1"
};

}  // namespace headlab
