#pragma once
// The checks a training config passes before Start, with the engine's own rules and
// messages (train::ExperimentConfig, model::ModelConfig, the data tasks), run without
// LibTorch so the experiment form can flag a bad combination while the user types.
#include <nlohmann/json.hpp>

#include <string>

namespace headlab {

// Empty when the config would start; otherwise the engine's message naming the field,
// e.g. "model config: n_heads (6) is not a multiple of n_kv_heads (4)".
std::string experimentConfigProblem(const nlohmann::json& experiment);

}  // namespace headlab
