#include "compare_panel.h"

#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QDesktopServices>
#include <QFileDialog>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QRadioButton>
#include <QSettings>
#include <QTableWidget>
#include <QUrl>
#include <QVBoxLayout>
#include <cmath>

namespace headlab {
namespace {

QString variantToolTip(const QString& name) {
  if (name == "baseline") return QObject::tr("Plain multi-head attention: the experiment without any interaction module.");
  if (name == "kha-linear") return QObject::tr("Knocking heads: a shared linear map on every head's q, k and v features.");
  if (name == "kha-mlp") return QObject::tr("Knocking heads with a gated MLP on v (linear on q and k).");
  if (name == "mea") return QObject::tr("Multi-head explicit attention: keys and values mixed across heads, with a group norm.");
  if (name == "talking-heads") return QObject::tr("Talking heads: attention scores and weights mixed across heads.");
  return QObject::tr("The experiment form exactly as it is, modules included.");
}

// A table cell that shows a rounded number but sorts and copies by the exact value.
QTableWidgetItem* numberItem(double value, int decimals) {
  auto* item = new QTableWidgetItem(std::isnan(value) ? QStringLiteral("-") : QString::number(value, 'f', decimals));
  item->setData(Qt::UserRole, value);
  item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
  return item;
}

}  // namespace

const QStringList& ComparePanel::variantNames() {
  static const QStringList names{"baseline", "kha-linear", "kha-mlp", "mea", "talking-heads", "base"};
  return names;
}

ComparePanel::ComparePanel(QWidget* parent) : QWidget(parent) {
  setToolTip(tr("Train several versions of the current experiment with the same seed and the same batches, "
                "differing only in their interaction modules, and compare their losses."));
  auto* layout = new QVBoxLayout(this);
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

  auto* order = new QHBoxLayout;
  sequential_button_ = new QRadioButton(tr("one after another"), this);
  sequential_button_->setToolTip(tr("Train each variant to the end before the next one starts."));
  interleaved_button_ = new QRadioButton(tr("interleaved"), this);
  interleaved_button_->setToolTip(tr("Alternate single steps between the variants, so all curves grow together."));
  order->addWidget(sequential_button_);
  order->addWidget(interleaved_button_);
  order->addStretch(1);
  layout->addLayout(order);

  auto* folder = new QHBoxLayout;
  folder_edit_ = new QLineEdit(this);
  folder_edit_->setPlaceholderText(tr("output folder (default: a new folder under the runs folder)"));
  folder_edit_->setToolTip(tr("Where the variants' run directories and summary.json/.csv are written."));
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
  progress_->setToolTip(tr("Steps of the variant being trained."));
  progress_label_ = new QLabel(this);
  message_ = new QLabel(this);
  message_->setWordWrap(true);
  message_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  layout->addWidget(progress_);
  layout->addWidget(progress_label_);
  layout->addWidget(message_);

  table_ = new QTableWidget(0, 6, this);
  table_->setHorizontalHeaderLabels(
      {tr("variant"), tr("train loss"), tr("val loss"), tr("spikes"), tr("tokens/s"), tr("parameters")});
  table_->setToolTip(tr("Final training and validation loss of each variant (lower is better), loss spikes, "
                        "training speed and model size. Their curves are overlaid on the loss chart."));
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->verticalHeader()->setVisible(false);
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  layout->addWidget(table_, 1);

  auto* result_buttons = new QHBoxLayout;
  open_button_ = new QPushButton(tr("Open folder"), this);
  open_button_->setToolTip(tr("Open the comparison's folder in the file manager."));
  copy_button_ = new QPushButton(tr("Copy table"), this);
  copy_button_->setToolTip(tr("Copy the summary as tab-separated text, ready to paste into a spreadsheet."));
  result_buttons->addWidget(open_button_);
  result_buttons->addWidget(copy_button_);
  result_buttons->addStretch(1);
  layout->addLayout(result_buttons);

  QSettings settings;
  setCheckedVariants(settings.value("compare/variants", QStringList{"baseline", "kha-linear"}).toStringList());
  setInterleaved(settings.value("compare/interleave", false).toBool());

  connect(browse, &QPushButton::clicked, this, &ComparePanel::browseFolder);
  connect(start_button_, &QPushButton::clicked, this, &ComparePanel::requestStart);
  connect(cancel_button_, &QPushButton::clicked, this, &ComparePanel::cancelRequested);
  connect(open_button_, &QPushButton::clicked, this,
          [this] { QDesktopServices::openUrl(QUrl::fromLocalFile(result_folder_)); });
  connect(copy_button_, &QPushButton::clicked, this, [this] { QApplication::clipboard()->setText(tableText()); });
  setRunning(false);
}

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

QString ComparePanel::outputFolder() const { return folder_edit_->text().trimmed(); }

void ComparePanel::setOutputFolder(const QString& folder) { folder_edit_->setText(folder); }

void ComparePanel::requestStart() {
  if (running_) return;
  const QStringList variants = checkedVariants();
  if (variants.isEmpty()) {
    showError(tr("Tick at least one variant to compare."));
    return;
  }
  saveSettings();
  emit startRequested(variants, interleaved(), outputFolder());
}

void ComparePanel::saveSettings() const {
  QSettings settings;
  settings.setValue("compare/variants", checkedVariants());
  settings.setValue("compare/interleave", interleaved());
}

void ComparePanel::browseFolder() {
  const QString dir = QFileDialog::getExistingDirectory(this, tr("Output folder for the comparison"), outputFolder());
  if (!dir.isEmpty()) setOutputFolder(dir);
}

void ComparePanel::setRunning(bool running) {
  running_ = running;
  start_button_->setEnabled(!running);
  cancel_button_->setEnabled(running);
  for (QCheckBox* box : variant_boxes_) box->setEnabled(!running);
  sequential_button_->setEnabled(!running);
  interleaved_button_->setEnabled(!running);
  folder_edit_->setEnabled(!running);
  open_button_->setEnabled(!running && !result_folder_.isEmpty());
  copy_button_->setEnabled(!running && table_->rowCount() > 0);
  if (running) {
    message_->clear();
    progress_->setValue(0);
  }
}

void ComparePanel::setProgress(int variant, int variants, const QString& name, qint64 step, qint64 total) {
  progress_->setRange(0, int(std::max<qint64>(1, total)));
  progress_->setValue(int(step));
  progress_label_->setText(tr("variant %1/%2 (%3): step %4/%5").arg(variant + 1).arg(variants).arg(name).arg(step).arg(total));
}

void ComparePanel::setSummary(const QString& out_dir, const std::vector<run::VariantSummary>& summaries) {
  result_folder_ = out_dir;
  table_->setRowCount(int(summaries.size()));
  bool same_data = true;
  for (int r = 0; r < int(summaries.size()); ++r) {
    const auto& s = summaries[size_t(r)];
    auto* name = new QTableWidgetItem(QString::fromStdString(s.name));
    if (!s.runs.empty()) name->setToolTip(QString::fromStdString(s.runs.front().run_dir));
    table_->setItem(r, 0, name);
    table_->setItem(r, 1, numberItem(s.runs.empty() ? std::nan("") : s.runs.front().final_train_loss, 4));
    table_->setItem(r, 2, numberItem(s.final_val_loss.mean, 4));
    table_->setItem(r, 3, numberItem(double(s.spikes), 0));
    table_->setItem(r, 4, numberItem(s.tokens_per_second, 0));
    table_->setItem(r, 5, numberItem(double(s.parameters), 0));
    for (size_t k = 0; k < s.runs.size() && k < summaries.front().runs.size(); ++k)
      same_data = same_data && s.runs[k].first_batch_hash == summaries.front().runs[k].first_batch_hash;
  }
  message_->setStyleSheet(same_data ? QString() : QStringLiteral("color: #b2182b"));
  message_->setText(same_data ? tr("Done: every variant trained on the same batches. Results in %1").arg(out_dir)
                              : tr("Warning: the variants saw different data (first-batch hashes differ)."));
  setRunning(false);
}

void ComparePanel::showError(const QString& message) {
  message_->setStyleSheet(QStringLiteral("color: #b2182b"));
  message_->setText(message);
}

void ComparePanel::showNotice(const QString& message) {
  message_->setStyleSheet(QString());
  message_->setText(message);
}

QString ComparePanel::tableText() const {
  QStringList lines;
  QStringList header;
  for (int c = 0; c < table_->columnCount(); ++c) header << table_->horizontalHeaderItem(c)->text();
  lines << header.join('\t');
  for (int r = 0; r < table_->rowCount(); ++r) {
    QStringList cells;
    for (int c = 0; c < table_->columnCount(); ++c) {
      const QTableWidgetItem* item = table_->item(r, c);
      if (!item) {
        cells << QString();
      } else if (c == 0) {
        cells << item->text();
      } else {
        const double v = item->data(Qt::UserRole).toDouble();
        cells << (std::isnan(v) ? QString() : QString::number(v, 'g', 10));  // full precision for a spreadsheet
      }
    }
    lines << cells.join('\t');
  }
  return lines.join('\n') + '\n';
}

}  // namespace headlab
