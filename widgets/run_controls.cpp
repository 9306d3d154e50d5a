#include "run_controls.h"

#include <QAction>
#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QToolButton>
#include <QVBoxLayout>
#include <cmath>

namespace headlab {

using session::Command;
using session::RunState;

namespace {

QToolButton* buttonFor(QAction* action, QWidget* parent) {
  auto* button = new QToolButton(parent);
  button->setDefaultAction(action);
  button->setToolButtonStyle(Qt::ToolButtonTextOnly);
  return button;
}

}  // namespace

RunControls::RunControls(QWidget* parent) : QWidget(parent) {
  auto make = [this](const QString& text, QList<QKeySequence> keys, const QString& tip) {
    auto* action = new QAction(text, this);
    action->setShortcuts(keys);
    action->setShortcutContext(Qt::WindowShortcut);
    action->setToolTip(QStringLiteral("%1 (%2)").arg(tip, keys.front().toString(QKeySequence::NativeText)));
    addAction(action);  // the shortcut works wherever the focus is in this window
    return action;
  };
  start_ = make(tr("Start"), {QKeySequence(Qt::CTRL | Qt::Key_Return), QKeySequence(Qt::CTRL | Qt::Key_Enter),
                              QKeySequence(Qt::Key_F5)},
                tr("Start training the experiment in the form"));
  pause_ = make(tr("Pause"), {QKeySequence(Qt::Key_Space)}, tr("Pause or resume training between two steps"));
  step_ = make(tr("Step"), {QKeySequence(Qt::Key_F10)}, tr("Run exactly one optimizer step, then pause"));
  stop_ = make(tr("Stop"), {QKeySequence(Qt::SHIFT | Qt::Key_F5)},
               tr("Stop training; the model stays loaded for inspection"));
  save_ = make(tr("Save checkpoint"), {QKeySequence::Save}, tr("Write a checkpoint of the model and optimizer now"));

  connect(start_, &QAction::triggered, this, [this] { emit commandRequested(Command::start()); });
  connect(pause_, &QAction::triggered, this, &RunControls::onPauseTriggered);
  connect(step_, &QAction::triggered, this, [this] { emit commandRequested(Command::step()); });
  connect(stop_, &QAction::triggered, this, [this] { emit commandRequested(Command::stop()); });
  connect(save_, &QAction::triggered, this, [this] { emit commandRequested(Command::save_checkpoint()); });

  auto* layout = new QVBoxLayout(this);
  auto* buttons = new QHBoxLayout;
  for (QAction* action : runActions()) buttons->addWidget(buttonFor(action, this));
  buttons->addStretch(1);
  layout->addLayout(buttons);
  progress_ = new QProgressBar(this);
  progress_->setToolTip(tr("Training progress: optimizer steps done out of the total."));
  layout->addWidget(progress_);
  detail_ = new QLabel(this);
  detail_->setToolTip(tr("Throughput in tokens per second and the estimated time left."));
  layout->addWidget(detail_);
  clearStatus();
}

void RunControls::setStatus(const session::SessionStatus& status) {
  status_ = status;
  has_status_ = true;
  const int64_t total = std::max<int64_t>(1, status.total_steps);
  // QProgressBar holds ints: scale runs beyond 2^31 steps down rather than overflow.
  const int64_t scale = total > 1'000'000'000 ? total / 1'000'000 : 1;
  progress_->setRange(0, int(total / scale));
  progress_->setValue(int(std::min(status.step, total) / scale));
  progress_->setFormat(status.training ? tr("step %1 / %2").arg(status.step).arg(status.total_steps)
                                       : tr("inspection"));
  detail_->setText(progressText());
  updateActions();
}

void RunControls::clearStatus() {
  has_status_ = false;
  status_ = {};
  progress_->setRange(0, 1);
  progress_->setValue(0);
  progress_->setFormat(tr("not started"));
  detail_->setText(tr("Pick a preset and press Start."));
  updateActions();
}

void RunControls::showFollowedRun(int64_t step, std::optional<int64_t> total_steps, bool finished, const QString& name) {
  has_status_ = false;
  status_ = {};
  const int64_t total = std::max<int64_t>(1, total_steps.value_or(std::max<int64_t>(step, 1)));
  const int64_t scale = total > 1'000'000'000 ? total / 1'000'000 : 1;
  progress_->setRange(0, int(total / scale));
  progress_->setValue(int(std::min(step, total) / scale));
  progress_->setFormat(total_steps ? tr("step %1 / %2").arg(step).arg(*total_steps) : tr("step %1").arg(step));
  detail_->setText(finished ? tr("Followed run %1: finished (trained by another process).").arg(name)
                            : tr("Followed run %1: trained by another process; Start begins a run here and stops "
                                 "following.")
                                  .arg(name));
  updateActions();
}

void RunControls::setStartAllowed(bool allowed) {
  start_allowed_ = allowed;
  updateActions();
}

QString RunControls::progressText() const {
  if (!has_status_) return detail_->text();
  const auto& s = status_;
  if (!s.training) return tr("Inspection: probes only (no training).");
  QString text = tr("step %1 / %2").arg(s.step).arg(s.total_steps);
  if (s.tokens_per_second > 0) text += QStringLiteral("  ·  ") + formatRate(s.tokens_per_second);
  if (s.state == RunState::Running) text += QStringLiteral("  ·  ETA ") + formatDuration(s.eta_seconds);
  if (s.lr > 0) text += QStringLiteral("  ·  lr %1").arg(s.lr, 0, 'g', 3);
  QString state;
  switch (s.state) {
    case RunState::Idle: state = tr("ready"); break;
    case RunState::Running: break;
    case RunState::Paused: state = tr("paused"); break;
    case RunState::Finished: state = tr("finished"); break;
    case RunState::Stopped: state = tr("stopped"); break;
    case RunState::Error: state = tr("error"); break;
  }
  if (!state.isEmpty()) text += QStringLiteral("  ·  ") + state;
  // The session keeps its last message; it explains the state only when the run failed.
  if (!s.message.empty() && s.state == RunState::Error)
    text += QStringLiteral(": ") + QString::fromStdString(s.message);
  return text;
}

QString RunControls::formatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return QStringLiteral("?");
  const qint64 s = qint64(seconds + 0.5);
  if (s >= 3600) return QStringLiteral("%1h%2m").arg(s / 3600).arg((s / 60) % 60, 2, 10, QChar('0'));
  if (s >= 60) return QStringLiteral("%1m%2s").arg(s / 60).arg(s % 60, 2, 10, QChar('0'));
  return QStringLiteral("%1s").arg(s);
}

