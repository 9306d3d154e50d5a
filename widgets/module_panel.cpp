#include "module_panel.h"

#include <QAction>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QKeySequence>
#include <QLabel>
#include <QStringList>
#include <QTableWidget>
#include <QToolButton>
#include <QVBoxLayout>
#include <algorithm>
#include <iterator>
#include <set>

namespace headlab {

using session::Command;

using model::ModuleAction;
using model::ModuleKind;
using model::ModuleState;

namespace {

QColor stateColor(ModuleState state) {
  switch (state) {
    case ModuleState::Active: return QColor(200, 235, 200);
    case ModuleState::Frozen: return QColor(200, 220, 245);
    case ModuleState::Bypassed: return QColor(250, 225, 190);
    case ModuleState::Absent: break;
  }
  return QColor(235, 235, 235);
}

QString moduleTitle(ModuleKind module) {
  switch (module) {
    case ModuleKind::Kha: return QObject::tr("KHA");
    case ModuleKind::Mea: return QObject::tr("MEA");
    case ModuleKind::TalkingHeads: break;
  }
  return QObject::tr("talking heads");
}

QString name(ModuleState state) { return QString::fromStdString(model::to_string(state)); }

constexpr int kColumns = int(std::size(model::kAllModuleKinds));

}  // namespace

QString ModulePanel::meaInsertWarning() {
  return tr("Inserting MEA changes the model's function: its mixing starts at the identity, but its "
            "per-head group norm is not an identity, so the loss can jump right after the insert.");
}

ModulePanel::ModulePanel(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(4, 4, 4, 4);
  auto* bar = new QHBoxLayout;
  const std::map<ModuleAction, QString> tips = {
      {ModuleAction::Insert, tr("Add the module to the selected layers at its identity init (training goes on).")},
      {ModuleAction::Activate, tr("Put a bypassed or frozen module back into the forward pass and training.")},
      {ModuleAction::Bypass, tr("Skip the module in the forward pass; its weights are kept for later.")},
      {ModuleAction::Freeze, tr("Keep the module in the forward pass but stop updating its weights.")},
      {ModuleAction::Fold, tr("Merge a linear module into the attention projections and reset it to identity; "
                              "the logits do not change.")}};
  for (ModuleAction kind : model::kAllModuleActions) {
    const QString label = QString::fromStdString(model::to_string(kind));
    auto* a = new QAction(label.at(0).toUpper() + label.mid(1), this);
    a->setToolTip(tips.at(kind));
    connect(a, &QAction::triggered, this, [this, kind] { trigger(kind); });
    actions_[kind] = a;
    auto* button = new QToolButton(this);
    button->setDefaultAction(a);
    bar->addWidget(button);
  }
  actions_[ModuleAction::Insert]->setToolTip(actions_[ModuleAction::Insert]->toolTip() + ' ' +
                                             tr("MEA: its group norm is not an identity. A module the model does not "
                                                "have yet goes into every interaction layer, bypassed where not asked "
                                                "for."));
  actions_[ModuleAction::Fold]->setToolTip(actions_[ModuleAction::Fold]->toolTip() + ' ' +
                                           tr("Cannot be undone: the module's old weights are merged away."));
  undo_action_ = new QAction(tr("Undo"), this);
  undo_action_->setShortcut(QKeySequence::Undo);
  undo_action_->setToolTip(tr("Put the cells of the last activate, bypass, freeze or insert back in their earlier "
                              "state (Ctrl+Z). Fold cannot be undone."));
  connect(undo_action_, &QAction::triggered, this, &ModulePanel::undo);
  auto* undo_button = new QToolButton(this);
  undo_button->setDefaultAction(undo_action_);
  bar->addWidget(undo_button);
  bar->addStretch(1);
  layout->addLayout(bar);

  table_ = new QTableWidget(0, kColumns, this);
  QStringList headers;
  for (ModuleKind m : model::kAllModuleKinds) headers << moduleTitle(m);
  table_->setHorizontalHeaderLabels(headers);
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->setSelectionMode(QAbstractItemView::ExtendedSelection);
  table_->setSelectionBehavior(QAbstractItemView::SelectItems);
  table_->setContextMenuPolicy(Qt::ActionsContextMenu);
  for (ModuleAction kind : model::kAllModuleActions) table_->addAction(actions_[kind]);
  table_->setToolTip(tr("Interaction modules per layer and their state. The number under the state is how "
                        "much the probe loss rises when only that module is bypassed: large means the model "
                        "relies on it now. Select cells, then use the buttons or the right-click menu."));
  layout->addWidget(table_, 1);
  warning_ = new QLabel(this);
  warning_->setWordWrap(true);
  warning_->setStyleSheet("color: #8a5300;");
  warning_->hide();
  layout->addWidget(warning_);
  connect(table_, &QTableWidget::itemSelectionChanged, this, &ModulePanel::updateActions);
  updateActions();
}

void ModulePanel::setModules(int n_layers, const std::vector<session::ModuleCell>& cells) {
  std::map<std::pair<int, ModuleKind>, ModuleState> states;
  for (const auto& c : cells) states[{c.layer, c.module}] = c.state;
  if (n_layers == n_layers_ && states == states_) return;
  n_layers_ = std::max(0, n_layers);
  states_ = std::move(states);
  reportInsertSideEffects();
  refresh();
}

void ModulePanel::reportInsertSideEffects() {
  if (!pending_insert_) return;
  const PendingInsert& p = *pending_insert_;
  // Not yet applied: the asked-for layers still have no module.
  for (int64_t l : p.layers)
    if (state(int(l), p.module) == ModuleState::Absent) return;
  QStringList extra;
  for (const auto& [layer, before] : p.before) {
    const bool asked = std::find(p.layers.begin(), p.layers.end(), layer) != p.layers.end();
    if (!asked && before == ModuleState::Absent && state(layer, p.module) != ModuleState::Absent)
      extra << QString::number(layer);
  }
  const QString name = moduleTitle(p.module);
  pending_insert_.reset();
  if (extra.isEmpty()) return;
  const QString message =
      tr("Inserting %1 also put it, bypassed, in layer%2 %3: a model carries a module kind in all its interaction "
         "layers. Bypassed, it changes nothing there; Activate it to use it.")
          .arg(name, extra.size() > 1 ? "s" : "", extra.join(", "));
  warning_->setText(warning_->isHidden() || warning_->text().isEmpty() ? message : warning_->text() + "\n" + message);
  warning_->show();
  emit notice(message);
}

void ModulePanel::setAblations(const std::vector<ModuleAblation>& ablations) {
  ablations_.clear();
  for (const auto& a : ablations) ablations_[{a.layer, model::module_kind_from_string(a.module)}] = a;
  refresh();
}

void ModulePanel::setModuleMatrices(const std::vector<ModuleMatrix>& matrices) {
  // Identity within float rounding of a fold's reset (the matrices are stored as floats).
  constexpr float kTolerance = 1e-5f;
  std::map<std::pair<int, ModuleKind>, bool> all_identity;
  for (const ModuleMatrix& m : matrices) {
    ModuleKind kind;
    try {
      kind = model::module_kind_from_string(m.module);
    } catch (const std::exception&) {
      continue;  // a matrix of a module this table has no column for
    }
    auto [it, fresh] = all_identity.try_emplace({m.layer, kind}, true);
    it->second = it->second && m.distance_from_identity <= kTolerance;
  }
  std::set<std::pair<int, ModuleKind>> at_identity;
  for (const auto& [cell, identity] : all_identity)
    if (identity) at_identity.insert(cell);
  if (at_identity == at_identity_) return;
  at_identity_ = std::move(at_identity);
  refresh();
}

bool ModulePanel::atIdentity(int layer, ModuleKind module) const { return at_identity_.count({layer, module}) > 0; }

void ModulePanel::clear() {
  n_layers_ = 0;
  states_.clear();
  ablations_.clear();
  at_identity_.clear();
  undo_.clear();
  pending_insert_.reset();
  warning_->hide();
  refresh();
}

ModuleState ModulePanel::state(int layer, ModuleKind module) const {
  const auto it = states_.find({layer, module});
  return it == states_.end() ? ModuleState::Absent : it->second;
}

QString ModulePanel::cellText(int layer, ModuleKind module) const {
  QString text = name(state(layer, module));
  if (state(layer, module) != ModuleState::Absent && atIdentity(layer, module)) text += tr(" · at identity");
  const auto it = ablations_.find({layer, module});
  if (it != ablations_.end() && state(layer, module) != ModuleState::Absent) {
    const auto& a = it->second;
    // The sign only when it is resolved (|Δ| > 2 SE); otherwise "≈0" says the data cannot tell.
    if (a.resolved())
      text += QStringLiteral("  Δ %1").arg(a.delta, 0, 'f', 3);
    else
      text += QStringLiteral("  Δ ≈0");
  }
  return text;
}

QString ModulePanel::cellToolTip(int layer, ModuleKind module) const {
  QString tip = tr("%1 in layer %2: %3").arg(moduleTitle(module)).arg(layer).arg(name(state(layer, module)));
  if (state(layer, module) != ModuleState::Absent && atIdentity(layer, module))
    tip += tr("\nits matrices are the identity (just folded, or not trained yet): it changes nothing now");
  const auto it = ablations_.find({layer, module});
  if (it != ablations_.end()) {
    const auto& a = it->second;
    tip += tr("\nbypassing it changes the loss on the scored positions by %1 ± %2 (standard error over %3 %4 of the %5)")
               .arg(a.delta, 0, 'f', 4)
               .arg(a.standard_error, 0, 'f', 4)
               .arg(a.samples)
               .arg(a.measured_on == "probe text" ? tr("tokens") : tr("rows"))
               .arg(QString::fromStdString(a.measured_on));
    tip += a.resolved() ? (a.delta > 0 ? tr("\nresolved: the model does worse without it")
                                       : tr("\nresolved: the model does better without it"))
                        : tr("\nnot resolved: within two standard errors of 0");
    tip += tr("\nloss bypassed %1, live %2").arg(a.loss_bypassed, 0, 'f', 4).arg(a.loss_live, 0, 'f', 4);
  }
  return tip;
}

void ModulePanel::refresh() {
  const QSignalBlocker block(table_);
  table_->setRowCount(n_layers_);
  QStringList rows;
  for (int l = 0; l < n_layers_; ++l) rows << tr("layer %1").arg(l);
  table_->setVerticalHeaderLabels(rows);
  for (int l = 0; l < n_layers_; ++l) {
    for (int c = 0; c < kColumns; ++c) {
      const ModuleKind module = model::kAllModuleKinds[c];
      QTableWidgetItem* item = table_->item(l, c);
      if (!item) {
        item = new QTableWidgetItem;
        item->setTextAlignment(Qt::AlignCenter);
        table_->setItem(l, c, item);
      }
      item->setText(cellText(l, module));
      item->setToolTip(cellToolTip(l, module));
      item->setBackground(stateColor(state(l, module)));
      item->setForeground(QColor(20, 20, 20));
    }
  }
  table_->resizeRowsToContents();
  updateActions();
}

void ModulePanel::selectCells(ModuleKind module, const std::vector<int>& layers) {
  table_->clearSelection();
  const int column = int(module);
  for (int l : layers)
    if (QTableWidgetItem* item = table_->item(l, column)) item->setSelected(true);
}

std::vector<Command> ModulePanel::commandsFor(ModuleAction action) const {
  std::map<ModuleKind, std::vector<int64_t>> layers;  // module -> layers, ascending
  std::set<std::pair<int, int>> cells;
  for (const QTableWidgetItem* item : table_->selectedItems()) cells.insert({item->column(), item->row()});
  for (const auto& [column, layer] : cells) {
    const ModuleKind module = model::kAllModuleKinds[column];
    if (model::action_allowed(action, module, state(layer, module))) layers[module].push_back(layer);
  }
  std::vector<Command> commands;
  for (const auto& [module, list] : layers) commands.push_back(Command::module_action(action, module, list));
  return commands;
}

void ModulePanel::trigger(ModuleAction action) {
  for (const Command& c : commandsFor(action)) {
    if (action == ModuleAction::Insert && c.get<session::cmd::ModuleAction>()->request.module == ModuleKind::Mea) {
      warning_->setText(meaInsertWarning());
      warning_->show();
      emit notice(meaInsertWarning());
    }
    remember(action, c);
    emit commandRequested(c);
  }
}

void ModulePanel::remember(ModuleAction action, const Command& command) {
  const auto& request = command.get<session::cmd::ModuleAction>()->request;
  if (action == ModuleAction::Insert) {
    PendingInsert pending{request.module, request.layers, {}};
    for (int l = 0; l < n_layers_; ++l) pending.before[l] = state(l, request.module);
    pending_insert_ = pending;
  }
  // Fold keeps the states and merges the weights away: nothing the table could put back.
  if (action == ModuleAction::Fold) return;
  ModuleUndoStack::Entry entry{QString::fromStdString(request.describe()), {}};
  for (int64_t l : request.layers) entry.cells.push_back({int(l), request.module, state(int(l), request.module)});
  undo_.push(std::move(entry));
  updateActions();
}

void ModulePanel::undo() {
  if (!undo_.canUndo()) return;
  const QString what = undo_.nextDescription();
  QString note;
  const auto commands = undo_.undo([this](int l, ModuleKind m) { return state(l, m); }, &note);
  updateActions();
  emit notice(note.isEmpty() ? tr("Undo: %1").arg(what) : note);
  for (const Command& c : commands) emit commandRequested(c);
}

QAction* ModulePanel::action(ModuleAction kind) const {
  const auto it = actions_.find(kind);
  return it == actions_.end() ? nullptr : it->second;
}

QString ModulePanel::warningText() const { return warning_->isHidden() ? QString() : warning_->text(); }

void ModulePanel::updateActions() {
  for (const auto& [kind, a] : actions_) a->setEnabled(!commandsFor(kind).empty());
  undo_action_->setEnabled(undo_.canUndo());
  undo_action_->setStatusTip(undo_.canUndo() ? tr("Undo %1").arg(undo_.nextDescription()) : QString());
}

}  // namespace headlab
