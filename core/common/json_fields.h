#pragma once
// Strict reading of a JSON object: typed fields with defaults, messages that name the dotted
// field, and rejection of keys nobody read (a typo must not pass silently).
#include <nlohmann/json.hpp>

#include <cmath>
#include <set>
#include <string>

#include "common/errors.h"

namespace headlab {

class FieldReader {
 public:
  // `prefix` starts every message (e.g. "model config: "), `path` is the object's dotted name.
  FieldReader(const nlohmann::json& object, std::string path, std::string prefix = "")
      : object_(object), path_(std::move(path)), prefix_(std::move(prefix)) {
    if (!object_.is_object()) fail((path_.empty() ? std::string("config") : path_) + " must be a JSON object");
  }
  [[noreturn]] void fail(const std::string& message) const { throw InputError(prefix_ + message); }
  std::string name(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

  bool has(const std::string& key) {
    seen_.insert(key);
    return object_.contains(key) && !object_.at(key).is_null();
  }
  const nlohmann::json& raw(const std::string& key) {
    seen_.insert(key);
    return object_.at(key);
  }

  int64_t integer(const std::string& key, int64_t fallback, bool required = false) {
    if (!has(key)) {
      if (required) fail("missing required field '" + name(key) + "'");
      return fallback;
    }
    const auto& v = object_.at(key);
    if (v.is_number_integer() || v.is_number_unsigned()) return v.get<int64_t>();
    if (v.is_number_float()) {
      const double d = v.get<double>();
      if (std::isfinite(d) && std::floor(d) == d) return static_cast<int64_t>(d);
    }
    fail(name(key) + " must be an integer, got " + v.dump());
  }
  double number(const std::string& key, double fallback) {
    if (!has(key)) return fallback;
    const auto& v = object_.at(key);
    if (!v.is_number()) fail(name(key) + " must be a number, got " + v.dump());
    const double d = v.get<double>();
    if (!std::isfinite(d)) fail(name(key) + " must be finite");
    return d;
  }
  bool boolean(const std::string& key, bool fallback) {
    if (!has(key)) return fallback;
    const auto& v = object_.at(key);
    if (!v.is_boolean()) fail(name(key) + " must be true or false, got " + v.dump());
    return v.get<bool>();
  }
  std::string string(const std::string& key, const std::string& fallback, bool required = false) {
    if (!has(key)) {
      if (required) fail("missing required field '" + name(key) + "'");
      return fallback;
    }
    const auto& v = object_.at(key);
    if (!v.is_string()) fail(name(key) + " must be a string, got " + v.dump());
    return v.get<std::string>();
  }
  void reject_unknown_keys() const {
    for (auto it = object_.begin(); it != object_.end(); ++it)
      if (!seen_.count(it.key())) fail("unknown field '" + name(it.key()) + "'");
  }

 private:
  const nlohmann::json& object_;
  std::string path_;
  std::string prefix_;
  std::set<std::string> seen_;
};

}  // namespace headlab
