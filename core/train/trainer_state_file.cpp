#include "train/trainer_state_file.h"

#include <cmath>

#include "common/errors.h"
#include "common/json_fields.h"
#include "common/json_file.h"

namespace headlab::train {
using nlohmann::json;

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::vector<uint8_t> bytes_from_hex(const std::string& text, const FieldReader& reader) {
  if (text.size() % 2 != 0) reader.fail("rng_state must be an even number of hex digits");
  std::vector<uint8_t> bytes(text.size() / 2);
  for (size_t i = 0; i < bytes.size(); ++i) {
    const int hi = hex_digit(text[2 * i]), lo = hex_digit(text[2 * i + 1]);
    if (hi < 0 || lo < 0) reader.fail("rng_state is not hex (character " + std::to_string(2 * i) + ")");
    bytes[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return bytes;
}

// "kha@2" in its canonical spelling, as Trainer::write_checkpoint writes it.
FrozenModule frozen_entry(const std::string& entry, const FieldReader& reader) {
  const auto at = entry.find('@');
  const std::string digits = at == std::string::npos ? "" : entry.substr(at + 1);
  const bool numeric = !digits.empty() && digits.size() <= 9 &&
                       digits.find_first_not_of("0123456789") == std::string::npos;
  if (!numeric) reader.fail("frozen entry '" + entry + "' must look like 'kha@2'");
  FrozenModule m{model::ModuleKind::Kha, std::stoll(digits)};
  try {
    m.kind = model::module_kind_from_string(entry.substr(0, at));
  } catch (const InputError& e) {
    reader.fail("frozen entry '" + entry + "': " + e.what());
  }
  return m;
}

int64_t non_negative(FieldReader& reader, const std::string& key) {
  const int64_t v = reader.integer(key, 0, /*required=*/true);
  if (v < 0) reader.fail(reader.name(key) + " " + std::to_string(v) + " is negative");
  return v;
}

void check_anomalies(const json& j, const std::string& prefix) {
  FieldReader r(j, "anomalies", prefix);
  if (r.has("recent")) {
    const json& recent = r.raw("recent");
    if (!recent.is_array()) r.fail("anomalies.recent must be an array of numbers");
    for (const auto& v : recent)
      if (!v.is_number() || !std::isfinite(v.get<double>())) r.fail("anomalies.recent must hold finite numbers");
    r.boolean("in_episode", false);
  }
  non_negative(r, "bad_streak");
}

void check_optimizer(const json& j, const std::string& prefix) {
  FieldReader r(j, "optimizer", prefix);
  if (!r.has("steps") || !r.raw("steps").is_object()) r.fail("optimizer.steps must be an object");
  FieldReader steps(r.raw("steps"), "optimizer.steps", prefix);
  for (auto it = j.at("steps").begin(); it != j.at("steps").end(); ++it) non_negative(steps, it.key());
}

}  // namespace

TrainerStateFile read_trainer_state(const std::filesystem::path& file) {
  const json state = read_json_file(file);
  const std::string prefix = file.string() + ": ";
  FieldReader r(state, "", prefix);
  if (r.string("format", "", /*required=*/true) != "headlab-trainer/1")
    r.fail("unknown format '" + state.at("format").get<std::string>() + "'");
  TrainerStateFile out;
  out.step = non_negative(r, "step");
  out.tokens = non_negative(r, "tokens");
  out.elapsed_s = r.number("elapsed_s", 0);
  out.next_action = static_cast<size_t>(non_negative(r, "next_action"));
  if (r.has("lr_override")) {
    out.lr_override = r.number("lr_override", 0);
    if (*out.lr_override < 0) r.fail("lr_override must not be negative");
  }
  if (!r.has("anomalies")) r.fail("missing required field 'anomalies'");
  check_anomalies(r.raw("anomalies"), prefix);
  out.anomalies = r.raw("anomalies");
  if (!r.has("optimizer")) r.fail("missing required field 'optimizer'");
  check_optimizer(r.raw("optimizer"), prefix);
  out.optimizer = r.raw("optimizer");
  if (r.has("frozen")) {
    const json& frozen = r.raw("frozen");
    if (!frozen.is_object()) r.fail("frozen must be an object");
    for (auto it = frozen.begin(); it != frozen.end(); ++it) out.frozen.push_back(frozen_entry(it.key(), r));
  }
  out.rng_state = bytes_from_hex(r.string("rng_state", "", /*required=*/true), r);
  if (r.has("run_config")) {
    out.run_config = r.raw("run_config");
    if (!out.run_config.is_object()) r.fail("run_config must be an object");
  }
  r.has("data_index");  // derived from step; written for readers of the file, not read back
  return out;
}

}  // namespace headlab::train
