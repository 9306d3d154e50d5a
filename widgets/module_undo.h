#pragma once
// Undo for the module table (Ctrl+Z). An action is remembered as the states its cells had
// before it; undoing sends the session the commands that put each cell back in that state,
// by the same rules as any other action (model::action_allowed). Two actions cannot be
// taken back exactly and say so instead: fold merged the module into the projections (its
// old weights are gone), and an inserted module cannot be removed, only bypassed, which
// gives back the function the model had without it.
#include <QString>
#include <functional>
#include <vector>

#include "model/module_types.h"
#include "session/session.h"

namespace headlab {

class ModuleUndoStack {
 public:
  using ModuleKind = model::ModuleKind;
  using ModuleState = model::ModuleState;

  struct Cell {
    int layer = 0;
    ModuleKind module = ModuleKind::Kha;
    ModuleState before = ModuleState::Absent;
  };
  struct Entry {
    QString description;  // "bypass kha in layers 0,1"
    std::vector<Cell> cells;
  };

  void push(Entry entry) { entries_.push_back(std::move(entry)); }
  bool canUndo() const { return !entries_.empty(); }
  QString nextDescription() const { return entries_.empty() ? QString() : entries_.back().description; }
  void clear() { entries_.clear(); }
  int size() const { return static_cast<int>(entries_.size()); }

  // Pops the newest entry and returns the commands that restore its cells, given each cell's
  // state now. `note` gets what could not be restored exactly (a module that was absent
  // stays in the model, bypassed).
  std::vector<session::Command> undo(const std::function<ModuleState(int, ModuleKind)>& state_now, QString* note);

 private:
  std::vector<Entry> entries_;
};

}  // namespace headlab
