#pragma once
// Start, Pause/Resume, Step, Stop and Save checkpoint, plus a progress bar with the step,
// tokens per second and the ETA. The buttons are QActions with keyboard shortcuts so the
// main window's Run menu shows the same actions:
//   Ctrl+Enter / F5 start, Space pause/resume, F10 one step, Shift+F5 stop, Ctrl+S save.
// The widget only emits commands; the main window posts them to the session.
#include <QString>
#include <cstdint>
#include <optional>
#include <QWidget>

#include "session/session.h"

class QAction;
class QLabel;
class QProgressBar;
class QToolButton;

namespace headlab {

class RunControls : public QWidget {
  Q_OBJECT

 public:
  explicit RunControls(QWidget* parent = nullptr);

  // Buttons and progress follow the session's status.
  void setStatus(const session::SessionStatus& status);
  // No session (nothing started or opened yet): only Start can be used.
  void clearStatus();
  // No session here, but a run that another process trains is being followed (File > Follow
  // run directory): the bar shows its progress, the line says who trains it. Start stays
  // usable (a new run stops the following); the others have nothing here to act on.
  void showFollowedRun(int64_t step, std::optional<int64_t> total_steps, bool finished, const QString& name);
  // The experiment form's verdict: Start stays disabled while the config is invalid.
  void setStartAllowed(bool allowed);

  QAction* startAction() const { return start_; }
  QAction* pauseAction() const { return pause_; }  // Pause or Resume, depending on the state
  QAction* stepAction() const { return step_; }
  QAction* stopAction() const { return stop_; }
  QAction* saveAction() const { return save_; }
  QList<QAction*> runActions() const { return {start_, pause_, step_, stop_, save_}; }

  QProgressBar* progressBar() const { return progress_; }
  QString progressText() const;

  // "42s", "3m05s", "1h02m"; "?" when unknown (negative or not finite).
  static QString formatDuration(double seconds);
  // "12.3k tok/s".
  static QString formatRate(double tokens_per_second);

 signals:
  void commandRequested(const headlab::session::Command& command);

 private:
  void updateActions();
  void onPauseTriggered();

  QAction* start_ = nullptr;
  QAction* pause_ = nullptr;
  QAction* step_ = nullptr;
  QAction* stop_ = nullptr;
  QAction* save_ = nullptr;
  QProgressBar* progress_ = nullptr;
  QLabel* detail_ = nullptr;

  bool has_status_ = false;
  bool start_allowed_ = true;
  session::SessionStatus status_;
};

}  // namespace headlab
