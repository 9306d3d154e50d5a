#include "metrics_tail.h"

#include <nlohmann/json.hpp>
#include <string>

#include "common/errors.h"
#include "io/run_directory.h"

namespace headlab {
namespace fs = std::filesystem;

// The file name io::RunDirectory writes metrics to (run_directory.h lists the run's files).
MetricsTail::MetricsTail(fs::path run_dir) : tail_(std::move(run_dir) / "metrics.jsonl") {}

MetricsTail::Update MetricsTail::read() {
  auto lines = tail_.poll();
  Update update;
  update.restarted = lines.restarted;
  if (lines.restarted) records_ = 0;
  for (const auto& j : lines.records) {
    ++records_;
    try {
      update.points.push_back(io::metric_from_json(j));
    } catch (const nlohmann::json::exception&) {
      throw InputError(tail_.file().string() + ": record " + std::to_string(records_) +
                       " is not a metric record (step and loss are numbers)");
    }
  }
  return update;
}

}  // namespace headlab
