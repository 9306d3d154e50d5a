#pragma once
// Sample text from the model of the session (the live training model between two steps, or
// a loaded model): a prompt, temperature, top-k, seed and length. Each generated token is
// drawn on a background coloured by the probability the model gave it (red: surprising,
// green: confident; the legend shows the scale) and hovering it shows that probability.
// The view only draws a plain session::SampleResult; the request goes out as a Command.
#include <QColor>
#include <QString>
#include <QWidget>
#include <cstdint>

#include "session/session.h"

class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;
class QTextBrowser;

namespace headlab {

class SampleView : public QWidget {
  Q_OBJECT

 public:
  explicit SampleView(QWidget* parent = nullptr);

  // The background of a token with probability p in [0, 1] (clamped): red, yellow, green.
  static QColor colorForProbability(double p);

  // Whether a session is there to sample from; without one Generate is off and says why.
  void setAvailable(bool available);
  // Shows a result; ignored when it is the one already shown (the feed repeats snapshots).
  void setResult(const session::SampleResult& result);
  uint64_t shownRequestId() const { return shown_id_; }

  // Emits sampleRequested with the form's options and a fresh request id.
  void requestSample();
  session::Command currentCommand() const;

  // What is drawn: generated tokens in the output, each with its background and tooltip.
  int tokenCount() const;
  QString tokenText(int index) const;
  QColor tokenBackground(int index) const;
  QString tokenToolTip(int index) const;
  QString outputText() const;  // prompt + generated text as plain text

  QLineEdit* promptEdit() const { return prompt_edit_; }
  QDoubleSpinBox* temperatureBox() const { return temperature_box_; }
  QSpinBox* topKBox() const { return top_k_box_; }
  QSpinBox* seedBox() const { return seed_box_; }
  QSpinBox* maxTokensBox() const { return max_tokens_box_; }
  QPushButton* generateButton() const { return generate_button_; }
  QLabel* statusLabel() const { return status_; }

 signals:
  void sampleRequested(const headlab::session::Command& command);

 protected:
  bool eventFilter(QObject* watched, QEvent* event) override;

 private:
  void saveSettings() const;
  QWidget* buildLegend();

  QLineEdit* prompt_edit_ = nullptr;
  QDoubleSpinBox* temperature_box_ = nullptr;
  QSpinBox* top_k_box_ = nullptr;
  QSpinBox* seed_box_ = nullptr;
  QSpinBox* max_tokens_box_ = nullptr;
  QPushButton* generate_button_ = nullptr;
  QTextBrowser* output_ = nullptr;
  QLabel* status_ = nullptr;
  bool available_ = false;
  uint64_t next_id_ = 1;
  uint64_t shown_id_ = 0;
  // Document positions of the generated tokens: [start, end) per token.
  std::vector<std::pair<int, int>> token_spans_;
};

}  // namespace headlab
