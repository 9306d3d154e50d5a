#include "module_undo.h"

#include <QObject>
#include <QStringList>
#include <map>

namespace headlab {

using model::ModuleAction;
using session::Command;

std::vector<Command> ModuleUndoStack::undo(const std::function<ModuleState(int, ModuleKind)>& state_now, QString* note) {
  if (entries_.empty()) return {};
  const Entry entry = entries_.back();
  entries_.pop_back();
  // The steps from each cell's state now back to its state before, as actions. Activations
  // go first, so that a frozen-then-bypassed cell is live again before it is frozen.
  std::map<std::pair<int, ModuleKind>, std::vector<int64_t>> plan;  // (order, module) -> layers
  auto add = [&](int order, ModuleKind module, int layer) { plan[{order, module}].push_back(layer); };
  constexpr int kActivate = 0, kFreeze = 1, kBypass = 2;
  QStringList kept;
  for (const Cell& c : entry.cells) {
    const ModuleState now = state_now(c.layer, c.module);
    if (now == c.before) continue;
    switch (c.before) {
      case ModuleState::Active:
        if (now == ModuleState::Frozen || now == ModuleState::Bypassed) add(kActivate, c.module, c.layer);
        break;
      case ModuleState::Frozen:
        if (now == ModuleState::Bypassed) add(kActivate, c.module, c.layer);
        if (now != ModuleState::Absent) add(kFreeze, c.module, c.layer);
        break;
      case ModuleState::Bypassed:
        if (now == ModuleState::Active || now == ModuleState::Frozen) add(kBypass, c.module, c.layer);
        break;
      case ModuleState::Absent:
        if (now == ModuleState::Active || now == ModuleState::Frozen) add(kBypass, c.module, c.layer);
        kept << QObject::tr("%1 in layer %2").arg(QString::fromStdString(model::to_string(c.module))).arg(c.layer);
        break;
    }
  }
  if (note)
    *note = kept.isEmpty() ? QString()
                           : QObject::tr("Undo: %1 stays in the model, bypassed (an inserted module cannot be "
                                         "removed; bypassed, the model computes what it did without it).")
                                 .arg(kept.join(", "));
  static const ModuleAction kActions[] = {ModuleAction::Activate, ModuleAction::Freeze, ModuleAction::Bypass};
  std::vector<Command> commands;
  for (const auto& [key, layers] : plan) commands.push_back(Command::module_action(kActions[key.first], key.second, layers));
  return commands;
}

}  // namespace headlab
