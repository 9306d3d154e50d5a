#include "experiment_panel.h"

#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPointer>
#include <QPushButton>
#include <QSpinBox>
#include <QThreadPool>
#include <QTimer>
#include <QVBoxLayout>
#include <limits>

#include "experiment_check.h"
#include "train/experiment_config.h"

namespace headlab {
namespace {

using nlohmann::json;

const char* kCustom = "(custom)";
constexpr int kDefaultMaxSeqLen = 256;  // the engine's default (model_config.cpp)
const char* kTextTask = "text";
const QStringList kTasks = {"induction", "associative_recall", "modular_addition", "sort", "grammar", kTextTask};

QSpinBox* spin(QWidget* parent, int lo, int hi, const QString& tip) {
  auto* box = new QSpinBox(parent);
  box->setRange(lo, hi);
  box->setToolTip(tip);
  return box;
}

QComboBox* combo(QWidget* parent, const QStringList& items, const QString& tip) {
  auto* box = new QComboBox(parent);
  box->addItems(items);
  box->setToolTip(tip);
  return box;
}

int intOr(const json& object, const char* key, int fallback) {
  const auto it = object.find(key);
  return it != object.end() && it->is_number() ? it->get<int>() : fallback;
}

QString stringOr(const json& object, const char* key, const QString& fallback) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? QString::fromStdString(it->get<std::string>()) : fallback;
}

const json& child(const json& object, const char* key) {
  static const json empty = json::object();
  const auto it = object.find(key);
  return it != object.end() && it->is_object() ? *it : empty;
}

// A form row's label explains what its field explains: hovering "d_model" is the natural
// question, not hovering the number next to it.
void shareToolTipsWithLabels(QFormLayout* form) {
  for (int row = 0; row < form->rowCount(); ++row) {
    QLayoutItem* label = form->itemAt(row, QFormLayout::LabelRole);
    QLayoutItem* field = form->itemAt(row, QFormLayout::FieldRole);
    if (!label || !label->widget() || !field) continue;
    QString tip = field->widget() ? field->widget()->toolTip() : QString();
    if (tip.isEmpty() && field->layout())
      for (int i = 0; i < field->layout()->count() && tip.isEmpty(); ++i)
        if (QWidget* w = field->layout()->itemAt(i)->widget()) tip = w->toolTip();
    if (label->widget()->toolTip().isEmpty()) label->widget()->setToolTip(tip);
  }
}

// "24 tokens (chars)" for a loaded config's vocabulary.
QString vocabularyText(const json& model) {
  const json& tokenizer = child(model, "tokenizer");
  const QString type = stringOr(tokenizer, "type", QString());
  const QString size = QString::number(intOr(model, "vocab_size", 0));
  return type.isEmpty() ? QObject::tr("%1 tokens").arg(size) : QObject::tr("%1 tokens (%2)").arg(size, type);
}

}  // namespace

ExperimentPanel::ExperimentPanel(QWidget* parent) : QWidget(parent) {
  data_check_timer_ = new QTimer(this);
  data_check_timer_->setSingleShot(true);
  data_check_timer_->setInterval(kDataCheckDelayMs);
  connect(data_check_timer_, &QTimer::timeout, this, &ExperimentPanel::startDataCheck);
  auto* layout = new QVBoxLayout(this);
  auto* preset_row = new QHBoxLayout;
  preset_box_ = combo(this, {}, tr("Ready-made experiments. Picking one fills the form; you can then change any field."));
  preset_row->addWidget(new QLabel(tr("Preset"), this));
  preset_row->addWidget(preset_box_, 1);
  layout->addLayout(preset_row);
  preset_description_ = new QLabel(this);
  preset_description_->setWordWrap(true);
  layout->addWidget(preset_description_);
  layout->addWidget(buildModelGroup());
  layout->addWidget(buildDataGroup());
  layout->addWidget(buildTrainGroup());
  problem_label_ = new QLabel(this);
  problem_label_->setWordWrap(true);
  problem_label_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  problem_label_->setToolTip(tr("The engine checks the whole experiment as you edit it; Start stays "
                                "disabled while something is wrong."));
  layout->addWidget(problem_label_);
  layout->addStretch(1);

  connect(preset_box_, &QComboBox::textActivated, this, [this](const QString& name) {
    if (name != kCustom) selectPreset(name);
  });
  connect(layout_box_, &QComboBox::currentTextChanged, this, &ExperimentPanel::onFormEdited);
  for (QSpinBox* box : {layers_box_, d_model_box_, heads_box_, kv_heads_box_, head_dim_box_, max_seq_len_box_,
                        steps_box_, batch_box_, seq_len_box_, seed_box_})
    connect(box, qOverload<int>(&QSpinBox::valueChanged), this, &ExperimentPanel::onFormEdited);
  for (QComboBox* box : {kha_q_box_, kha_k_box_, kha_v_box_, task_box_, device_box_, vocab_box_})
    connect(box, &QComboBox::currentTextChanged, this, &ExperimentPanel::onFormEdited);
  for (QCheckBox* box : {mea_box_, mea_norm_box_, talking_box_})
    connect(box, &QCheckBox::toggled, this, &ExperimentPanel::onFormEdited);
  for (QLineEdit* edit : {text_path_edit_, lr_edit_})
    connect(edit, &QLineEdit::textChanged, this, &ExperimentPanel::onFormEdited);
  connect(browse_button_, &QPushButton::clicked, this, &ExperimentPanel::browseTextFile);

  setCudaAvailable(false);
  reloadPresets();
  if (!selectPreset("induction-kha") && !presetNames().isEmpty()) selectPreset(presetNames().front());
  if (presetNames().isEmpty()) setConfig({{"model", json::object()}, {"data", {{"task", "induction"}}}});
}

