#include "compare_panel.h"

#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QDesktopServices>
#include <QFileDialog>
#include <QFormLayout>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QRadioButton>
#include <QSettings>
#include <QSpinBox>
#include <QSplitter>
#include <QUrl>
#include <QVBoxLayout>
#include <map>
#include <set>

#include "common/errors.h"
#include "compare_progress.h"
#include "compare_table.h"
#include "comparison_chart.h"

namespace headlab {
namespace {

QString variantToolTip(const QString& name) {
  if (name == "baseline") return QObject::tr("The experiment without any interaction module (its attention layout kept).");
  if (name == "kha-linear") return QObject::tr("Knocking heads: a shared linear map on every head's q, k and v features.");
  if (name == "kha-mlp") return QObject::tr("Knocking heads with a gated MLP on v (linear on q and k).");
  if (name == "mea") return QObject::tr("Multi-head explicit attention: keys and values mixed across heads, with a group norm.");
  if (name == "talking-heads") return QObject::tr("Talking heads: attention scores and weights mixed across heads.");
  return QObject::tr("The experiment form exactly as it is.");
}

const QString kErrorStyle = QStringLiteral("color: #b2182b");
constexpr int kProgressScale = 1000;  // the bar counts permille: total steps can exceed an int

}  // namespace

const QStringList& ComparePanel::variantNames() {
  static const QStringList names{"baseline", "kha-linear", "kha-mlp", "mea", "talking-heads", "base"};
  return names;
}

std::vector<run::Sweep> ComparePanel::parseSweeps(const QString& text) {
  std::vector<run::Sweep> sweeps;
  std::set<std::string> keys;
  for (const QString& part : text.split(';', Qt::SkipEmptyParts)) {
    const QString trimmed = part.trimmed();
    if (trimmed.isEmpty()) continue;
    run::Sweep s = run::parse_sweep(trimmed.toStdString());
    if (!keys.insert(s.key).second) throw InputError("'" + s.key + "' is swept twice");
    sweeps.push_back(std::move(s));
  }
  return sweeps;
}

ComparePanel::ComparePanel(QWidget* parent) : QWidget(parent) {
  setToolTip(tr("Train several versions of the current experiment on several seeds, with the same batches per "
                "seed, differing only in their interaction modules (and swept settings), and compare their losses."));
  auto* controls = new QWidget(this);
  auto* layout = new QVBoxLayout(controls);
  layout->setContentsMargins(0, 0, 0, 0);
  auto* grid = new QGridLayout;
  for (int i = 0; i < variantNames().size(); ++i) {
    const QString& name = variantNames()[i];
    auto* box = new QCheckBox(name == "base" ? tr("base (the form as is)") : name, this);
    box->setObjectName(name);
    box->setToolTip(variantToolTip(name));
    grid->addWidget(box, i / 3, i % 3);
    variant_boxes_.push_back(box);
  }
  layout->addLayout(grid);
  variants_label_ = new QLabel(this);
  variants_label_->setObjectName("variantModules");
  variants_label_->setWordWrap(true);
  variants_label_->setToolTip(tr("What each ticked variant trains with the current experiment form: its attention layout "
                                 "and interaction modules."));
  layout->addWidget(variants_label_);

  auto* order = new QHBoxLayout;
  sequential_button_ = new QRadioButton(tr("one after another"), this);
  sequential_button_->setToolTip(tr("Train each run to the end before the next one starts."));
  interleaved_button_ = new QRadioButton(tr("interleaved"), this);
  interleaved_button_->setToolTip(tr("Alternate single steps between all runs, so all curves grow together."));
  order->addWidget(sequential_button_);
  order->addWidget(interleaved_button_);
  order->addStretch(1);
  layout->addLayout(order);

  auto* form = new QFormLayout;
  seeds_box_ = new QSpinBox(this);
  seeds_box_->setObjectName("seeds");
  seeds_box_->setRange(1, 20);
  seeds_box_->setToolTip(tr("How many seeds each variant is trained with (train.seed, +1, +2, ...). One run per "
                            "variant cannot tell a real difference from the luck of one initialization: with 3 or "
                            "more the table gives a 95% interval and a verdict. Runs with the same seed see the same "
                            "batches, so the variants are compared seed by seed."));
  sweep_edit_ = new QLineEdit(this);
  sweep_edit_->setObjectName("sweep");
  sweep_edit_->setPlaceholderText(tr("optional, e.g. train.lr=3e-3,1e-2"));
  sweep_edit_->setToolTip(tr("Config values to try, crossed with the variants: key=value1,value2,... with the key "
                             "as in the experiment JSON (train.lr, train.warmup_steps, model.d_model, ...). Several "
                             "sweeps are separated by ';' and crossed with each other. Empty: no sweep."));
  plan_label_ = new QLabel(this);
  plan_label_->setObjectName("comparePlan");
  plan_label_->setWordWrap(true);
  form->addRow(tr("Seeds"), seeds_box_);
  form->addRow(tr("Sweep"), sweep_edit_);
  form->addRow(QString(), plan_label_);
  layout->addLayout(form);

  auto* folder = new QHBoxLayout;
  folder_edit_ = new QLineEdit(this);
  folder_edit_->setPlaceholderText(tr("output folder (default: a new folder under the runs folder)"));
  folder_edit_->setToolTip(tr("Where the runs' directories and summary.json/.csv are written."));
  auto* browse = new QPushButton(tr("..."), this);
  browse->setToolTip(tr("Choose the output folder."));
  folder->addWidget(folder_edit_, 1);
  folder->addWidget(browse);
  layout->addLayout(folder);

  auto* buttons = new QHBoxLayout;
  start_button_ = new QPushButton(tr("Start comparison"), this);
  start_button_->setToolTip(tr("Train the ticked variants of the experiment form (Ctrl+Shift+Return)."));
  start_button_->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_Return));
  cancel_button_ = new QPushButton(tr("Cancel"), this);
  cancel_button_->setToolTip(tr("Stop the comparison after the current step; the partial runs stay on disk."));
  buttons->addWidget(start_button_);
  buttons->addWidget(cancel_button_);
  buttons->addStretch(1);
  layout->addLayout(buttons);

  progress_ = new QProgressBar(this);
  progress_->setRange(0, kProgressScale);
  progress_->setTextVisible(false);  // the label below says it in words
  progress_->setToolTip(tr("Steps done of all runs of the comparison."));
  progress_label_ = new QLabel(this);
  progress_label_->setObjectName("compareProgress");
  message_ = new QLabel(this);
  message_->setWordWrap(true);
  message_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  layout->addWidget(progress_);
  layout->addWidget(progress_label_);
  layout->addWidget(message_);

  table_ = new CompareTable(this);
  layout->addWidget(table_, 1);

  auto* result_buttons = new QHBoxLayout;
  open_button_ = new QPushButton(tr("Open folder"), this);
  open_button_->setToolTip(tr("Open the comparison's folder in the file manager."));
  copy_button_ = new QPushButton(tr("Copy table"), this);
  copy_button_->setToolTip(tr("Copy the summary as tab-separated text at full precision, intervals in columns of "
                              "their own, ready to paste into a spreadsheet."));
  result_buttons->addWidget(open_button_);
  result_buttons->addWidget(copy_button_);
  result_buttons->addStretch(1);
  layout->addLayout(result_buttons);

  chart_ = new ComparisonChart(this);
  auto* split = new QSplitter(Qt::Horizontal, this);
  split->addWidget(controls);
  split->addWidget(chart_);
  split->setStretchFactor(0, 1);
  split->setStretchFactor(1, 1);
  auto* outer = new QVBoxLayout(this);
  outer->setContentsMargins(0, 0, 0, 0);
  outer->addWidget(split);

  QSettings settings;
  setCheckedVariants(settings.value("compare/variants", QStringList{"baseline", "kha-linear"}).toStringList());
  setInterleaved(settings.value("compare/interleave", false).toBool());
  seeds_box_->setValue(settings.value("compare/seeds", 3).toInt());
  sweep_edit_->setText(settings.value("compare/sweep").toString());

  connect(browse, &QPushButton::clicked, this, &ComparePanel::browseFolder);
  connect(start_button_, &QPushButton::clicked, this, &ComparePanel::requestStart);
  connect(cancel_button_, &QPushButton::clicked, this, &ComparePanel::cancelRequested);
  connect(open_button_, &QPushButton::clicked, this,
          [this] { QDesktopServices::openUrl(QUrl::fromLocalFile(result_folder_)); });
  connect(copy_button_, &QPushButton::clicked, this, [this] { QApplication::clipboard()->setText(tableText()); });
  connect(sweep_edit_, &QLineEdit::textChanged, this, &ComparePanel::updatePlan);
  connect(seeds_box_, qOverload<int>(&QSpinBox::valueChanged), this, &ComparePanel::updatePlan);
  for (QCheckBox* box : variant_boxes_) {
    connect(box, &QCheckBox::toggled, this, &ComparePanel::updatePlan);
    connect(box, &QCheckBox::toggled, this, &ComparePanel::updateVariantsLabel);
  }
  updatePlan();
  setRunning(false);
}

