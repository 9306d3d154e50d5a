#pragma once
// The main window: the loss chart in the middle, the panels in docks around it, and the
// menus that wire them to the live session. Each panel is its own widget (widgets/); the
// session plumbing is SessionFeed, the Export menu ExportController. File handling (open,
// recent, drag and drop) lives in main_window_files.cpp.
#include <QMainWindow>
#include <QString>
#include <QStringList>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>

#include "session/session.h"

class QAction;
class QDockWidget;
class QLabel;
class QProgressBar;

namespace headlab {
class AttentionMapView;
class ComparePanel;
struct CompareChoices;
class ExperimentPanel;
class HeadAtlasView;
class HeadsView;
class LearnPanel;
class LossChart;
class MatrixView;
class ModulePanel;
class ProbeInputBar;
class RunControls;
class TimelineBar;
class SampleView;
}  // namespace headlab

namespace headlab::gui {

class CompareController;
class CompareCurveFeed;
class ExportController;
class RecentFiles;
class RunFollower;
class ReplayExportController;
class SessionFeed;
class SessionLauncher;

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  explicit MainWindow(QWidget* parent = nullptr);
  ~MainWindow() override;

  // Starts a training session for `experiment` in a new run directory under runsFolder().
  bool startExperiment(const nlohmann::json& experiment, QString* error = nullptr);
  // The default preset (induction-kha), optionally with fewer steps, started at once.
  bool startDemo(int steps = 0, QString* error = nullptr);
  // A run directory, a model directory, a checkpoint, a .safetensors file or an experiment
  // JSON (loaded into the form). Run directories come back with their curves and events.
  bool openPath(const QString& path, QString* error = nullptr);
  // openPath for a path given on the command line: a failure, now or once the model has
  // been read, is shown in a dialog too, not only returned.
  bool openFromCommandLine(const QString& path, QString* error = nullptr);
  // Loads the model on the launcher's thread; `remember` is what File > Recent keeps (the model
  // itself when empty; its run directory when the run was opened).
  bool openModel(const QString& path, QString* error = nullptr, const QString& remember = {});
  bool openRunDirectory(const QString& path, QString* error = nullptr);
  // Continues a run directory from its newest checkpoint: its curves come back and the run
  // waits (Idle) for Start. Refused while another run is running or paused.
  bool resumeRun(const QString& path, QString* error = nullptr);
  // Start on a resumed run whose Steps the form raised: the same run directory continues
  // from its checkpoint to the new step count (optimizer state and all). False, with the
  // reason, when there is no resumed run or Steps is not above its step.
  bool trainResumedRunFurther(QString* error = nullptr);
  // File > Follow run directory (main_window_follow.cpp): the loss chart and events of a run
  // that another process writes, kept up to date as its logs grow, with a status line saying
  // when it last changed and whether it finished. Refused while this window trains a run.
  bool followRunDirectory(const QString& path, QString* error = nullptr);
  void stopFollowing();
  RunFollower* follower() const { return follower_; }
  // Adds a finished run's loss curve to the chart for comparison.
  bool addOverlayRun(const QString& path, QString* error = nullptr);
  // A finished comparison folder (summary.json): its table and curves in the Compare dock.
  bool openComparison(const QString& folder, QString* error = nullptr);
  // Starts training from the model being inspected: the Experiment form's config with
  // "init_from" in place of "model" (main_window_files.cpp). False when no model is open.
  bool trainFromInspectedModel(QString* error = nullptr);
  // The model directory or checkpoint opened for inspection; empty otherwise.
  QString inspectedModel() const { return inspected_model_; }
  QAction* trainFromModelAction() const { return train_from_model_; }

  QString runsFolder() const { return runs_folder_; }
  void setRunsFolder(const QString& folder);
  QString runDirectory() const { return run_dir_; }

  SessionFeed* feed() const { return feed_; }
  SessionLauncher* launcher() const { return launcher_; }
  ExperimentPanel* experimentPanel() const { return experiment_; }
  RunControls* runControls() const { return controls_; }
  ModulePanel* modulePanel() const { return modules_; }
  LossChart* lossChart() const { return chart_; }
  AttentionMapView* attentionView() const { return attention_; }
  MatrixView* matrixView() const { return matrices_; }
  ProbeInputBar* probeInput() const { return probe_bar_; }
  ExportController* exporter() const { return exporter_; }
  RecentFiles* recentFiles() const { return recent_; }
  HeadAtlasView* headAtlas() const { return atlas_; }
  TimelineBar* timeline() const { return timeline_; }
  ReplayExportController* replayExporter() const { return replay_; }
  HeadsView* headsView() const { return heads_; }
  ComparePanel* comparePanel() const { return compare_panel_; }
  CompareController* compareController() const { return compare_; }
  SampleView* sampleView() const { return sample_; }
  LearnPanel* learnPanel() const { return learn_; }

