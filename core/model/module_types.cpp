#include "model/module_types.h"

#include "common/errors.h"

namespace headlab::model {

std::string to_string(ModuleKind kind) {
  switch (kind) {
    case ModuleKind::Kha: return "kha";
    case ModuleKind::Mea: return "mea";
    case ModuleKind::TalkingHeads: return "talking_heads";
  }
  return "?";
}

ModuleKind module_kind_from_string(const std::string& name) {
  if (name == "kha") return ModuleKind::Kha;
  if (name == "mea") return ModuleKind::Mea;
  if (name == "talking_heads" || name == "talking") return ModuleKind::TalkingHeads;
  throw InputError("unknown module '" + name + "' (expected kha, mea or talking_heads)");
}

std::string to_string(ModuleState state) {
  switch (state) {
    case ModuleState::Absent: return "absent";
    case ModuleState::Active: return "active";
    case ModuleState::Frozen: return "frozen";
    case ModuleState::Bypassed: return "bypassed";
  }
  return "?";
}

ModuleState module_state_from_string(const std::string& name) {
  for (ModuleState s : kAllModuleStates)
    if (to_string(s) == name) return s;
  throw InputError("unknown module state '" + name + "' (expected absent, active, frozen or bypassed)");
}

std::string to_string(ModuleAction action) {
  switch (action) {
    case ModuleAction::Insert: return "insert";
    case ModuleAction::Activate: return "activate";
    case ModuleAction::Bypass: return "bypass";
    case ModuleAction::Freeze: return "freeze";
    case ModuleAction::Fold: return "fold";
  }
  return "?";
}

ModuleAction module_action_from_string(const std::string& name) {
  for (ModuleAction a : kAllModuleActions)
    if (to_string(a) == name) return a;
  throw InputError("unknown module action '" + name + "' (expected insert, activate, bypass, freeze or fold)");
}

bool action_allowed(ModuleAction action, ModuleKind kind, ModuleState state) {
  const bool live = state == ModuleState::Active || state == ModuleState::Frozen;
  switch (action) {
    case ModuleAction::Insert: return state == ModuleState::Absent;
    case ModuleAction::Activate: return state == ModuleState::Frozen || state == ModuleState::Bypassed;
    case ModuleAction::Bypass: return live;
    case ModuleAction::Freeze: return state == ModuleState::Active;
    case ModuleAction::Fold: return live && kind != ModuleKind::TalkingHeads;
  }
  return false;
}

std::vector<ModuleAction> allowed_actions(ModuleKind kind, ModuleState state) {
  std::vector<ModuleAction> out;
  for (ModuleAction a : kAllModuleActions)
    if (action_allowed(a, kind, state)) out.push_back(a);
  return out;
}

ModuleState state_after(ModuleAction action, ModuleState state) {
  switch (action) {
    case ModuleAction::Insert: return ModuleState::Active;
    case ModuleAction::Activate: return ModuleState::Active;
    case ModuleAction::Bypass: return ModuleState::Bypassed;
    case ModuleAction::Freeze: return ModuleState::Frozen;
    case ModuleAction::Fold: return state;
  }
  return state;
}

std::string ModuleActionRequest::describe() const {
  std::string s = to_string(action) + " " + to_string(module);
  if (!layers.empty()) {
    s += " in layer" + std::string(layers.size() > 1 ? "s " : " ");
    for (size_t i = 0; i < layers.size(); ++i) s += (i ? "," : "") + std::to_string(layers[i]);
  }
  return s;
}

}  // namespace headlab::model
