#pragma once
// The one way to act on a model's interaction modules, whoever asks: the schedule, the user
// of a training session, the user of an inspection session, the CLI. One rule for which
// layers an action covers and one error policy, so that a fix lands once.
#include <string>
#include <vector>

#include "model/module_types.h"
#include "model/transformer.h"

namespace headlab::model {

struct ModuleActionResult {
  std::vector<int64_t> layers;  // the layers acted on
  std::string message;          // one line for the event log, e.g. "fold kha in layer 0: folded 2 matrices"
  bool new_parameters = false;  // insert: the optimizer must learn about them
};

// Validates the whole request first (layers exist, the model has the module where the action
// needs it, each layer's state allows the action: see action_allowed) and throws InputError
// naming the layer and state at fault before anything changes; then applies it.
ModuleActionResult apply_module_action(Transformer& model, const ModuleActionRequest& request);

// The layers a request covers, by the rule above (throws InputError like apply_module_action).
std::vector<int64_t> resolve_action_layers(const Transformer& model, const ModuleActionRequest& request);

}  // namespace headlab::model
