#pragma once
// What a person changed in a run's config.json since a checkpoint was written. On resume the
// edited file wins for training and data settings (each change is said, in the resume event
// and on the terminal), and is refused for the model: the checkpoint's weights define the
// model, so an edited model section could only be ignored, which would be a silent lie.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace headlab::train {

struct ConfigEdit {
  std::string field;  // dotted, "train.lr"
  std::string before;  // JSON text, "(absent)" when the field was not there
  std::string after;
  std::string describe() const { return field + " " + before + " -> " + after; }
};

// Leaf-by-leaf differences between two config objects, in field order.
std::vector<ConfigEdit> config_edits(const nlohmann::json& before, const nlohmann::json& after);

// Throws InputError when an edit touches model.* (see above); otherwise returns the
// description of the edits ("" when there are none), e.g. "train.lr 0.001 -> 0.002".
std::string check_resume_edits(const std::vector<ConfigEdit>& edits, const std::string& config_file);

}  // namespace headlab::train
