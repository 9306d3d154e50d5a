#pragma once
// Compare variants: tick the variants of the current experiment to train side by side, choose
// how many seeds each gets and, optionally, config values to sweep, one run after another or
// interleaved step by step, pick the output folder, then follow one overall progress bar, the
// comparison's own chart (mean curve and confidence band per variant) and the summary table
// (intervals and verdicts). The panel only asks (startRequested / cancelRequested) and shows;
// the training runs in the app's CompareController.
#include <QElapsedTimer>
#include <QMap>
#include <QMetaType>
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
class QSpinBox;
class QTableWidget;

namespace headlab {

class CompareTable;
class ComparisonChart;

// What the panel asks to run.
struct CompareChoices {
  QStringList variants;  // in the panel's order
  bool interleave = false;
  int seeds = 1;
  std::vector<run::Sweep> sweeps;
  QString out_dir;  // empty: the app picks a new folder under the runs folder
};

class ComparePanel : public QWidget {
  Q_OBJECT

 public:
  explicit ComparePanel(QWidget* parent = nullptr);

  // The variants offered, in order: baseline, kha-linear, kha-mlp, mea, talking-heads, base.
  static const QStringList& variantNames();
  // Several sweeps are separated by ';': "train.lr=3e-3,1e-2; train.warmup_steps=0,50".
  // Throws InputError (run::parse_sweep's message) when one is malformed or a key repeats.
  static std::vector<run::Sweep> parseSweeps(const QString& text);

  QStringList checkedVariants() const;
  void setCheckedVariants(const QStringList& names);
  bool interleaved() const;
  void setInterleaved(bool on);
  int seeds() const;
  void setSeeds(int seeds);
  QString sweepText() const;
  void setSweepText(const QString& text);
  bool sweepValid() const { return sweep_error_.isEmpty(); }
  QString sweepError() const { return sweep_error_; }
  QString outputFolder() const;
  void setOutputFolder(const QString& folder);
  // The panel's current choices (sweeps empty while the sweep text is invalid).
  CompareChoices choices() const;

  // Asks for a start with the panel's choices (emits startRequested), or shows why not.
  void requestStart();

  // What a variant trains with the current experiment form (its layout and real modules),
  // computed by the app with the engine's variant table: on the variant's tooltip, and for the
  // ticked variants under the plan line.
  void setVariantDescription(const QString& name, const QString& text);
  QString variantDescription(const QString& name) const { return descriptions_.value(name); }
  QLabel* variantsLabel() const { return variants_label_; }

  // Fed by the app.
  void setRunning(bool running);
  bool isRunning() const { return running_; }
  void setProgress(const run::CompareProgress& progress);
  void setSummary(const QString& out_dir, const std::vector<run::VariantSummary>& summaries);
  void showError(const QString& message);
  void showNotice(const QString& message);

  // The summary as tab-separated text with a header row (what "Copy" puts on the clipboard).
  QString tableText() const;
  QString resultFolder() const { return result_folder_; }

  QTableWidget* summaryTable() const;
  CompareTable* compareTable() const { return table_; }
  ComparisonChart* comparisonChart() const { return chart_; }
  QPushButton* startButton() const { return start_button_; }
  QPushButton* cancelButton() const { return cancel_button_; }
  QPushButton* openFolderButton() const { return open_button_; }
  QPushButton* copyButton() const { return copy_button_; }
  QProgressBar* progressBar() const { return progress_; }
  QLabel* progressLabel() const { return progress_label_; }
  QLabel* messageLabel() const { return message_; }
  QSpinBox* seedsBox() const { return seeds_box_; }
  QLineEdit* sweepEdit() const { return sweep_edit_; }
  QLabel* planLabel() const { return plan_label_; }

 signals:
  void startRequested(const headlab::CompareChoices& choices);
  void cancelRequested();

 private:
  void browseFolder();
  void saveSettings() const;
  void updatePlan();  // validates the sweep, says how many runs the choices make
  void updateStartEnabled();

  std::vector<QCheckBox*> variant_boxes_;
  QRadioButton* sequential_button_ = nullptr;
  QRadioButton* interleaved_button_ = nullptr;
  QSpinBox* seeds_box_ = nullptr;
  QLineEdit* sweep_edit_ = nullptr;
  QLabel* plan_label_ = nullptr;
  QLabel* variants_label_ = nullptr;
  QMap<QString, QString> descriptions_;
  void updateVariantsLabel();
  QLineEdit* folder_edit_ = nullptr;
  QPushButton* start_button_ = nullptr;
  QPushButton* cancel_button_ = nullptr;
  QProgressBar* progress_ = nullptr;
  QLabel* progress_label_ = nullptr;
  QLabel* message_ = nullptr;
  CompareTable* table_ = nullptr;
  ComparisonChart* chart_ = nullptr;
  QPushButton* open_button_ = nullptr;
  QPushButton* copy_button_ = nullptr;
  QString result_folder_;
  QString sweep_error_;
  std::vector<run::Sweep> sweeps_;  // parsed from the sweep text while it is valid
  QElapsedTimer elapsed_;           // since the comparison started: the ETA's basis
  bool running_ = false;
};

}  // namespace headlab

Q_DECLARE_METATYPE(headlab::CompareChoices)
