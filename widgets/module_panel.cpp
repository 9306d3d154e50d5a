#include "module_panel.h"

#include <QAction>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QTableWidget>
#include <QToolButton>
#include <QVBoxLayout>
#include <set>

namespace headlab {

using session::Command;

namespace {

QColor stateColor(const QString& state) {
  if (state == "active") return QColor(200, 235, 200);
  if (state == "frozen") return QColor(200, 220, 245);
  if (state == "bypassed") return QColor(250, 225, 190);
  return QColor(235, 235, 235);
}

QString moduleTitle(const QString& module) {
  if (module == "kha") return QObject::tr("KHA");
  if (module == "mea") return QObject::tr("MEA");
  return QObject::tr("talking heads");
}

}  // namespace

const QStringList& ModulePanel::moduleNames() {
  static const QStringList names = {"kha", "mea", "talking_heads"};
  return names;
}

const QStringList& ModulePanel::actionNames() {
  static const QStringList names = {"insert", "activate", "bypass", "freeze", "fold"};
  return names;
}

bool ModulePanel::actionAllowed(const QString& action, const QString& module, const QString& state) {
  if (action == "insert") return state == "absent";
  if (action == "activate") return state == "frozen" || state == "bypassed";
  if (action == "bypass") return state == "active" || state == "frozen";
  if (action == "freeze") return state == "active";
  // Only linear maps fold into the projections (MODEL.md §2); talking heads never do.
  if (action == "fold") return module != "talking_heads" && (state == "active" || state == "frozen");
  return false;
}

QString ModulePanel::meaInsertWarning() {
  return tr("Inserting MEA changes the model's function: its mixing starts at the identity, but its "
            "per-head group norm is not an identity, so the loss can jump right after the insert.");
}

ModulePanel::ModulePanel(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(4, 4, 4, 4);
  auto* bar = new QHBoxLayout;
  const std::map<QString, QString> tips = {
      {"insert", tr("Add the module to the selected layers at its identity init (training goes on).")},
      {"activate", tr("Put a bypassed or frozen module back into the forward pass and training.")},
      {"bypass", tr("Skip the module in the forward pass; its weights are kept for later.")},
      {"freeze", tr("Keep the module in the forward pass but stop updating its weights.")},
      {"fold", tr("Merge a linear module into the attention projections and reset it to identity; "
                  "the logits do not change.")}};
  for (const QString& name : actionNames()) {
    auto* a = new QAction(name.at(0).toUpper() + name.mid(1), this);
    a->setToolTip(tips.at(name));
    connect(a, &QAction::triggered, this, [this, name] { trigger(name); });
    actions_[name] = a;
    auto* button = new QToolButton(this);
    button->setDefaultAction(a);
    bar->addWidget(button);
  }
  actions_["insert"]->setToolTip(actions_["insert"]->toolTip() + ' ' + tr("MEA: its group norm is not an identity."));
  bar->addStretch(1);
  layout->addLayout(bar);

  table_ = new QTableWidget(0, int(moduleNames().size()), this);
  QStringList headers;
  for (const QString& m : moduleNames()) headers << moduleTitle(m);
  table_->setHorizontalHeaderLabels(headers);
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->setSelectionMode(QAbstractItemView::ExtendedSelection);
  table_->setSelectionBehavior(QAbstractItemView::SelectItems);
  table_->setContextMenuPolicy(Qt::ActionsContextMenu);
  for (const QString& name : actionNames()) table_->addAction(actions_[name]);
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
  std::map<std::pair<int, QString>, QString> states;
  for (const auto& c : cells) states[{c.layer, QString::fromStdString(c.module)}] = QString::fromStdString(c.state);
  if (n_layers == n_layers_ && states == states_) return;
  n_layers_ = std::max(0, n_layers);
  states_ = std::move(states);
  refresh();
}

void ModulePanel::setAblations(const std::vector<ModuleAblation>& ablations) {
  ablations_.clear();
  for (const auto& a : ablations) ablations_[{a.layer, QString::fromStdString(a.module)}] = a;
  refresh();
}

void ModulePanel::clear() {
  n_layers_ = 0;
  states_.clear();
  ablations_.clear();
  warning_->hide();
  refresh();
}

QString ModulePanel::state(int layer, const QString& module) const {
  const auto it = states_.find({layer, module});
  return it == states_.end() ? QStringLiteral("absent") : it->second;
}

QString ModulePanel::cellText(int layer, const QString& module) const {
  QString text = state(layer, module);
  const auto it = ablations_.find({layer, module});
  if (it != ablations_.end() && text != "absent")
    text += QStringLiteral("  Δ %1").arg(it->second.loss_bypassed - it->second.loss_live, 0, 'f', 3);
  return text;
}

QString ModulePanel::cellToolTip(int layer, const QString& module) const {
  QString tip = tr("%1 in layer %2: %3").arg(moduleTitle(module)).arg(layer).arg(state(layer, module));
  const auto it = ablations_.find({layer, module});
  if (it != ablations_.end())
    tip += tr("\nprobe loss with it bypassed: %1 (live: %2)")
               .arg(it->second.loss_bypassed, 0, 'f', 4)
               .arg(it->second.loss_live, 0, 'f', 4);
  return tip;
}

void ModulePanel::refresh() {
  const QSignalBlocker block(table_);
  table_->setRowCount(n_layers_);
  QStringList rows;
  for (int l = 0; l < n_layers_; ++l) rows << tr("layer %1").arg(l);
  table_->setVerticalHeaderLabels(rows);
  for (int l = 0; l < n_layers_; ++l) {
    for (int c = 0; c < moduleNames().size(); ++c) {
      const QString& module = moduleNames()[c];
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

void ModulePanel::selectCells(const QString& module, const std::vector<int>& layers) {
  table_->clearSelection();
  const int column = int(moduleNames().indexOf(module));
  if (column < 0) return;
  for (int l : layers)
    if (QTableWidgetItem* item = table_->item(l, column)) item->setSelected(true);
}

std::vector<Command> ModulePanel::commandsFor(const QString& action) const {
  std::map<QString, std::vector<int64_t>> layers;  // module -> layers, ascending
  std::set<std::pair<int, int>> cells;
  for (const QTableWidgetItem* item : table_->selectedItems()) cells.insert({item->column(), item->row()});
  for (const auto& [column, layer] : cells) {
    const QString& module = moduleNames()[column];
    if (actionAllowed(action, module, state(layer, module))) layers[module].push_back(layer);
  }
  std::vector<Command> commands;
  for (const QString& module : moduleNames())
    if (layers.count(module))
      commands.push_back(Command::module_action(action.toStdString(), module.toStdString(), layers[module]));
  return commands;
}

void ModulePanel::trigger(const QString& action) {
  const auto commands = commandsFor(action);
  for (const Command& c : commands) {
    if (action == "insert" && c.module == "mea") {
      warning_->setText(meaInsertWarning());
      warning_->show();
      emit notice(meaInsertWarning());
    }
    emit commandRequested(c);
  }
}

QAction* ModulePanel::action(const QString& name) const {
  const auto it = actions_.find(name);
  return it == actions_.end() ? nullptr : it->second;
}

QString ModulePanel::warningText() const { return warning_->isHidden() ? QString() : warning_->text(); }

void ModulePanel::updateActions() {
  for (const auto& [name, a] : actions_) a->setEnabled(!commandsFor(name).empty());
}

}  // namespace headlab
