#include "probe_input_bar.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>

namespace headlab {

ProbeInputBar::ProbeInputBar(QWidget* parent) : QWidget(parent) {
  auto* row = new QHBoxLayout(this);
  row->setContentsMargins(4, 2, 4, 2);
  edit_ = new QLineEdit(this);
  edit_->setPlaceholderText(tr("probe text (empty: a sample of the task)"));
  edit_->setToolTip(tr("The text the model reads for the attention maps. It must use the model's "
                       "characters; press Enter to probe the live model on it."));
  probe_ = new QPushButton(tr("Probe"), this);
  probe_->setToolTip(tr("Run the probe now on this text."));
  default_ = new QPushButton(tr("Default"), this);
  default_->setToolTip(tr("Go back to the task's own sample as probe input."));
  row->addWidget(new QLabel(tr("Probe"), this));
  row->addWidget(edit_, 1);
  row->addWidget(probe_);
  row->addWidget(default_);
  connect(edit_, &QLineEdit::returnPressed, this, [this] { emit probeTextSubmitted(text()); });
  connect(probe_, &QPushButton::clicked, this, [this] { emit probeTextSubmitted(text()); });
  connect(default_, &QPushButton::clicked, this, [this] {
    edit_->clear();
    emit probeTextSubmitted(QString());
  });
}

QString ProbeInputBar::text() const { return edit_->text(); }

void ProbeInputBar::setText(const QString& text) {
  const QSignalBlocker block(edit_);
  edit_->setText(text);
}

}  // namespace headlab
