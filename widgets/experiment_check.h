#pragma once
// The checks a training config passes before Start, with the engine's own rules and
// messages (train::ExperimentConfig, model::ModelConfig, the data tasks), run without
// LibTorch so the experiment form can flag a bad combination while the user types.
// Two speeds: the structural check reads no file and runs on every edit; the data check
// reads a text corpus (which can be large or slow to reach), so the form runs it debounced
// and off the GUI thread.
#include <nlohmann/json.hpp>

#include <string>

namespace headlab {

// Empty when nothing but the data files could still be wrong; otherwise the engine's message
// naming the field, e.g. "model config: n_heads (6) is not a multiple of n_kv_heads (4)".
// Reads no file.
std::string experimentStructureProblem(const nlohmann::json& experiment);

// Whether experimentConfigProblem reads files beyond what the structural check does (a text
// corpus): then it belongs off the GUI thread.
bool experimentCheckReadsFiles(const nlohmann::json& experiment);

// The whole check (reads the corpus of a text task). Empty when the config would start.
std::string experimentConfigProblem(const nlohmann::json& experiment);

}  // namespace headlab
