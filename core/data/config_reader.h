#pragma once
// Reads one task's options from the data config with the checks every task needs: unknown
// keys, wrong types and out-of-range values are InputErrors that name the key as the user
// wrote it ("data.val_fraction (1.5) must be in (0, 1)"). Getters return the default when
// the key is absent; tasks echo the values they use in their config(). Type parsing is the
// shared FieldReader's; this adds the range checks and the list of known keys.
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/json_fields.h"

namespace headlab::data {

class ConfigReader {
 public:
  // Throws for a non-object config and for any key not in `known` ("task" is always known).
  ConfigReader(const nlohmann::json& config, std::string prefix,
               std::initializer_list<const char*> known);

  // Integral value in [lo, hi]. Integral floats such as 32.0 are accepted.
  int64_t integer(const char* key, int64_t fallback, int64_t lo, int64_t hi);
  // true or false.
  bool boolean(const char* key, bool fallback) { return fields().boolean(key, fallback); }
  // Number strictly inside (lo, hi).
  double fraction(const char* key, double fallback, double lo, double hi);
  // One of `allowed`.
  std::string choice(const char* key, const char* fallback, std::vector<std::string> allowed);
  // A non-empty string that must be present.
  std::string required_string(const char* key);

  std::string name(const char* key) const { return prefix_ + "." + key; }

 private:
  // Typed access; unknown keys are checked once, against `known`, in the constructor.
  FieldReader fields() const { return FieldReader(config_, prefix_); }

  const nlohmann::json& config_;
  std::string prefix_;
};

}  // namespace headlab::data
