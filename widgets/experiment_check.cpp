#include "experiment_check.h"

#include <exception>

#include "data/row_task.h"
#include "data/tokenizer.h"
#include "train/experiment_config.h"

namespace headlab {
namespace {

bool is_text_task(const nlohmann::json& experiment) {
  const auto data = experiment.find("data");
  return data != experiment.end() && data->is_object() && data->value("task", nlohmann::json()) == "text";
}

}  // namespace

std::string experimentStructureProblem(const nlohmann::json& experiment) {
  try {
    const train::ExperimentConfig config = train::ExperimentConfig::from_json(experiment);
    if (!is_text_task(experiment)) return experimentConfigProblem(experiment);  // a synthetic task reads nothing
    const auto path = config.data.find("path");
    if (path == config.data.end() || !path->is_string() || path->get<std::string>().empty())
      return "data.path is missing: choose a text file";
    if (!config.init_from.empty()) return {};  // the model is read by the trainer, which checks it against the data
    // The model's shapes, with a stand-in vocabulary: the corpus decides the real one.
    nlohmann::json model = config.model;
    model.erase("vocab_size");
    model.erase("tokenizer");
    train::resolve_model_config(model, *data::Tokenizer::from_json({{"type", "bytes"}}));
    return {};
  } catch (const std::exception& e) {
    return e.what();
  }
}

bool experimentCheckReadsFiles(const nlohmann::json& experiment) { return is_text_task(experiment); }

std::string experimentConfigProblem(const nlohmann::json& experiment) {
  // What train::Trainer checks before it builds anything, minus the tensors.
  try {
    const train::ExperimentConfig config = train::ExperimentConfig::from_json(experiment);
    const auto task = data::make_row_task(config.data, config.train.seed);
    data::check_sequence_length(*task, config.train.seq_len);
    // With init_from the model (and so what the schedule may name) is known only once its
    // files are read: the trainer checks both then, and a launch failure carries its message.
    if (!config.init_from.empty()) return {};
    const auto model = train::resolve_model_config(config.model, task->tokenizer());
    train::check_schedule(config.schedule, model, config.train.steps);
    return {};
  } catch (const std::exception& e) {
    return e.what();
  }
}

}  // namespace headlab