QTableWidget* ComparePanel::summaryTable() const { return table_; }

QStringList ComparePanel::checkedVariants() const {
  QStringList out;
  for (QCheckBox* box : variant_boxes_)
    if (box->isChecked()) out << box->objectName();
  return out;
}

void ComparePanel::setCheckedVariants(const QStringList& names) {
  for (QCheckBox* box : variant_boxes_) box->setChecked(names.contains(box->objectName()));
}

bool ComparePanel::interleaved() const { return interleaved_button_->isChecked(); }

void ComparePanel::setInterleaved(bool on) {
  interleaved_button_->setChecked(on);
  sequential_button_->setChecked(!on);
}

int ComparePanel::seeds() const { return seeds_box_->value(); }

void ComparePanel::setSeeds(int seeds) { seeds_box_->setValue(seeds); }

QString ComparePanel::sweepText() const { return sweep_edit_->text().trimmed(); }

void ComparePanel::setSweepText(const QString& text) { sweep_edit_->setText(text); }

QString ComparePanel::outputFolder() const { return folder_edit_->text().trimmed(); }

void ComparePanel::setOutputFolder(const QString& folder) { folder_edit_->setText(folder); }

CompareChoices ComparePanel::choices() const {
  CompareChoices c;
  c.variants = checkedVariants();
  c.interleave = interleaved();
  c.seeds = seeds();
  c.sweeps = sweeps_;
  c.out_dir = outputFolder();
  return c;
}

