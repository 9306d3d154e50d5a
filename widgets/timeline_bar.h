#pragma once
// The evolution timeline: a slider over the session's probe history (oldest left, newest
// right), play/pause with a speed, and a "Live" switch. While Live is on the views follow the
// newest probe; touching the slider (or playing) turns it off and emits the historical
// snapshot to show instead. The bar holds only shared pointers to the immutable snapshots the
// session already keeps, so scrubbing copies nothing.
#include <QWidget>
#include <cstdint>
#include <memory>
#include <vector>

#include "probe/snapshot.h"

class QAction;
class QCheckBox;
class QComboBox;
class QLabel;
class QSlider;
class QTimer;
class QToolButton;

namespace headlab {

class TimelineBar : public QWidget {
  Q_OBJECT

 public:
  using History = std::vector<std::shared_ptr<const ProbeSnapshot>>;

  explicit TimelineBar(QWidget* parent = nullptr);

  // The history, oldest first (Session::probe_history()). Live: the slider moves to the newest
  // entry. Scrubbing: the shown snapshot stays shown (the session may decimate old entries).
  void setHistory(History history);
  const History& history() const { return history_; }

  bool isLive() const { return live_; }
  // Live on: emits liveChanged(true); the window shows the newest probe again.
  void setLive(bool live);

  // Leaves Live and shows the newest entry at or before `step` (the oldest when `step` is
  // before every entry). False when the history is empty.
  bool showStep(int64_t step);
  // Leaves Live and shows history()[index] (clamped).
  void showIndex(int index);
  int currentIndex() const { return index_; }
  std::shared_ptr<const ProbeSnapshot> current() const;
  // The newest entry at or before `step`, null if none (the same rule as Session::probe_at).
  std::shared_ptr<const ProbeSnapshot> snapshotAt(int64_t step) const;

  void play();
  void pause();
  bool isPlaying() const;
  // Replay speed in history entries per second (remembered in QSettings).
  void setSpeed(double entries_per_second);
  double speed() const { return speed_; }

  QSlider* slider() const { return slider_; }
  QList<QAction*> shortcutActions() const;

 signals:
  // A historical snapshot to show in the attention map, the matrices and the atlas.
  void snapshotChosen(std::shared_ptr<const headlab::ProbeSnapshot> snapshot);
  void liveChanged(bool live);

 private:
  void choose(int index);
  void syncControls();
  void advance();

  History history_;
  int index_ = -1;
  std::shared_ptr<const ProbeSnapshot> shown_;
  bool live_ = true;
  double speed_ = 4.0;

  QCheckBox* live_box_ = nullptr;
  QToolButton* play_button_ = nullptr;
  QSlider* slider_ = nullptr;
  QLabel* step_label_ = nullptr;
  QComboBox* speed_box_ = nullptr;
  QTimer* timer_ = nullptr;
  QAction* play_action_ = nullptr;
  QAction* previous_action_ = nullptr;
  QAction* next_action_ = nullptr;
  QAction* live_action_ = nullptr;
};

}  // namespace headlab
