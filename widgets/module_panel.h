#pragma once
// The layers x modules table (KHA, MEA, talking heads): each cell shows the module's state
// (active, frozen, bypassed, absent) and, from the latest probe, how much the loss rises
// when that module alone is bypassed now. The actions insert / activate / bypass / freeze /
// fold apply to the selected cells whose state allows them and are emitted as session
// commands (one per module, with the selected layers). Inserting MEA shows the spec's
// caveat: its group norm is not an identity, so the model's function changes.
#include <QString>
#include <QWidget>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "module_undo.h"
#include "probe/snapshot.h"
#include "session/session.h"

class QAction;
class QLabel;
class QTableWidget;

namespace headlab {

class ModulePanel : public QWidget {
  Q_OBJECT

 public:
  using ModuleKind = model::ModuleKind;
  using ModuleState = model::ModuleState;
  using ModuleAction = model::ModuleAction;

  explicit ModulePanel(QWidget* parent = nullptr);

  static QString meaInsertWarning();

  // The session's module table; cells not listed are absent.
  void setModules(int n_layers, const std::vector<session::ModuleCell>& cells);
  // The probe's ablations: loss with one module bypassed against the live loss.
  void setAblations(const std::vector<ModuleAblation>& ablations);
  // The probe's module matrices: a module whose matrices are all the identity (just folded,
  // or not trained yet) changes nothing, and its cell says so ("frozen · at identity").
  void setModuleMatrices(const std::vector<ModuleMatrix>& matrices);
  bool atIdentity(int layer, ModuleKind module) const;
  void clear();

  // Ctrl+Z: puts the cells of the last state change back (module_undo.h).
  QAction* undoAction() const { return undo_action_; }
  bool canUndo() const { return undo_.canUndo(); }
  void undo();

  int layerCount() const { return n_layers_; }
  ModuleState state(int layer, ModuleKind module) const;
  QString cellText(int layer, ModuleKind module) const;
  QString cellToolTip(int layer, ModuleKind module) const;
  // Selects exactly these cells (tests, and "select column" from the header).
  void selectCells(ModuleKind module, const std::vector<int>& layers);
  // The command(s) the action would send for the current selection (empty: disabled). Which
  // cells an action applies to is core's rule (model::action_allowed), not the panel's.
  std::vector<session::Command> commandsFor(ModuleAction action) const;
  QAction* action(ModuleAction action) const;
  QString warningText() const;

 signals:
  void commandRequested(const headlab::session::Command& command);
  // One line for the status bar (e.g. the MEA caveat when inserting MEA).
  void notice(const QString& message);

 public slots:
  // Emits the commands for the current selection.
  void trigger(headlab::model::ModuleAction action);

 private:
  void refresh();
  void updateActions();
  void remember(ModuleAction action, const session::Command& command);
  void reportInsertSideEffects();  // after the states of an insert arrived

  QTableWidget* table_ = nullptr;
  QLabel* warning_ = nullptr;
  std::map<ModuleAction, QAction*> actions_;
  int n_layers_ = 0;
  std::map<std::pair<int, ModuleKind>, ModuleState> states_;
  std::map<std::pair<int, ModuleKind>, ModuleAblation> ablations_;
  std::set<std::pair<int, ModuleKind>> at_identity_;
  ModuleUndoStack undo_;
  QAction* undo_action_ = nullptr;
  // An insert in flight: the module and the layers asked for, to name the other layers the
  // engine gives the module too (bypassed) once the new states arrive.
  struct PendingInsert {
    ModuleKind module = ModuleKind::Kha;
    std::vector<int64_t> layers;
    std::map<int, ModuleState> before;
  };
  std::optional<PendingInsert> pending_insert_;
};

}  // namespace headlab
