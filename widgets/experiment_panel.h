#pragma once
// The experiment form: a preset, then the model (layout, sizes, interaction modules), the
// data (a task or a text file) and the training settings. It edits a copy of the preset's
// JSON, so settings the form does not show (warmup, eval cadence, probe...) keep the
// preset's values. Every change is checked with the engine's rules (experiment_check.h) and
// the engine's message is shown under the form, so a bad combination is flagged before Start.
#include <QColor>
#include <QPalette>
#include <QString>
#include <QStringList>
#include <QWidget>
#include <nlohmann/json.hpp>

class QCheckBox;
class QComboBox;
class QFormLayout;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;
class QTimer;

namespace headlab {

class ExperimentPanel : public QWidget {
  Q_OBJECT

 public:
  explicit ExperimentPanel(QWidget* parent = nullptr);

  // Fills the preset picker from train::list_presets() (the presets folder).
  void reloadPresets();
  QStringList presetNames() const;
  // Loads a preset into the form; false (and the form unchanged) for an unknown name.
  bool selectPreset(const QString& name);
  QString presetName() const;
  // What a new run directory is named after: the preset while the form is the preset as
  // loaded, "PRESET-modified" once a field differs from it, "custom" without a preset.
  QString runName() const;
  // Loads any experiment JSON into the form (the preset picker shows "custom").
  void setConfig(const nlohmann::json& experiment);
  // The experiment JSON the form describes: the loaded config with the form's values.
  nlohmann::json config() const;
  // The form's model section becomes `model` (MODEL.md §5, e.g. an opened model's config);
  // data and training keep the form's values.
  void setModelSettings(const nlohmann::json& model);

  // While a run trains, the form edits the next run: its status line says so instead of
  // "Ready to start." (problems are still shown).
  void setRunActive(bool active);
  bool runActive() const { return run_active_; }
  // Whether the model's vocabulary (vocab_size, tokenizer) comes from the data's tokenizer
  // (the default, and what any change of the data picks) or stays as a loaded config had it.
  bool vocabularyFromData() const;

  // The device row is shown only when CUDA can be used; otherwise training runs on the CPU.
  void setCudaAvailable(bool available);
  bool cudaAvailable() const { return cuda_available_; }

  // Valid: the engine's checks passed, the corpus check included (not still running).
  bool isValid() const { return problem_.isEmpty() && !checking_data_; }
  // The engine's message for the current form, empty when it is valid or still being checked.
  QString problem() const { return problem_; }
  // Whether the corpus check (debounced, off the GUI thread) is pending or running.
  bool isCheckingData() const { return checking_data_; }
  // How long the form waits after the last edit before it reads the corpus.
  static constexpr int kDataCheckDelayMs = 300;

  // Form fields, for tests and for the main window's "set steps" (demo).
  QComboBox* layoutBox() const { return layout_box_; }
  QSpinBox* layersBox() const { return layers_box_; }
  QSpinBox* dModelBox() const { return d_model_box_; }
  QSpinBox* headsBox() const { return heads_box_; }
  QSpinBox* kvHeadsBox() const { return kv_heads_box_; }
  QSpinBox* headDimBox() const { return head_dim_box_; }
  QSpinBox* maxSeqLenBox() const { return max_seq_len_box_; }
  QComboBox* vocabularyBox() const { return vocab_box_; }
  QComboBox* khaBox(char which) const;  // 'q', 'k' or 'v'
  QCheckBox* meaBox() const { return mea_box_; }
  QCheckBox* meaGroupNormBox() const { return mea_norm_box_; }
  QCheckBox* talkingHeadsBox() const { return talking_box_; }
  QComboBox* taskBox() const { return task_box_; }
  QLineEdit* textPathEdit() const { return text_path_edit_; }
  QSpinBox* stepsBox() const { return steps_box_; }
  QLineEdit* lrEdit() const { return lr_edit_; }
  QSpinBox* batchBox() const { return batch_box_; }
  QSpinBox* seqLenBox() const { return seq_len_box_; }
  QSpinBox* seedBox() const { return seed_box_; }
  QComboBox* deviceBox() const { return device_box_; }
  QLabel* problemLabel() const { return problem_label_; }
  // The background of a field the engine's message names, for this palette.
  static QColor faultyFieldColor(const QPalette& palette);

 signals:
  void configChanged();
  void validityChanged(bool valid);
  void presetChanged(const QString& name);

 private:
  QWidget* buildModelGroup();
  QWidget* buildDataGroup();
  QWidget* buildTrainGroup();
  void fillForm(const nlohmann::json& experiment);
  void onFormEdited();
  void validate();
  void startDataCheck();
  void showProblem(const QString& problem);
  void markFaultyField();
  void browseTextFile();
  void followDataWithVocabulary();  // a changed data source takes its own tokenizer

  nlohmann::json base_;  // the loaded preset or config; the form's values go on top
  nlohmann::json preset_as_loaded_;  // config() right after selectPreset, to tell an edit
  bool filling_ = false;
  bool cuda_available_ = false;
  bool run_active_ = false;
  QString problem_;
  bool checking_data_ = false;
  QTimer* data_check_timer_ = nullptr;
  nlohmann::json data_check_config_;
  quint64 check_generation_ = 0;  // a corpus check's answer counts only if no edit came since

  QComboBox* preset_box_ = nullptr;
  QLabel* preset_description_ = nullptr;
  QComboBox* layout_box_ = nullptr;
  QSpinBox* layers_box_ = nullptr;
  QSpinBox* d_model_box_ = nullptr;
  QSpinBox* heads_box_ = nullptr;
  QSpinBox* kv_heads_box_ = nullptr;
  QSpinBox* head_dim_box_ = nullptr;
  QSpinBox* max_seq_len_box_ = nullptr;
  QComboBox* vocab_box_ = nullptr;
  QComboBox* kha_q_box_ = nullptr;
  QComboBox* kha_k_box_ = nullptr;
  QComboBox* kha_v_box_ = nullptr;
  QCheckBox* mea_box_ = nullptr;
  QCheckBox* mea_norm_box_ = nullptr;
  QCheckBox* talking_box_ = nullptr;
  QComboBox* task_box_ = nullptr;
  QLineEdit* text_path_edit_ = nullptr;
  QPushButton* browse_button_ = nullptr;
  QSpinBox* steps_box_ = nullptr;
  QLineEdit* lr_edit_ = nullptr;
  QSpinBox* batch_box_ = nullptr;
  QSpinBox* seq_len_box_ = nullptr;
  QSpinBox* seed_box_ = nullptr;
  QComboBox* device_box_ = nullptr;
  QLabel* device_label_ = nullptr;
  QLabel* problem_label_ = nullptr;
};

}  // namespace headlab
