#include "metrics_tail.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/errors.h"
#include "io/run_directory.h"

namespace headlab {
namespace fs = std::filesystem;

// The file name io::RunDirectory writes metrics to (run_directory.h lists the run's files).
MetricsTail::MetricsTail(fs::path run_dir) : file_(std::move(run_dir) / "metrics.jsonl") {}

MetricsTail::Update MetricsTail::read() {
  Update update;
  std::error_code ec;
  // Only a regular file: a FIFO in its place would block the GUI thread on open.
  if (!fs::is_regular_file(file_, ec)) return update;
  const std::uintmax_t size = fs::file_size(file_, ec);
  if (ec) return update;
  if (size < offset_) {
    offset_ = 0;
    line_ = 0;
    update.restarted = true;
  }
  if (size == offset_) return update;
  std::ifstream in(file_, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(offset_));
  std::string chunk(size - offset_, '\0');
  in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
  chunk.resize(static_cast<size_t>(in.gcount()));
  size_t start = 0;
  for (size_t end; (end = chunk.find('\n', start)) != std::string::npos; start = end + 1) {
    ++line_;
    const std::string_view line(chunk.data() + start, end - start);
    if (line.empty()) continue;
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);  // discarded when invalid
    bool ok = j.is_object();
    if (ok) {
      try {
        update.points.push_back(io::metric_from_json(j));
      } catch (const nlohmann::json::exception&) {
        ok = false;
      }
    }
    if (!ok)
      throw InputError(file_.string() + ":" + std::to_string(line_) + ": not a metric record (step and loss are numbers)");
  }
  offset_ += start;
  return update;
}

}  // namespace headlab