QWidget* ExperimentPanel::buildModelGroup() {
  auto* group = new QGroupBox(tr("Model"), this);
  auto* form = new QFormLayout(group);
  layout_box_ = combo(group, {"mha", "gqa", "mqa", "gta"},
                      tr("How query heads share key/value heads: mha one K/V per head, gqa groups of query heads "
                         "share one, mqa all share one, gta shares a tied K/V state per group."));
  layers_box_ = spin(group, 1, 64, tr("Number of transformer layers."));
  d_model_box_ = spin(group, 1, 4096, tr("Width of the residual stream (the model's hidden size)."));
  heads_box_ = spin(group, 1, 128, tr("Query heads per layer."));
  kv_heads_box_ = spin(group, 1, 128, tr("Key/value heads per layer (gqa, gta); n_heads must be a multiple of it."));
  head_dim_box_ = spin(group, 2, 512, tr("Features per head."));
  max_seq_len_box_ = spin(group, 1, 1 << 24, tr("The longest sequence the model accepts (its positions); Seq len "
                                                "in Training may not exceed it."));
  vocab_box_ = combo(group, {tr("from the data")},
                     tr("The model's vocabulary: taken from the data's tokenizer, or kept as the loaded model or "
                        "run had it. Changing the data always takes the data's."));
  const QString kha_tip = tr("Knocking heads: a learned matrix shared by all heads of a layer, applied to "
                             "each head's %1 features; starts at the identity.");
  kha_q_box_ = combo(group, {"none", "linear"}, kha_tip.arg("query"));
  kha_k_box_ = combo(group, {"none", "linear"}, kha_tip.arg("key"));
  kha_v_box_ = combo(group, {"none", "linear", "mlp"}, kha_tip.arg("value"));
  auto* kha_row = new QHBoxLayout;
  for (auto [label, box] : {std::pair{"q", kha_q_box_}, {"k", kha_k_box_}, {"v", kha_v_box_}}) {
    kha_row->addWidget(new QLabel(label, group));
    kha_row->addWidget(box);
  }
  mea_box_ = new QCheckBox(tr("MEA head mixing"), group);
  mea_box_->setToolTip(tr("Multi-head explicit attention: keys and values of different heads are mixed "
                          "by learned matrices (identity at start)."));
  mea_norm_box_ = new QCheckBox(tr("group norm"), group);
  mea_norm_box_->setToolTip(tr("Normalise each head's output. Note: this norm is not an identity, so "
                               "adding MEA to a trained model changes what it computes."));
  auto* mea_row = new QHBoxLayout;
  mea_row->addWidget(mea_box_);
  mea_row->addWidget(mea_norm_box_);
  talking_box_ = new QCheckBox(tr("talking heads"), group);
  talking_box_->setToolTip(tr("Heads exchange their attention scores before and after the softmax "
                              "through learned H x H matrices (identity at start)."));
  form->addRow(tr("Layout"), layout_box_);
  form->addRow(tr("Layers"), layers_box_);
  form->addRow(tr("d_model"), d_model_box_);
  form->addRow(tr("Heads"), heads_box_);
  form->addRow(tr("KV heads"), kv_heads_box_);
  form->addRow(tr("Head dim"), head_dim_box_);
  form->addRow(tr("Max seq len"), max_seq_len_box_);
  form->addRow(tr("Vocabulary"), vocab_box_);
  form->addRow(tr("KHA"), kha_row);
  form->addRow(tr("MEA"), mea_row);
  form->addRow(QString(), talking_box_);
  shareToolTipsWithLabels(form);
  return group;
}