void ComparePanel::updatePlan() {
  try {
    sweeps_ = parseSweeps(sweep_edit_->text());
    sweep_error_.clear();
  } catch (const std::exception& e) {
    sweeps_.clear();
    sweep_error_ = QString::fromStdString(e.what());
  }
  if (!sweep_error_.isEmpty()) {
    plan_label_->setStyleSheet(kErrorStyle);
    plan_label_->setText(sweep_error_);
  } else {
    long long points = 1;
    for (const auto& s : sweeps_) points *= static_cast<long long>(s.values.size());
    const long long variants = checkedVariants().size();
    auto count = [](long long n, const QString& one, const QString& many) {
      return QStringLiteral("%1 %2").arg(n).arg(n == 1 ? one : many);
    };
    QStringList factors{count(variants, tr("variant"), tr("variants"))};
    if (!sweeps_.empty()) factors << count(points, tr("sweep point"), tr("sweep points"));
    factors << count(seeds(), tr("seed"), tr("seeds"));
    plan_label_->setStyleSheet(QString());
    plan_label_->setText(tr("%1 = %2").arg(factors.join(QStringLiteral(" × ")),
                                           count(variants * points * seeds(), tr("run"), tr("runs"))));
  }
  updateStartEnabled();
}

void ComparePanel::setVariantDescription(const QString& name, const QString& text) {
  descriptions_[name] = text;
  for (QCheckBox* box : variant_boxes_)
    if (box->objectName() == name) box->setToolTip(variantToolTip(name) + '\n' + tr("With this form: %1").arg(text));
  updateVariantsLabel();
}

