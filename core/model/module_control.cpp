#include "model/module_control.h"

#include <algorithm>

#include "common/errors.h"
#include "model/fold.h"

namespace headlab::model {

std::vector<int64_t> resolve_action_layers(const Transformer& model, const ModuleActionRequest& r) {
  const int64_t n_layers = model->config().n_layers;
  std::vector<int64_t> layers;
  if (r.layers.empty()) {
    for (int64_t l = 0; l < n_layers; ++l)
      if (action_allowed(r.action, r.module, model->module_state(l, r.module))) layers.push_back(l);
    if (layers.empty())
      throw InputError(r.describe() + ": no layer has " + to_string(r.module) + " in a state that allows " +
                       to_string(r.action));
    return layers;
  }
  for (int64_t l : r.layers) {
    if (l < 0 || l >= n_layers)
      throw InputError(r.describe() + ": layer " + std::to_string(l) + " does not exist (the model has " +
                       std::to_string(n_layers) + ")");
    const ModuleState state = model->module_state(l, r.module);
    if (!action_allowed(r.action, r.module, state))
      throw InputError(r.describe() + ": " + to_string(r.module) + " in layer " + std::to_string(l) + " is " +
                       to_string(state) + ", which does not allow " + to_string(r.action));
    if (std::find(layers.begin(), layers.end(), l) == layers.end()) layers.push_back(l);
  }
  return layers;
}

ModuleActionResult apply_module_action(Transformer& model, const ModuleActionRequest& r) {
  ModuleActionResult out;
  out.layers = resolve_action_layers(model, r);
  ModuleActionRequest done = r;
  done.layers = out.layers;
  out.message = done.describe();
  switch (r.action) {
    case ModuleAction::Insert:
      model->insert_module(r.module, out.layers, InsertOptions{r.insert_kha, r.insert_mea_group_norm});
      out.new_parameters = true;
      if (r.module == ModuleKind::Mea && model->config().interaction.mea.group_norm)
        out.message += " (note: the MEA group norm is not an identity; the function changes)";
      break;
    case ModuleAction::Fold: {
      const auto report = fold_modules(model, {r.module}, out.layers);
      out.message += ": folded " + std::to_string(report.folded.size()) + " matrices";
      if (!report.skipped.empty()) out.message += ", kept " + std::to_string(report.skipped.size());
      break;
    }
    case ModuleAction::Activate:
    case ModuleAction::Bypass:
    case ModuleAction::Freeze:
      for (int64_t l : out.layers)
        model->set_module_state(l, r.module, state_after(r.action, model->module_state(l, r.module)));
      break;
  }
  return out;
}

}  // namespace headlab::model