QWidget* ExperimentPanel::buildDataGroup() {
  auto* group = new QGroupBox(tr("Data"), this);
  auto* form = new QFormLayout(group);
  task_box_ = combo(group, kTasks, tr("A synthetic task (each tests one skill heads can learn) or your own text file."));
  task_box_->setItemText(kTasks.indexOf(kTextTask), tr("text file"));
  text_path_edit_ = new QLineEdit(group);
  text_path_edit_->setToolTip(tr("A UTF-8 text file, or a folder of .txt files; the last 10% is held out."));
  browse_button_ = new QPushButton(tr("Browse..."), group);
  auto* path_row = new QHBoxLayout;
  path_row->addWidget(text_path_edit_, 1);
  path_row->addWidget(browse_button_);
  browse_button_->setToolTip(tr("Pick the text file or folder to train on."));
  form->addRow(tr("Task"), task_box_);
  form->addRow(tr("Text"), path_row);
  shareToolTipsWithLabels(form);
  return group;
}

QWidget* ExperimentPanel::buildTrainGroup() {
  auto* group = new QGroupBox(tr("Training"), this);
  auto* form = new QFormLayout(group);
  steps_box_ = spin(group, 1, 10'000'000, tr("Optimizer steps to run."));
  lr_edit_ = new QLineEdit(group);
  lr_edit_->setToolTip(tr("Peak learning rate (after warmup; cosine decay afterwards), e.g. 3e-3."));
  batch_box_ = spin(group, 1, 4096, tr("Sequences per step."));
  seq_len_box_ = spin(group, 1, 8192, tr("Tokens per sequence (at most the model's max_seq_len)."));
  seed_box_ = spin(group, 0, std::numeric_limits<int>::max(), tr("Same seed, same data and initial weights."));
  device_box_ = combo(group, {"cuda", "cpu"}, tr("Where the model trains."));
  device_label_ = new QLabel(tr("Device"), group);
  form->addRow(tr("Steps"), steps_box_);
  form->addRow(tr("Learning rate"), lr_edit_);
  form->addRow(tr("Batch"), batch_box_);
  form->addRow(tr("Seq len"), seq_len_box_);
  form->addRow(tr("Seed"), seed_box_);
  form->addRow(device_label_, device_box_);
  shareToolTipsWithLabels(form);
  return group;
}

QComboBox* ExperimentPanel::khaBox(char which) const {
  return which == 'q' ? kha_q_box_ : which == 'k' ? kha_k_box_ : kha_v_box_;
}

void ExperimentPanel::reloadPresets() {
  const QSignalBlocker block(preset_box_);
  const QString current = preset_box_->currentText();
  preset_box_->clear();
  for (const auto& [name, description] : train::list_presets()) {
    preset_box_->addItem(QString::fromStdString(name));
    preset_box_->setItemData(preset_box_->count() - 1, QString::fromStdString(description), Qt::ToolTipRole);
  }
  preset_box_->addItem(kCustom);
  const int i = preset_box_->findText(current);
  preset_box_->setCurrentIndex(i >= 0 ? i : preset_box_->count() - 1);
}

QStringList ExperimentPanel::presetNames() const {
  QStringList names;
  for (int i = 0; i < preset_box_->count(); ++i)
    if (preset_box_->itemText(i) != kCustom) names << preset_box_->itemText(i);
  return names;
}

QString ExperimentPanel::presetName() const {
  return preset_box_->currentText() == kCustom ? QString() : preset_box_->currentText();
}

bool ExperimentPanel::selectPreset(const QString& name) {
  const int index = preset_box_->findText(name);
  if (index < 0 || name == kCustom) return false;
  json preset;
  try {
    preset = train::load_preset(name.toStdString());
  } catch (const std::exception& e) {
    problem_label_->setText(tr("Cannot load preset %1: %2").arg(name, QString::fromStdString(e.what())));
    return false;
  }
  setConfig(preset);
  {
    const QSignalBlocker block(preset_box_);
    preset_box_->setCurrentIndex(index);
  }
  preset_as_loaded_ = config();
  emit presetChanged(name);
  return true;
}

