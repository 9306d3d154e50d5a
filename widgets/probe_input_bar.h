#pragma once
// The probe text above the attention map: edit it and press Enter (or Probe) to re-probe
// the live model on that text; Default goes back to the task's own sample.
#include <QString>
#include <QWidget>

class QLineEdit;
class QPushButton;

namespace headlab {

class ProbeInputBar : public QWidget {
  Q_OBJECT

 public:
  explicit ProbeInputBar(QWidget* parent = nullptr);

  QString text() const;
  void setText(const QString& text);  // does not emit
  QLineEdit* edit() const { return edit_; }

 signals:
  // The text to probe with; empty means the task's default probe input.
  void probeTextSubmitted(const QString& text);

 private:
  QLineEdit* edit_ = nullptr;
  QPushButton* probe_ = nullptr;
  QPushButton* default_ = nullptr;
};

}  // namespace headlab
