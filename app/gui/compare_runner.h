#pragma once
// One comparison of variants (run::run_comparison) run to completion on the calling
// thread, with every outcome (finished, cancelled, bad input, failure) returned as data
// instead of thrown, so a background thread can hand it to the GUI. Plain header: no Qt,
// no torch; compare_runner.cpp holds no Qt either (see ARCHITECTURE.md "Known traps").
#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "run/compare.h"

namespace headlab::gui {

struct CompareRequest {
  nlohmann::json base;                // the experiment form's config
  std::vector<std::string> variants;  // builtin_variant names: baseline, kha-linear, ...
  bool interleave = false;
  int64_t seeds = 1;
  std::vector<run::Sweep> sweeps;
  std::string out_dir;                // must not hold a comparison yet
  // Called on the comparison's thread when a run finishes (curves as they come).
  std::function<void(const run::VariantSummary&, const run::RunSummary&)> on_run_finished;
};

using run::CompareProgress;

struct CompareOutcome {
  enum class Status { Finished, Cancelled, Failed };
  Status status = Status::Failed;
  std::vector<run::VariantSummary> summaries;  // Finished only
  std::string message;                           // why it failed or where it stopped
  std::string out_dir;
};

// Runs the comparison. `progress` is called after every step (on this thread); `cancel` is
// read before every step. Never throws.
CompareOutcome runCompareRequest(const CompareRequest& request,
                                 const std::function<void(const CompareProgress&)>& progress,
                                 const std::atomic<bool>* cancel);

}  // namespace headlab::gui