QString ExperimentPanel::runName() const {
  const QString preset = presetName();
  if (preset.isEmpty()) return QStringLiteral("custom");
  return config() == preset_as_loaded_ ? preset : preset + QStringLiteral("-modified");
}

void ExperimentPanel::setConfig(const json& experiment) {
  base_ = experiment.is_object() ? experiment : json::object();
  {
    const QSignalBlocker block(preset_box_);
    preset_box_->setCurrentIndex(preset_box_->findText(kCustom));
  }
  preset_description_->setText(stringOr(base_, "description", QString()));
  fillForm(base_);
  onFormEdited();
}

void ExperimentPanel::fillForm(const json& j) {
  filling_ = true;
  const json& model = child(j, "model");
  const json& inter = child(model, "interaction");
  const json& kha = child(inter, "kha");
  const json& mea = child(inter, "mea");
  const json& data = child(j, "data");
  const json& train = child(j, "train");
  layout_box_->setCurrentText(stringOr(model, "attention", "gqa"));
  layers_box_->setValue(intOr(model, "n_layers", 4));
  d_model_box_->setValue(intOr(model, "d_model", 128));
  heads_box_->setValue(intOr(model, "n_heads", 8));
  kv_heads_box_->setValue(intOr(model, "n_kv_heads", 8));
  head_dim_box_->setValue(intOr(model, "head_dim", 16));
  max_seq_len_box_->setValue(intOr(model, "max_seq_len", kDefaultMaxSeqLen));
  // A config that names its vocabulary (a run's or a model's) keeps it until the data changes.
  while (vocab_box_->count() > 1) vocab_box_->removeItem(1);
  if (model.contains("vocab_size")) {
    vocab_box_->addItem(tr("as loaded: %1").arg(vocabularyText(model)));
    vocab_box_->setCurrentIndex(1);
  } else {
    vocab_box_->setCurrentIndex(0);
  }
  kha_q_box_->setCurrentText(stringOr(kha, "q", "none"));
  kha_k_box_->setCurrentText(stringOr(kha, "k", "none"));
  kha_v_box_->setCurrentText(stringOr(kha, "v", "none"));
  mea_box_->setChecked(mea.value("enabled", false));
  mea_norm_box_->setChecked(mea.value("group_norm", true));
  talking_box_->setChecked(inter.contains("talking_heads") && child(inter, "talking_heads").value("enabled", true));
  const QString task = stringOr(data, "task", "induction");
  task_box_->setCurrentIndex(std::max(0, static_cast<int>(kTasks.indexOf(task))));
  text_path_edit_->setText(stringOr(data, "path", QString()));
  steps_box_->setValue(intOr(train, "steps", 1000));
  lr_edit_->setText(QString::number(train.value("lr", 3e-3), 'g', 6));
  batch_box_->setValue(intOr(train, "batch_size", 16));
  seq_len_box_->setValue(intOr(train, "seq_len", 64));
  seed_box_->setValue(intOr(train, "seed", 1234));
  if (cuda_available_) device_box_->setCurrentText(stringOr(train, "device", "cuda") == "cpu" ? "cpu" : "cuda");
  filling_ = false;
}

