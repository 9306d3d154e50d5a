#include "train/config_edits.h"

#include <map>

#include "common/errors.h"

namespace headlab::train {
using nlohmann::json;

namespace {

// "/train/lr" -> "train.lr"; array indices stay numbers ("schedule.0.step").
std::string dotted(const std::string& pointer) {
  std::string out = pointer.substr(pointer.empty() ? 0 : 1);
  for (char& c : out)
    if (c == '/') c = '.';
  return out;
}

}  // namespace

std::vector<ConfigEdit> config_edits(const json& before, const json& after) {
  const json a = before.flatten(), b = after.flatten();
  std::map<std::string, std::pair<std::string, std::string>> diffs;
  for (auto it = a.begin(); it != a.end(); ++it) {
    const auto other = b.find(it.key());
    if (other == b.end()) diffs[it.key()] = {it.value().dump(), "(absent)"};
    else if (*other != it.value()) diffs[it.key()] = {it.value().dump(), other->dump()};
  }
  for (auto it = b.begin(); it != b.end(); ++it)
    if (!a.contains(it.key())) diffs[it.key()] = {"(absent)", it.value().dump()};
  std::vector<ConfigEdit> edits;
  for (const auto& [pointer, values] : diffs) edits.push_back({dotted(pointer), values.first, values.second});
  return edits;
}

std::string check_resume_edits(const std::vector<ConfigEdit>& edits, const std::string& config_file) {
  std::string said;
  for (const auto& e : edits) {
    if (e.field == "model" || e.field.rfind("model.", 0) == 0 || e.field.rfind("initialized_from", 0) == 0)
      throw InputError(config_file + ": " + e.describe() +
                       " was edited after the run's last checkpoint; a resumed run keeps the checkpoint's model, "
                       "so undo the edit, or start a new run from this model with `train --init-from`");
    said += (said.empty() ? "" : ", ") + e.describe();
  }
  return said;
}

}  // namespace headlab::train