QString RunControls::formatRate(double tokens_per_second) {
  if (tokens_per_second >= 1e6) return QStringLiteral("%1M tok/s").arg(tokens_per_second / 1e6, 0, 'f', 2);
  if (tokens_per_second >= 1e3) return QStringLiteral("%1k tok/s").arg(tokens_per_second / 1e3, 0, 'f', 1);
  return QStringLiteral("%1 tok/s").arg(tokens_per_second, 0, 'f', 0);
}

void RunControls::updateActions() {
  const RunState state = status_.state;
  const bool training = has_status_ && status_.training;
  const bool live = training && (state == RunState::Running || state == RunState::Paused);
  const bool startable = !has_status_ || !status_.training || state == RunState::Idle ||
                         state == RunState::Finished || state == RunState::Stopped || state == RunState::Error;
  start_->setEnabled(start_allowed_ && startable);
  pause_->setEnabled(live);
  pause_->setText(state == RunState::Paused && training ? tr("Resume") : tr("Pause"));
  step_->setEnabled(training && (state == RunState::Paused || state == RunState::Idle));
  stop_->setEnabled(live);
  save_->setEnabled(training && state != RunState::Error);
}

void RunControls::onPauseTriggered() {
  if (!has_status_) return;
  if (status_.state == RunState::Running) emit commandRequested(Command::pause());
  else if (status_.state == RunState::Paused) emit commandRequested(Command::resume());
}

}  // namespace headlab