json ExperimentPanel::config() const {
  json j = base_;
  json& model = j["model"];
  if (!model.is_object()) model = json::object();
  const QString layout = layout_box_->currentText();
  model["attention"] = layout.toStdString();
  model["n_layers"] = layers_box_->value();
  model["d_model"] = d_model_box_->value();
  model["n_heads"] = heads_box_->value();
  model["n_kv_heads"] = kv_heads_box_->value();
  model["head_dim"] = head_dim_box_->value();
  // Written when the config had it or the user changed it: a preset without it stays as it was.
  if (model.contains("max_seq_len") || max_seq_len_box_->value() != kDefaultMaxSeqLen)
    model["max_seq_len"] = max_seq_len_box_->value();
  if (vocabularyFromData()) {
    // Left out, the engine takes both from the data's tokenizer (resolve_model_config).
    model.erase("vocab_size");
    model.erase("tokenizer");
  }

  json inter = model.value("interaction", json::object());
  const std::string q = kha_q_box_->currentText().toStdString(), k = kha_k_box_->currentText().toStdString(),
                    v = kha_v_box_->currentText().toStdString();
  if (q == "none" && k == "none" && v == "none") inter.erase("kha");
  else inter["kha"] = {{"q", q}, {"k", k}, {"v", v}};
  if (mea_box_->isChecked()) {
    json mea = inter.value("mea", json::object());
    mea["enabled"] = true;
    mea["group_norm"] = mea_norm_box_->isChecked();
    inter["mea"] = mea;
  } else {
    inter.erase("mea");
  }
  if (talking_box_->isChecked()) inter["talking_heads"] = {{"enabled", true}};
  else inter.erase("talking_heads");
  if (inter.empty()) model.erase("interaction");
  else model["interaction"] = inter;

  const std::string task = kTasks.value(task_box_->currentIndex()).toStdString();
  json& data = j["data"];
  if (!data.is_object() || data.value("task", "") != task) data = {{"task", task}};
  if (task == kTextTask) data["path"] = text_path_edit_->text().trimmed().toStdString();

  json& train = j["train"];
  if (!train.is_object()) train = json::object();
  train["steps"] = steps_box_->value();
  bool ok = false;
  const double lr = lr_edit_->text().trimmed().toDouble(&ok);
  // Unparsable text goes in as a string, so the engine's own message names the field.
  train["lr"] = ok ? json(lr) : json(lr_edit_->text().toStdString());
  train["batch_size"] = batch_box_->value();
  train["seq_len"] = seq_len_box_->value();
  train["seed"] = seed_box_->value();
  train["device"] = cuda_available_ ? device_box_->currentText().toStdString() : "cpu";
  return j;
}

bool ExperimentPanel::vocabularyFromData() const { return vocab_box_->currentIndex() <= 0; }

void ExperimentPanel::setModelSettings(const json& model) {
  json experiment = config();
  json m = model.is_object() ? model : json::object();
  m.erase("format");
  experiment["model"] = m;
  // The model section now says what to build; a leftover init_from would say it twice.
  experiment.erase("init_from");
  experiment.erase("initialized_from");
  setConfig(experiment);
}

void ExperimentPanel::followDataWithVocabulary() {
  if (vocabularyFromData()) return;
  const json& loaded = child(base_, "data");
  const QString task = kTasks.value(task_box_->currentIndex());
  const bool same_task = task == stringOr(loaded, "task", "induction");
  const bool same_path = task != kTextTask || text_path_edit_->text().trimmed() == stringOr(loaded, "path", QString());
  if (same_task && same_path) return;
  const QSignalBlocker block(vocab_box_);
  vocab_box_->setCurrentIndex(0);  // another corpus brings its own tokenizer
}

void ExperimentPanel::setRunActive(bool active) {
  if (active == run_active_) return;
  run_active_ = active;
  showProblem(problem_);
}

void ExperimentPanel::setCudaAvailable(bool available) {
  // The machine's device is not an edit of the preset.
  const bool preset_untouched = !preset_as_loaded_.is_null() && config() == preset_as_loaded_;
  cuda_available_ = available;
  device_box_->setVisible(available);
  device_label_->setVisible(available);
  if (available) device_box_->setCurrentText("cuda");
  onFormEdited();
  if (preset_untouched) preset_as_loaded_ = config();
}

void ExperimentPanel::onFormEdited() {
  if (filling_) return;
  const QString layout = layout_box_->currentText();
  // mha and mqa fix the number of K/V heads; show the value they use.
  if (layout == "mha" || layout == "mqa") {
    const QSignalBlocker block(kv_heads_box_);
    kv_heads_box_->setValue(layout == "mha" ? heads_box_->value() : 1);
  }
  kv_heads_box_->setEnabled(layout == "gqa" || layout == "gta");
  mea_norm_box_->setEnabled(mea_box_->isChecked());
  const bool text = kTasks.value(task_box_->currentIndex()) == kTextTask;
  text_path_edit_->setEnabled(text);
  browse_button_->setEnabled(text);
  followDataWithVocabulary();
  validate();
  emit configChanged();
}

void ExperimentPanel::validate() {
  // Every edit: the structural check, which reads no file. A corpus is read only after the
  // user stops typing for a moment, on a pool thread (see startDataCheck).
  ++check_generation_;
  data_check_timer_->stop();
  const nlohmann::json cfg = config();
  const QString problem = QString::fromStdString(experimentStructureProblem(cfg));
  const bool was_valid = isValid();
  checking_data_ = problem.isEmpty() && experimentCheckReadsFiles(cfg);
  if (checking_data_) {
    data_check_config_ = cfg;
    data_check_timer_->start();
  }
  showProblem(problem);
  if (was_valid != isValid()) emit validityChanged(isValid());
}