void ComparePanel::updateVariantsLabel() {
  QStringList lines;
  for (const QString& name : checkedVariants())
    if (descriptions_.contains(name)) lines << tr("%1: %2").arg(name, descriptions_.value(name));
  variants_label_->setText(lines.join('\n'));
  variants_label_->setVisible(!lines.isEmpty());
}

void ComparePanel::updateStartEnabled() { start_button_->setEnabled(!running_ && sweepValid()); }

void ComparePanel::requestStart() {
  if (running_) return;
  if (!sweepValid()) {
    showError(tr("Sweep: %1").arg(sweep_error_));
    return;
  }
  const CompareChoices c = choices();
  if (c.variants.isEmpty()) {
    showError(tr("Tick at least one variant to compare."));
    return;
  }
  saveSettings();
  emit startRequested(c);
}

void ComparePanel::saveSettings() const {
  QSettings settings;
  settings.setValue("compare/variants", checkedVariants());
  settings.setValue("compare/interleave", interleaved());
  settings.setValue("compare/seeds", seeds());
  settings.setValue("compare/sweep", sweepText());
}

void ComparePanel::browseFolder() {
  const QString dir = QFileDialog::getExistingDirectory(this, tr("Output folder for the comparison"), outputFolder());
  if (!dir.isEmpty()) setOutputFolder(dir);
}

void ComparePanel::setRunning(bool running) {
  running_ = running;
  updateStartEnabled();
  cancel_button_->setEnabled(running);
  for (QCheckBox* box : variant_boxes_) box->setEnabled(!running);
  for (QWidget* w : std::initializer_list<QWidget*>{sequential_button_, interleaved_button_, seeds_box_, sweep_edit_,
                                                    folder_edit_})
    w->setEnabled(!running);
  open_button_->setEnabled(!running && !result_folder_.isEmpty());
  copy_button_->setEnabled(!running && table_->rowCount() > 0);
  if (running) {
    message_->clear();
    progress_->setValue(0);
    progress_label_->setText(tr("preparing the runs..."));
    elapsed_.start();
  }
}

void ComparePanel::setProgress(const run::CompareProgress& p) {
  progress_->setValue(int(compareDoneFraction(p) * kProgressScale));
  const double elapsed_s = elapsed_.isValid() ? elapsed_.elapsed() / 1000.0 : 0.0;
  progress_label_->setText(compareProgressText(p, elapsed_s));
}

void ComparePanel::setSummary(const QString& out_dir, const std::vector<run::VariantSummary>& summaries) {
  result_folder_ = out_dir;
  table_->setRows(summaries);
  // Runs of one seed at one sweep point must have seen the same first batch: that pairing is
  // what the differences and verdicts rest on.
  std::map<std::pair<std::string, uint64_t>, uint64_t> first_batch;
  bool same_data = true;
  size_t runs = 0;
  for (const auto& s : summaries)
    for (const auto& run : s.runs) {
      ++runs;
      const auto [it, inserted] = first_batch.emplace(std::make_pair(s.point.dump(), run.seed), run.first_batch_hash);
      same_data = same_data && (inserted || it->second == run.first_batch_hash);
    }
  message_->setStyleSheet(same_data ? QString() : kErrorStyle);
  message_->setText(same_data ? tr("Done: %1 runs; on each seed every variant trained on the same batches. Results in %2")
                                    .arg(runs)
                                    .arg(out_dir)
                              : tr("Warning: runs with the same seed saw different data (first-batch hashes differ), "
                                   "so their differences are not paired."));
  setRunning(false);
}

void ComparePanel::showError(const QString& message) {
  message_->setStyleSheet(kErrorStyle);
  message_->setText(message);
}

void ComparePanel::showNotice(const QString& message) {
  message_->setStyleSheet(QString());
  message_->setText(message);
}

QString ComparePanel::tableText() const { return table_->tableText(); }

}  // namespace headlab
