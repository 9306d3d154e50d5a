#pragma once
// A tiny training run for the GUI tests, made with the engine's own Trainer. Plain header;
// tiny_run.cpp includes torch and no Qt (see ARCHITECTURE.md "Known traps").
#include <nlohmann/json.hpp>

#include <string>

namespace headlab::testing {

// 2 layers x 2 heads, KHA (linear q, k) and talking heads, on the induction task; a few
// seconds of CPU for a few dozen steps.
nlohmann::json tinyExperiment(int steps);

// Trains tinyExperiment(steps) into run_dir through the run driver, as `headlab-cli train` does: metrics, events, probes,
// a checkpoint every 5 steps, the final checkpoint and model/.
void makeTinyRun(const std::string& run_dir, int steps);

// Like makeTinyRun, but stops after `trained` of `steps` steps with a checkpoint there and
// no final model: a run that `headlab-cli train --resume` (or File > Resume) continues.
void makeUnfinishedTinyRun(const std::string& run_dir, int steps, int trained);

}  // namespace headlab::testing
