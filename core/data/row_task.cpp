#include "data/row_task.h"

#include <algorithm>
#include <utility>

#include "common/errors.h"

namespace headlab::data {

std::unique_ptr<RowTask> make_row_task(const nlohmann::json& data_config, uint64_t seed) {
  using Factory = std::unique_ptr<RowTask> (*)(const nlohmann::json&, uint64_t);
  static const std::pair<const char*, Factory> kTasks[] = {
      {"text", make_text_task},
      {"induction", make_induction_task},
      {"associative_recall", make_associative_recall_task},
      {"modular_addition", make_modular_addition_task},
      {"sort", make_sort_task},
      {"grammar", make_grammar_task},
  };
  std::string names;
  for (const auto& [name, factory] : kTasks) names += (names.empty() ? "" : ", ") + std::string(name);

  if (!data_config.is_object()) throw InputError("data must be an object, got " + data_config.dump());
  const auto task_it = data_config.find("task");
  if (task_it == data_config.end()) throw InputError("data.task is missing (one of: " + names + ")");
  if (!task_it->is_string()) throw InputError("data.task must be a string, got " + task_it->dump());
  const std::string task = task_it->get<std::string>();
  for (const auto& [name, factory] : kTasks) {
    if (task == name) return factory(data_config, seed);
  }
  throw InputError("data.task (\"" + task + "\") must be one of: " + names);
}

void check_sequence_length(const RowTask& task, int64_t seq_len) {
  const int64_t needed = std::max<int64_t>(task.min_row_length() - 1, 1);
  if (seq_len < needed) {
    throw InputError("seq_len (" + std::to_string(seq_len) + ") is too short for task " +
                     task.config().value("task", std::string("?")) + ": it needs at least " +
                     std::to_string(needed));
  }
  task.check_row_length(seq_len + 1);
}

std::string symbol_alphabet(int64_t n) {
  // Lower-case first: the most readable on attention-map axes.
  static const std::string kSymbols =
      "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  if (n < 1 || n > static_cast<int64_t>(kSymbols.size())) {
    throw InputError("symbol count " + std::to_string(n) + " must be in [1, " +
                     std::to_string(kSymbols.size()) + "]");
  }
  return kSymbols.substr(0, static_cast<std::size_t>(n));
}

}  // namespace headlab::data
