#include "experiment_check.h"

#include <algorithm>
#include <exception>
#include <memory>

#include "common/errors.h"
#include "data/row_task.h"
#include "model/model_config.h"
#include "train/experiment_config.h"

namespace headlab {
namespace {

using Factory = std::unique_ptr<data::RowTask> (*)(const nlohmann::json&, uint64_t);

// The torch-free half of data::make_data_source: the same task table and messages.
std::unique_ptr<data::RowTask> makeTask(const nlohmann::json& data_config, uint64_t seed) {
  static const std::pair<const char*, Factory> kTasks[] = {
      {"text", data::make_text_task},
      {"induction", data::make_induction_task},
      {"associative_recall", data::make_associative_recall_task},
      {"modular_addition", data::make_modular_addition_task},
      {"sort", data::make_sort_task},
      {"grammar", data::make_grammar_task},
  };
  std::string names;
  for (const auto& [name, factory] : kTasks) names += (names.empty() ? "" : ", ") + std::string(name);
  const auto it = data_config.find("task");
  if (it == data_config.end()) throw InputError("data.task is missing (one of: " + names + ")");
  if (!it->is_string()) throw InputError("data.task must be a string, got " + it->dump());
  for (const auto& [name, factory] : kTasks)
    if (*it == name) return factory(data_config, seed);
  throw InputError("data.task (" + it->dump() + ") must be one of: " + names);
}

}  // namespace

std::string experimentConfigProblem(const nlohmann::json& experiment) {
  try {
    const train::ExperimentConfig config = train::ExperimentConfig::from_json(experiment);
    const auto task = makeTask(config.data, config.train.seed);
    const int64_t needed = std::max<int64_t>(task->min_row_length() - 1, 1);
    if (config.train.seq_len < needed)
      return "train.seq_len (" + std::to_string(config.train.seq_len) + ") is too short for task " +
             config.data.value("task", "") + ": it needs at least " + std::to_string(needed);
    task->check_row_length(config.train.seq_len + 1);
    // What train::resolve_model_config does: the data's tokenizer decides the vocabulary.
    nlohmann::json model = config.model;
    if (!model.contains("format")) model["format"] = "headlab-model/1";
    const int64_t vocab = task->tokenizer().vocab_size();
    if (model.contains("vocab_size") && model["vocab_size"] != vocab)
      return "model.vocab_size (" + model["vocab_size"].dump() + ") does not match the data's tokenizer (" +
             std::to_string(vocab) + " tokens); leave it out to take it from the data";
    model["vocab_size"] = vocab;
    if (!model.contains("tokenizer")) model["tokenizer"] = task->tokenizer().to_json();
    model::ModelConfig::from_json(model);
    return {};
  } catch (const std::exception& e) {
    return e.what();
  }
}

}  // namespace headlab
