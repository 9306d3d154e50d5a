#include "data/config_reader.h"

#include <sstream>

#include "common/errors.h"

namespace headlab::data {
namespace {

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

std::string number_text(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

}  // namespace

ConfigReader::ConfigReader(const nlohmann::json& config, std::string prefix,
                           std::initializer_list<const char*> known)
    : config_(config), prefix_(std::move(prefix)) {
  if (!config_.is_object()) throw InputError(prefix_ + " must be an object, got " + config_.dump());
  std::vector<std::string> names{"task"};
  for (const char* key : known) names.emplace_back(key);
  for (const auto& item : config_.items()) {
    bool found = false;
    for (const auto& known_name : names) found = found || known_name == item.key();
    if (!found) {
      throw InputError(name(item.key().c_str()) + " is not a known key for task " +
                       config_.value("task", std::string("?")) + " (known: " + join(names) + ")");
    }
  }
}

int64_t ConfigReader::integer(const char* key, int64_t fallback, int64_t lo, int64_t hi) {
  const int64_t value = fields().integer(key, fallback);
  if (value < lo || value > hi) {
    throw InputError(name(key) + " (" + std::to_string(value) + ") must be in [" +
                     std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return value;
}

double ConfigReader::fraction(const char* key, double fallback, double lo, double hi) {
  const double value = fields().number(key, fallback);
  if (!(value > lo && value < hi)) {
    throw InputError(name(key) + " (" + number_text(value) + ") must be in (" + number_text(lo) +
                     ", " + number_text(hi) + ")");
  }
  return value;
}

std::string ConfigReader::choice(const char* key, const char* fallback,
                                 std::vector<std::string> allowed) {
  const std::string value = fields().string(key, fallback);
  bool ok = false;
  for (const auto& a : allowed) ok = ok || a == value;
  if (!ok) {
    throw InputError(name(key) + " (\"" + value + "\") must be one of: " + join(allowed));
  }
  return value;
}

std::string ConfigReader::required_string(const char* key) {
  std::string value = fields().string(key, "", /*required=*/true);
  if (value.empty()) throw InputError(name(key) + " is empty");
  return value;
}

}  // namespace headlab::data