void ExperimentPanel::startDataCheck() {
  const quint64 generation = check_generation_;
  QPointer<ExperimentPanel> self(this);
  QThreadPool::globalInstance()->start([self, generation, cfg = data_check_config_] {
    const std::string problem = experimentConfigProblem(cfg);
    // Back on the GUI thread (qApp lives there), where the QPointer can be trusted.
    QMetaObject::invokeMethod(
        qApp,
        [self, generation, problem] {
          if (!self || generation != self->check_generation_) return;  // closed, or edited since
          self->checking_data_ = false;
          self->showProblem(QString::fromStdString(problem));
          emit self->validityChanged(self->isValid());
        },
        Qt::QueuedConnection);
  });
}

void ExperimentPanel::showProblem(const QString& problem) {
  problem_ = problem;
  // Text colours as a palette of the label's own (see markFaultyField): no style sheet.
  const bool dark = QApplication::palette().color(QPalette::Window).lightness() < 128;
  QColor colour;
  if (!problem_.isEmpty()) {
    colour = dark ? QColor(255, 130, 120) : QColor(179, 38, 30);
    problem_label_->setText(tr("Cannot start: %1").arg(problem_));
  } else if (checking_data_) {
    problem_label_->setText(tr("Checking the text file..."));
  } else if (run_active_) {
    problem_label_->setText(tr("A run is training. These settings are for the next run; the live run keeps its own."));
  } else {
    colour = dark ? QColor(120, 210, 140) : QColor(30, 123, 52);
    problem_label_->setText(tr("Ready to start."));
  }
  QPalette p;
  if (colour.isValid()) p.setColor(QPalette::WindowText, colour);
  problem_label_->setPalette(p);
  markFaultyField();
}

void ExperimentPanel::markFaultyField() {
  // The first field the engine's message names (most specific names first).
  const std::pair<const char*, QWidget*> fields[] = {
      {"n_kv_heads", kv_heads_box_}, {"n_heads", heads_box_},       {"n_layers", layers_box_},
      {"d_model", d_model_box_},     {"head_dim", head_dim_box_},   {"max_seq_len", max_seq_len_box_},
      {"vocab_size", vocab_box_},    {"tokenizer", vocab_box_},     {"seq_len", seq_len_box_},
      {"train.lr", lr_edit_},        {"batch_size", batch_box_},    {"train.steps", steps_box_},
      {"data.path", text_path_edit_}, {"data.", task_box_},         {"interaction.kha", kha_v_box_},
      {"mea", mea_box_},             {"talking_heads", talking_box_}, {"attention", layout_box_}};
  QWidget* faulty = nullptr;
  for (const auto& [key, widget] : fields)
    if (!faulty && problem_.contains(key)) faulty = widget;
  // "train.seq_len (100) exceeds model.max_seq_len (64)": either field fixes it.
  const bool both_lengths = problem_.contains("train.seq_len") && problem_.contains("max_seq_len");
  for (const auto& [key, widget] : fields) {
    const bool mark = widget == faulty || (both_lengths && (widget == seq_len_box_ || widget == max_seq_len_box_));
    if (widget->property("faulty").toBool() == mark) continue;
    widget->setProperty("faulty", mark);
    // A palette of the field's own Base only, and none once it is fine again: a style sheet
    // here froze the field in the palette of its time, white in the dark theme.
    if (mark) {
      QPalette p = widget->palette();
      p.setColor(QPalette::Base, faultyFieldColor(QApplication::palette()));
      widget->setPalette(p);
    } else {
      widget->setPalette(QPalette());
    }
  }
}

QColor ExperimentPanel::faultyFieldColor(const QPalette& palette) {
  // Light pink on a light theme, dark red on a dark one: the field's text stays readable.
  return palette.color(QPalette::Base).lightness() < 128 ? QColor(110, 36, 36) : QColor(253, 226, 225);
}

void ExperimentPanel::browseTextFile() {
  const QString path = QFileDialog::getOpenFileName(this, tr("Text corpus"), text_path_edit_->text(),
                                                    tr("Text (*.txt);;All files (*)"));
  if (!path.isEmpty()) text_path_edit_->setText(path);
}

}  // namespace headlab
