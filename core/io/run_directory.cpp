#include "io/run_directory.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>

#include "common/errors.h"
#include "common/json_file.h"
#include "io/atomic_file.h"

namespace headlab::io {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const char* kMetrics = "metrics.jsonl";
const char* kEvents = "events.jsonl";
const char* kProbes = "probes.jsonl";

std::vector<json> read_lines(const fs::path& file) {
  std::vector<json> out;
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(file, ec))) return out;
  require_regular_file(file);  // a FIFO in place of a log would block the reader forever
  std::ifstream in(file);
  std::string line;
  size_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    json j;
    try {
      j = json::parse(line);
    } catch (const json::parse_error&) {
      // A run killed mid-write leaves a torn last line: everything before it is still good.
      if (in.peek() == EOF) break;
      throw InputError(file.string() + ":" + std::to_string(n) + ": invalid JSON line");
    }
    if (!j.is_object()) throw InputError(file.string() + ":" + std::to_string(n) + ": a line must be a JSON object");
    out.push_back(std::move(j));
  }
  return out;
}

// The lines of a jsonl log whose "step" is <= keep_until, as the file should then read.
std::string kept_lines(const std::vector<json>& lines, int64_t keep_until) {
  std::string kept;
  for (const auto& j : lines) {
    const auto step = j.find("step");
    if (step == j.end() || !step->is_number() || step->get<double>() <= static_cast<double>(keep_until))
      kept += j.dump() + "\n";
  }
  return kept;
}

std::string file_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

json to_json(const MetricPoint& m) {
  json j = {{"step", m.step}, {"loss", m.loss}, {"lr", m.lr}, {"tokens", m.tokens}, {"elapsed_s", m.elapsed_s}};
  if (m.val_loss) j["val_loss"] = *m.val_loss;
  if (m.val_loss_se && std::isfinite(*m.val_loss_se)) j["val_loss_se"] = *m.val_loss_se;
  return j;
}

json to_json(const EventRecord& e) { return {{"step", e.step}, {"kind", to_string(e.kind)}, {"message", e.message}}; }

MetricPoint metric_from_json(const json& j) {
  MetricPoint m;
  m.step = j.at("step").get<int64_t>();
  m.loss = j.at("loss").is_number() ? j.at("loss").get<double>() : std::nan("");
  m.lr = j.value("lr", 0.0);
  m.tokens = j.value("tokens", int64_t{0});
  m.elapsed_s = j.value("elapsed_s", 0.0);
  if (j.contains("val_loss") && j["val_loss"].is_number()) m.val_loss = j["val_loss"].get<double>();
  if (j.contains("val_loss_se") && j["val_loss_se"].is_number()) m.val_loss_se = j["val_loss_se"].get<double>();
  return m;
}

EventRecord event_from_json(const json& j) {
  const std::string name = j.value("kind", "");
  const auto kind = event_kind_from_string(name);
  if (!kind) throw InputError("event kind '" + name + "' is not one this version knows");
  return EventRecord{j.at("step").get<int64_t>(), *kind, j.value("message", "")};
}

RunDirectory::RunDirectory(fs::path path, std::shared_ptr<RunLock> lock) : path_(std::move(path)), lock_(std::move(lock)) {
  metrics_.open(path_ / kMetrics, std::ios::app);
  events_.open(path_ / kEvents, std::ios::app);
  probes_.open(path_ / kProbes, std::ios::app);
  if (!metrics_ || !events_ || !probes_) throw std::runtime_error(path_.string() + ": cannot open the run's log files");
}

namespace {

bool holds_a_run(const fs::path& path) { return fs::exists(path / "config.json") || fs::exists(path / kMetrics); }

// A run that never reached a checkpoint (killed, disk full) left only logs: nothing to resume.
bool restartable(const fs::path& path) {
  return RunDirectory::checkpoint_steps(path).empty() && !fs::exists(path / "model");
}

// Moves the earlier attempt's files into attempt-N/ (the first N free); returns that folder.
fs::path set_aside_attempt(const fs::path& path) {
  fs::path aside;
  for (int n = 1; aside.empty() || fs::exists(aside); ++n) aside = path / ("attempt-" + std::to_string(n));
  fs::create_directories(aside);
  for (const char* f : {"config.json", kMetrics, kEvents, kProbes, "checkpoints"})
    if (fs::exists(path / f)) fs::rename(path / f, aside / f);
  return aside;
}

}  // namespace

