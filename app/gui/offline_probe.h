#pragma once
// A probe of a saved run without a live session, for `headlab --export-figures`: loads the
// run's final model (RUN_DIR/model) or its newest checkpoint and probes it on the run's own
// probe input. Plain header (no torch, no Qt); the .cpp is the only torch user of app/gui.
#include <memory>
#include <string>

#include "probe/snapshot.h"

namespace headlab::gui {

struct OfflineProbe {
  std::shared_ptr<const ProbeSnapshot> snapshot;
  std::string model_path;  // the model directory that was probed
};

// RUN_DIR/model when it holds a model, else the newest checkpoint; empty when neither exists.
std::string newestModelPath(const std::string& run_dir);

// Probes the newest model of a run directory. The input is `probe_text` when given, else the
// config's probe.text, else the data task's default probe (its seq_len tokens). Throws
// InputError when the run has no model or the text does not fit the tokenizer.
OfflineProbe probeRunDirectory(const std::string& run_dir, const std::string& probe_text = {});

}  // namespace headlab::gui
