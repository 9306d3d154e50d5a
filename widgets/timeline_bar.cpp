#include "timeline_bar.h"

#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QSettings>
#include <QSlider>
#include <QStyle>
#include <QTimer>
#include <QToolButton>
#include <algorithm>

namespace headlab {
namespace {
const char* kSettingSpeed = "timeline/speed";
constexpr double kSpeeds[] = {1, 2, 4, 8, 16};
}  // namespace

TimelineBar::TimelineBar(QWidget* parent) : QWidget(parent) {
  auto* row = new QHBoxLayout(this);
  row->setContentsMargins(4, 2, 4, 2);
  live_box_ = new QCheckBox(tr("Live"), this);
  live_box_->setChecked(true);
  live_box_->setToolTip(tr("Follow the newest probe (Alt+L). Untick it, drag the slider or press play to look at "
                           "earlier moments of the run."));
  play_button_ = new QToolButton(this);
  play_button_->setToolTip(tr("Replay how the heads evolved, from the first probe to the newest (Alt+P)."));
  slider_ = new QSlider(Qt::Horizontal, this);
  slider_->setToolTip(tr("Probe history of this run, oldest at the left. Drag to see the attention maps, the atlas "
                         "and the cross-head matrices as they were at that step (Alt+Left / Alt+Right step "
                         "through it)."));
  slider_->setEnabled(false);
  step_label_ = new QLabel(this);
  step_label_->setMinimumWidth(150);
  step_label_->setToolTip(tr("The training step of the probe shown, and its place in the history."));
  speed_box_ = new QComboBox(this);
  speed_box_->setToolTip(tr("Replay speed, in probes per second."));
  for (double s : kSpeeds) speed_box_->addItem(tr("%1 /s").arg(s), s);
  row->addWidget(live_box_);
  row->addWidget(play_button_);
  row->addWidget(slider_, 1);
  row->addWidget(step_label_);
  row->addWidget(speed_box_);
  setToolTip(tr("The evolution timeline: scrub or replay the probes taken during training."));

  timer_ = new QTimer(this);
  connect(timer_, &QTimer::timeout, this, &TimelineBar::advance);
  connect(live_box_, &QCheckBox::toggled, this, &TimelineBar::setLive);
  connect(slider_, &QSlider::valueChanged, this, [this](int value) { choose(value); });
  connect(play_button_, &QToolButton::clicked, this, [this] { isPlaying() ? pause() : play(); });
  connect(speed_box_, qOverload<int>(&QComboBox::currentIndexChanged), this,
          [this] { setSpeed(speed_box_->currentData().toDouble()); });

  auto action = [this](const QString& text, const QKeySequence& key, auto slot) {
    auto* a = new QAction(text, this);
    a->setShortcut(key);
    connect(a, &QAction::triggered, this, slot);
    addAction(a);
    return a;
  };
  play_action_ = action(tr("Play/pause the replay"), QKeySequence(Qt::ALT | Qt::Key_P), [this] { isPlaying() ? pause() : play(); });
  previous_action_ = action(tr("Previous probe"), QKeySequence(Qt::ALT | Qt::Key_Left), [this] {
    if (!history_.empty()) showIndex(index_ - 1);
  });
  next_action_ = action(tr("Next probe"), QKeySequence(Qt::ALT | Qt::Key_Right), [this] {
    if (!history_.empty()) showIndex(index_ + 1);
  });
  live_action_ = action(tr("Back to live"), QKeySequence(Qt::ALT | Qt::Key_L), [this] { setLive(!live_); });

  setSpeed(QSettings().value(kSettingSpeed, speed_).toDouble());
  syncControls();
}

QList<QAction*> TimelineBar::shortcutActions() const { return {play_action_, previous_action_, next_action_, live_action_}; }

std::shared_ptr<const ProbeSnapshot> TimelineBar::current() const { return shown_; }

std::shared_ptr<const ProbeSnapshot> TimelineBar::snapshotAt(int64_t step) const {
  std::shared_ptr<const ProbeSnapshot> best;
  for (const auto& entry : history_)
    if (entry && entry->step <= step) best = entry;
  return best;
}

void TimelineBar::setHistory(History history) {
  history_ = std::move(history);
  history_.erase(std::remove(history_.begin(), history_.end(), nullptr), history_.end());
  if (history_.empty()) {
    index_ = -1;
    if (live_) shown_.reset();
  } else if (live_) {
    index_ = int(history_.size()) - 1;
    shown_ = history_.back();
  } else {
    // Keep showing the same snapshot; its slider position is where it is now, or, once the
    // session has decimated it away, where its step falls.
    const auto it = std::find(history_.begin(), history_.end(), shown_);
    if (it != history_.end()) {
      index_ = int(it - history_.begin());
    } else {
      index_ = 0;
      for (int i = 0; i < int(history_.size()); ++i)
        if (shown_ && history_[size_t(i)]->step <= shown_->step) index_ = i;
    }
  }
  syncControls();
}

void TimelineBar::setLive(bool live) {
  if (live) timer_->stop();
  const bool changed = live != live_;
  live_ = live;
  if (live_ && !history_.empty()) {
    index_ = int(history_.size()) - 1;
    shown_ = history_.back();
  }
  syncControls();
  if (!changed) return;
  emit liveChanged(live_);
  if (!live_ && shown_) emit snapshotChosen(shown_);  // freeze on what is on screen now
}

bool TimelineBar::showStep(int64_t step) {
  if (history_.empty()) return false;
  int index = 0;
  for (int i = 0; i < int(history_.size()); ++i)
    if (history_[size_t(i)]->step <= step) index = i;
  choose(index);
  return true;
}

void TimelineBar::showIndex(int index) {
  if (history_.empty()) return;
  choose(index);
}

void TimelineBar::choose(int index) {
  if (history_.empty()) return;
  index = std::clamp(index, 0, int(history_.size()) - 1);
  const bool was_live = live_;
  const bool same = !was_live && index == index_ && shown_ == history_[size_t(index)];
  index_ = index;
  shown_ = history_[size_t(index)];
  live_ = false;
  syncControls();
  if (was_live) emit liveChanged(false);
  if (!same) emit snapshotChosen(shown_);
}

void TimelineBar::play() {
  if (history_.empty()) return;
  // From the start when there is nothing ahead to replay.
  if (live_ || index_ >= int(history_.size()) - 1) choose(0);
  timer_->start(int(1000.0 / speed_));
  syncControls();
}

void TimelineBar::pause() {
  timer_->stop();
  syncControls();
}

bool TimelineBar::isPlaying() const { return timer_->isActive(); }

void TimelineBar::advance() {
  if (index_ + 1 >= int(history_.size())) return pause();
  choose(index_ + 1);
}

void TimelineBar::setSpeed(double entries_per_second) {
  speed_ = std::clamp(entries_per_second, 0.25, 60.0);
  QSettings().setValue(kSettingSpeed, speed_);
  if (timer_->isActive()) timer_->setInterval(int(1000.0 / speed_));
  const QSignalBlocker block(speed_box_);
  int nearest = 0;
  for (int i = 0; i < speed_box_->count(); ++i)
    if (std::abs(speed_box_->itemData(i).toDouble() - speed_) < std::abs(speed_box_->itemData(nearest).toDouble() - speed_))
      nearest = i;
  speed_box_->setCurrentIndex(nearest);
}

void TimelineBar::syncControls() {
  const int n = int(history_.size());
  {
    const QSignalBlocker b1(slider_), b2(live_box_);
    slider_->setRange(0, std::max(0, n - 1));
    slider_->setValue(std::max(0, index_));
    slider_->setEnabled(n > 1);
    live_box_->setChecked(live_);
  }
  play_button_->setEnabled(n > 1);
  play_button_->setIcon(style()->standardIcon(isPlaying() ? QStyle::SP_MediaPause : QStyle::SP_MediaPlay));
  if (n == 0 || !shown_)
    step_label_->setText(tr("no probes yet"));
  else if (live_)
    step_label_->setText(tr("live: step %1  (%2 probes)").arg(shown_->step).arg(n));
  else
    step_label_->setText(tr("step %1  (%2 of %3)").arg(shown_->step).arg(index_ + 1).arg(n));
}

}  // namespace headlab
