#include "experiment_check.h"

#include <exception>

#include "data/row_task.h"
#include "train/experiment_config.h"

namespace headlab {

std::string experimentConfigProblem(const nlohmann::json& experiment) {
  // What train::Trainer checks before it builds anything, minus the tensors.
  try {
    const train::ExperimentConfig config = train::ExperimentConfig::from_json(experiment);
    const auto task = data::make_row_task(config.data, config.train.seed);
    data::check_sequence_length(*task, config.train.seq_len);
    train::resolve_model_config(config.model, task->tokenizer());
    return {};
  } catch (const std::exception& e) {
    return e.what();
  }
}

}  // namespace headlab