RunDirectory RunDirectory::create(const fs::path& path, const json& resolved_config, std::string* restart_note) {
  const std::string held = path.string() + " already holds a run; resume it with --resume or pick another --out";
  if (holds_a_run(path) && !restartable(path)) throw InputError(held);
  fs::create_directories(path);
  // Checked again under the lock: two runs started at once into one --out both passed the
  // first check, and only one may write.
  auto lock = std::make_shared<RunLock>(path);
  if (holds_a_run(path)) {
    if (!restartable(path)) throw InputError(held);
    const fs::path aside = set_aside_attempt(path);
    if (restart_note)
      *restart_note = "started over: the earlier run here never reached a checkpoint; its logs are in " +
                      aside.filename().string() + "/";
  }
  write_file_atomic(path / "config.json", resolved_config.dump(2) + "\n");
  return RunDirectory(path, std::move(lock));
}

RunDirectory RunDirectory::reopen(const fs::path& path, int64_t keep_until_step) {
  if (!fs::exists(path / "config.json")) throw InputError(path.string() + ": not a run directory (no config.json)");
  auto lock = std::make_shared<RunLock>(path);
  // Every log is read, and so checked, before any is rewritten: a malformed events.jsonl must
  // not leave metrics.jsonl already cut. A log is rewritten only when lines after the
  // checkpoint (or a torn last line) have to go.
  std::vector<std::pair<fs::path, std::string>> rewrites;
  for (const char* f : {kMetrics, kEvents, kProbes}) {
    if (!fs::exists(path / f)) continue;
    std::string kept = kept_lines(read_lines(path / f), keep_until_step);
    if (kept != file_text(path / f)) rewrites.emplace_back(path / f, std::move(kept));
  }
  for (const auto& [file, kept] : rewrites) write_file_atomic(file, kept);
  if (fs::is_directory(path / "checkpoints")) remove_stale_temporaries(path / "checkpoints");
  return RunDirectory(path, std::move(lock));
}

void RunDirectory::append_line(std::ofstream& out, const json& j) {
  out << j.dump() << '\n';
  out.flush();  // a reader (the GUI, a user tailing the file) sees every step as it lands
  if (!out) throw std::runtime_error(path_.string() + ": cannot write the run's log (disk full?)");
}

void RunDirectory::append_metric(const MetricPoint& m) { append_line(metrics_, to_json(m)); }
void RunDirectory::append_event(const EventRecord& e) { append_line(events_, to_json(e)); }
void RunDirectory::append_probe(const json& summary) { append_line(probes_, summary); }

fs::path RunDirectory::checkpoint_path(const fs::path& run, int64_t step) {
  return run / "checkpoints" / ("step-" + std::to_string(step));
}

std::vector<int64_t> RunDirectory::checkpoint_steps(const fs::path& run) {
  std::vector<int64_t> steps;
  const fs::path dir = run / "checkpoints";
  if (!fs::is_directory(dir)) return steps;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("step-", 0) != 0 || !entry.is_directory()) continue;
    const std::string digits = name.substr(5);
    if (digits.empty() || !std::all_of(digits.begin(), digits.end(), ::isdigit)) continue;  // skips .tmp-* dirs
    if (digits.size() > 18)  // more than any run's steps, and more than stoll takes
      throw InputError(entry.path().string() + ": not a checkpoint of this run (step number out of range)");
    steps.push_back(std::stoll(digits));
  }
  std::sort(steps.begin(), steps.end());
  return steps;
}

void RunDirectory::prune_checkpoints(int64_t keep) const {
  auto steps = checkpoint_steps(path_);
  for (size_t i = 0; i + static_cast<size_t>(keep) < steps.size(); ++i) fs::remove_all(checkpoint_path(steps[i]));
}

namespace {

// Every record of a jsonl log, parsed by `parse`; a wrongly typed field is an InputError that
// names the file and the record, never nlohmann's own text.
template <class Record, class Parse>
std::vector<Record> read_records(const fs::path& file, Parse parse, const char* expected) {
  std::vector<Record> out;
  for (const auto& j : read_lines(file)) {
    try {
      out.push_back(parse(j));
    } catch (const json::exception&) {
      throw InputError(file.string() + ": record " + std::to_string(out.size() + 1) + " is not " + expected + ": " +
                       j.dump().substr(0, 80));
    }
  }
  return out;
}

}  // namespace

std::vector<MetricPoint> RunDirectory::read_metrics(const fs::path& run) {
  return read_records<MetricPoint>(run / kMetrics, metric_from_json, "a metric record (step and loss are numbers)");
}

std::vector<EventRecord> RunDirectory::read_events(const fs::path& run) {
  return read_records<EventRecord>(run / kEvents, event_from_json,
                                   "an event record (step a number, kind and message strings)");
}

json RunDirectory::read_config(const fs::path& run) { return read_json_file(run / "config.json"); }

}  // namespace headlab::io
