#pragma once
// The vocabulary of module control (MODEL.md §3), shared by the engine, the schedule, the
// session's commands and the GUI's module table: which modules exist, the state each one is
// in, what a user can do to it, and which of those actions a state allows. Plain C++ (no
// torch), so widgets/ asks core, not a copy of the rules, what a cell may do.
#include <cstdint>
#include <string>
#include <vector>

namespace headlab::model {

// The interaction modules a layer can carry. The names are the config's and the events'.
enum class ModuleKind { Kha, Mea, TalkingHeads };
inline constexpr ModuleKind kAllModuleKinds[] = {ModuleKind::Kha, ModuleKind::Mea, ModuleKind::TalkingHeads};
std::string to_string(ModuleKind kind);                       // "kha", "mea", "talking_heads"
ModuleKind module_kind_from_string(const std::string& name);  // throws InputError

// Runtime state of one module in one layer.
enum class ModuleState { Absent, Active, Frozen, Bypassed };
inline constexpr ModuleState kAllModuleStates[] = {ModuleState::Absent, ModuleState::Active, ModuleState::Frozen,
                                                   ModuleState::Bypassed};
std::string to_string(ModuleState state);                       // "absent", "active", "frozen", "bypassed"
ModuleState module_state_from_string(const std::string& name);  // throws InputError

// What a user or a schedule can do to a module.
enum class ModuleAction { Insert, Activate, Bypass, Freeze, Fold };
inline constexpr ModuleAction kAllModuleActions[] = {ModuleAction::Insert, ModuleAction::Activate, ModuleAction::Bypass,
                                                     ModuleAction::Freeze, ModuleAction::Fold};
std::string to_string(ModuleAction action);                        // "insert", "activate", ...
ModuleAction module_action_from_string(const std::string& name);  // throws InputError: never a silent default

// The one rule for what a cell may do: insert only where absent; activate a frozen or bypassed
// module; bypass a live one; freeze an active one; fold a live linear module (KHA, MEA mixing;
// talking heads never fold, MODEL.md §2).
bool action_allowed(ModuleAction action, ModuleKind kind, ModuleState state);
std::vector<ModuleAction> allowed_actions(ModuleKind kind, ModuleState state);
// The state an allowed action leaves the module in (fold keeps the state: the module is
// reset to identity in place).
ModuleState state_after(ModuleAction action, ModuleState state);

// One module action as asked for: by the schedule, a user command or the CLI.
enum class KhaMode { None, Linear, Mlp };

struct KhaConfig {
  KhaMode q = KhaMode::None;
  KhaMode k = KhaMode::None;
  KhaMode v = KhaMode::None;
  bool enabled() const { return q != KhaMode::None || k != KhaMode::None || v != KhaMode::None; }
};

struct ModuleActionRequest {
  ModuleAction action = ModuleAction::Bypass;
  ModuleKind module = ModuleKind::Kha;
  // Empty: every layer where the action is allowed for this module now (insert: every layer
  // that lacks it). Listed layers must each allow the action, or nothing is changed.
  std::vector<int64_t> layers;
  // insert, into a model that has no such module yet: KHA's modes (v mlp by default) and
  // whether MEA brings its group norm (which is not an identity).
  KhaConfig insert_kha{KhaMode::Linear, KhaMode::Linear, KhaMode::Mlp};
  bool insert_mea_group_norm = true;
  // "bypass kha in layers 0,1" (the layers as asked; none when empty).
  std::string describe() const;
};

}  // namespace headlab::model
