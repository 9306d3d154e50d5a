#pragma once
// Compare variants: tick the variants of the current experiment to train side by side (same
// seed, same batches), one after another or interleaved step by step, pick the output folder,
// then follow the progress and read the summary table (final losses, spikes, speed, size).
// The panel only asks (startRequested / cancelRequested) and shows; the training runs in the
// app's CompareController.
#include <QString>
#include <QStringList>
#include <QWidget>
#include <vector>

#include "run/compare.h"

class QCheckBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QRadioButton;
class QTableWidget;

namespace headlab {

class ComparePanel : public QWidget {
  Q_OBJECT

 public:
  explicit ComparePanel(QWidget* parent = nullptr);

  // The variants offered, in order: baseline, kha-linear, kha-mlp, mea, talking-heads, base.
  static const QStringList& variantNames();

  QStringList checkedVariants() const;
  void setCheckedVariants(const QStringList& names);
  bool interleaved() const;
  void setInterleaved(bool on);
  // Empty: the app picks a new folder under the runs folder.
  QString outputFolder() const;
  void setOutputFolder(const QString& folder);

  // Asks for a start with the panel's choices (emits startRequested), or shows why not.
  void requestStart();

  // Fed by the app.
  void setRunning(bool running);
  bool isRunning() const { return running_; }
  void setProgress(int variant, int variants, const QString& name, qint64 step, qint64 total);
  void setSummary(const QString& out_dir, const std::vector<run::VariantSummary>& summaries);
  void showError(const QString& message);
  void showNotice(const QString& message);

  // The summary as tab-separated text with a header row (what "Copy" puts on the clipboard).
  QString tableText() const;
  QString resultFolder() const { return result_folder_; }

  QTableWidget* summaryTable() const { return table_; }
  QPushButton* startButton() const { return start_button_; }
  QPushButton* cancelButton() const { return cancel_button_; }
  QPushButton* openFolderButton() const { return open_button_; }
  QPushButton* copyButton() const { return copy_button_; }
  QProgressBar* progressBar() const { return progress_; }
  QLabel* messageLabel() const { return message_; }

 signals:
  void startRequested(const QStringList& variants, bool interleave, const QString& out_dir);
  void cancelRequested();

 private:
  void browseFolder();
  void saveSettings() const;

  std::vector<QCheckBox*> variant_boxes_;
  QRadioButton* sequential_button_ = nullptr;
  QRadioButton* interleaved_button_ = nullptr;
  QLineEdit* folder_edit_ = nullptr;
  QPushButton* start_button_ = nullptr;
  QPushButton* cancel_button_ = nullptr;
  QProgressBar* progress_ = nullptr;
  QLabel* progress_label_ = nullptr;
  QLabel* message_ = nullptr;
  QTableWidget* table_ = nullptr;
  QPushButton* open_button_ = nullptr;
  QPushButton* copy_button_ = nullptr;
  QString result_folder_;
  bool running_ = false;
};

}  // namespace headlab