  // Trains the experiment form's variants (main_window_labs.cpp); an empty out_dir means a
  // new folder under runsFolder(). False, with the reason, when it cannot start.
  bool startComparison(const CompareChoices& choices, QString* error = nullptr);

  // Help > Keyboard shortcuts: "Menu > Action: key" for every menu action with a shortcut,
  // read from the menus themselves (main_window_help.cpp).
  QStringList shortcutList() const;
  // The README the Help menu opens: the source tree's, else the installed one; empty if none.
  static QString readmePath();

  // View > Reset layout (main_window_layout.cpp): every dock back in its default place, tab
  // group and share of the window, whatever was moved, closed or floated.
  void resetLayout();
  QAction* resetLayoutAction() const { return reset_layout_; }

 protected:
  void closeEvent(QCloseEvent* event) override;
  void dragEnterEvent(QDragEnterEvent* event) override;
  void dropEvent(QDropEvent* event) override;

 private:
  void buildDocks();
  void buildMenus();
  void buildThemeMenu(QMenu* menu);
  void buildHelpMenu();  // main_window_help.cpp
  void buildLabDocks();  // Heads, Compare, Sample, Learn (main_window_labs.cpp)
  QDockWidget* addDock(QWidget* widget, const QString& title, const QString& name, Qt::DockWidgetArea area);
  // The default dock arrangement and a first size that fits the screen (main_window_layout.cpp).
  void placeDocksByDefault();
  void sizeDocksByDefault();
  void fitIntoScreen();
  void connectFeed();
  void onCommand(const session::Command& command);
  void onStatus(const session::SessionStatus& status);
  void onSessionReset();
  void fillFormFromOpenedModel();  // the form's model section becomes the opened model's config
  bool formMatchesResumedRun() const;
  void loadRunCurves(const QString& run_dir);
  void loadFormFromRun(const QString& run_dir);  // the Experiment form shows the run's config
  void launchResume(QString path, std::optional<int64_t> total_steps, bool start);  // by value: it closes the session that resumed_run_ names
  void showMessage(const QString& message, int timeout_ms = 8000);
  void askOpenModel();
  void askOpenRunDirectory();
  void askFollowRunDirectory();
  void askOverlayRun();
  void askOpenComparison();
  void askResumeRun();
  void askSaveCheckpointAs();
  void askSetLearningRate();
  void askLoadExperiment();
  void askSaveExperiment();
  void reportLaunchFailure(const QString& what, const QString& failure);
  void reportOpen(bool ok, const QString& path, const QString& error);
  // The Head Atlas dock and the evolution timeline (main_window_timeline.cpp).
  void buildAtlasAndTimeline();
  void buildTimelineMenus();
  void onLiveProbe(std::shared_ptr<const ProbeSnapshot> probe);
  void showProbe(std::shared_ptr<const ProbeSnapshot> probe);
  void resetTimeline();

  SessionFeed* feed_ = nullptr;
  SessionLauncher* launcher_ = nullptr;
  QProgressBar* launch_progress_ = nullptr;
  LossChart* chart_ = nullptr;
  ExperimentPanel* experiment_ = nullptr;
  RunControls* controls_ = nullptr;
  ModulePanel* modules_ = nullptr;
  AttentionMapView* attention_ = nullptr;
  ProbeInputBar* probe_bar_ = nullptr;
  MatrixView* matrices_ = nullptr;
  ExportController* exporter_ = nullptr;
  RecentFiles* recent_ = nullptr;
  HeadAtlasView* atlas_ = nullptr;
  TimelineBar* timeline_ = nullptr;
  ReplayExportController* replay_ = nullptr;
  HeadsView* heads_ = nullptr;
  ComparePanel* compare_panel_ = nullptr;
  CompareController* compare_ = nullptr;
  CompareCurveFeed* curve_feed_ = nullptr;
  SampleView* sample_ = nullptr;
  LearnPanel* learn_ = nullptr;
  QMenu* view_menu_ = nullptr;
  QLabel* state_label_ = nullptr;
  RunFollower* follower_ = nullptr;
  QLabel* follow_label_ = nullptr;

  QString runs_folder_;
  QString run_dir_;
  QString inspected_model_;
  QString resumed_run_;              // the run directory the live session resumed, if any
  bool form_follows_model_ = false;  // the next model config reported fills the form's model
  nlohmann::json resumed_form_;      // the form as the resumed run filled it, without train.steps
  QAction* train_from_model_ = nullptr;
  QAction* reset_layout_ = nullptr;
  std::string model_config_json_;  // of the last status, to parse n_layers only on change
  int n_layers_ = 0;
  session::RunState last_state_ = session::RunState::Idle;
};

}  // namespace headlab::gui
