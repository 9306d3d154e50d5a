#include "data/config_reader.h"

#include <cmath>
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

const nlohmann::json* ConfigReader::find(const char* key) const {
  const auto it = config_.find(key);
  return it == config_.end() ? nullptr : &*it;
}

int64_t ConfigReader::integer(const char* key, int64_t fallback, int64_t lo, int64_t hi) {
  int64_t value = fallback;
  if (const nlohmann::json* j = find(key)) {
    if (j->is_number_integer()) {
      value = j->get<int64_t>();
    } else if (j->is_number_float() && std::floor(j->get<double>()) == j->get<double>() &&
               std::fabs(j->get<double>()) < 9.0e15) {
      value = static_cast<int64_t>(j->get<double>());
    } else {
      throw InputError(name(key) + " must be an integer, got " + j->dump());
    }
  }
  if (value < lo || value > hi) {
    throw InputError(name(key) + " (" + std::to_string(value) + ") must be in [" +
                     std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return value;
}

double ConfigReader::fraction(const char* key, double fallback, double lo, double hi) {
  double value = fallback;
  if (const nlohmann::json* j = find(key)) {
    if (!j->is_number()) throw InputError(name(key) + " must be a number, got " + j->dump());
    value = j->get<double>();
  }
  if (!(value > lo && value < hi)) {  // also rejects NaN
    throw InputError(name(key) + " (" + number_text(value) + ") must be in (" + number_text(lo) +
                     ", " + number_text(hi) + ")");
  }
  return value;
}

std::string ConfigReader::choice(const char* key, const char* fallback,
                                 std::vector<std::string> allowed) {
  std::string value = fallback;
  if (const nlohmann::json* j = find(key)) {
    if (!j->is_string()) throw InputError(name(key) + " must be a string, got " + j->dump());
    value = j->get<std::string>();
  }
  bool ok = false;
  for (const auto& a : allowed) ok = ok || a == value;
  if (!ok) {
    throw InputError(name(key) + " (\"" + value + "\") must be one of: " + join(allowed));
  }
  return value;
}

std::string ConfigReader::required_string(const char* key) {
  const nlohmann::json* j = find(key);
  if (j == nullptr) throw InputError(name(key) + " is missing");
  if (!j->is_string()) throw InputError(name(key) + " must be a string, got " + j->dump());
  std::string value = j->get<std::string>();
  if (value.empty()) throw InputError(name(key) + " is empty");
  return value;
}

}  // namespace headlab::data
