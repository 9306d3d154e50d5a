#pragma once
// A run directory: config.json (the full resolved config), metrics.jsonl, events.jsonl,
// probes.jsonl, checkpoints/step-N/ and model/ (the final model).
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "common/records.h"
#include "io/run_lock.h"

namespace headlab::io {

nlohmann::json to_json(const MetricPoint& m);
nlohmann::json to_json(const EventRecord& e);
MetricPoint metric_from_json(const nlohmann::json& j);
EventRecord event_from_json(const nlohmann::json& j);

class RunDirectory {
 public:
  // A new run: refuses a directory that already holds a run (resume it instead). Both take the
  // directory's lock (io/run_lock.h) for the life of the object: a second writer is refused.
  // A directory whose run never reached a checkpoint (killed or out of disk before the first)
  // is not a dead end: the new run starts over there, the earlier logs move into attempt-N/,
  // and *restart_note says so.
  static RunDirectory create(const std::filesystem::path& path, const nlohmann::json& resolved_config,
                             std::string* restart_note = nullptr);
  // An existing run, for resuming: drops metric/event/probe lines after `keep_until_step`,
  // which a run killed after its last checkpoint may have written, and the temporaries of
  // checkpoint writes that a kill interrupted.
  static RunDirectory reopen(const std::filesystem::path& path, int64_t keep_until_step);

  const std::filesystem::path& path() const { return path_; }
  void append_metric(const MetricPoint& m);
  void append_event(const EventRecord& e);
  void append_probe(const nlohmann::json& summary);

  std::filesystem::path checkpoints_dir() const { return path_ / "checkpoints"; }
  std::filesystem::path checkpoint_path(int64_t step) const { return checkpoint_path(path_, step); }
  static std::filesystem::path checkpoint_path(const std::filesystem::path& run, int64_t step);
  std::filesystem::path model_path() const { return path_ / "model"; }
  // Deletes all but the newest `keep` checkpoints.
  void prune_checkpoints(int64_t keep) const;

  static std::vector<int64_t> checkpoint_steps(const std::filesystem::path& run);
  static std::vector<MetricPoint> read_metrics(const std::filesystem::path& run);
  static std::vector<EventRecord> read_events(const std::filesystem::path& run);
  static nlohmann::json read_config(const std::filesystem::path& run);

 private:
  RunDirectory(std::filesystem::path path, std::shared_ptr<RunLock> lock);
  void append_line(std::ofstream& out, const nlohmann::json& j);
  std::filesystem::path path_;
  std::shared_ptr<RunLock> lock_;  // held for as long as this writer lives
  std::ofstream metrics_, events_, probes_;
};

}  // namespace headlab::io
