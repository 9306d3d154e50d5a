#include "replay_export_controller.h"

#include <QAction>
#include <QApplication>
#include <QComboBox>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QLabel>
#include <QProgressDialog>
#include <QSettings>
#include <QSpinBox>
#include <QStandardPaths>

#include "attention_map_view.h"
#include "head_atlas_view.h"
#include "replay_frames.h"
#include "timeline_bar.h"

namespace headlab::gui {

ReplayExportController::ReplayExportController(QWidget* window, TimelineBar* timeline, HeadAtlasView* atlas,
                                               AttentionMapView* attention, QObject* parent)
    : QObject(parent), window_(window), timeline_(timeline), atlas_(atlas), attention_(attention) {
  gif_action_ = new QAction(tr("Replay as GIF..."), this);
  gif_action_->setToolTip(tr("The probe history as an animated GIF: one frame per probe, the Head Atlas or the "
                             "attention map shown now"));
  png_action_ = new QAction(tr("Replay as PNG frames..."), this);
  png_action_->setToolTip(tr("The probe history as numbered PNG files (frame_0000.png, ...) for a video editor"));
  connect(gif_action_, &QAction::triggered, this, [this] { run(true); });
  connect(png_action_, &QAction::triggered, this, [this] { run(false); });
}

FrameRenderer ReplayExportController::rendererFor(View view, QSize size) const {
  if (view == View::AttentionMap) return attentionFrameRenderer(size, attention_->layer(), attention_->head());
  const HeadAtlasModel& m = atlas_->model();
  return atlasFrameRenderer(size, m.roleFilter(), m.sortKey(), m.sortDescending());
}

// The history is copied (shared pointers only): the progress dialog runs the event loop, and a
// probe arriving meanwhile replaces the timeline's vector under a reference.
ReplayResult ReplayExportController::exportGif(const QString& path, View view, QSize size, double frames_per_second,
                                               const ReplayProgress& progress) {
  const ReplayHistory history = timeline_->history();
  return exportReplayGif(history, rendererFor(view, size), path, frames_per_second, progress);
}

ReplayResult ReplayExportController::exportPngs(const QString& folder, View view, QSize size,
                                                const ReplayProgress& progress) {
  const ReplayHistory history = timeline_->history();
  return exportReplayPngs(history, rendererFor(view, size), folder, progress);
}

bool ReplayExportController::askChoice(bool gif, Choice* choice) {
  QSettings settings;
  QDialog dialog(window_);
  dialog.setWindowTitle(gif ? tr("Replay as GIF") : tr("Replay as PNG frames"));
  auto* form = new QFormLayout(&dialog);
  auto* view = new QComboBox(&dialog);
  view->addItem(tr("Head atlas (every head)"), int(View::Atlas));
  view->addItem(tr("Attention map (layer %1, head %2)").arg(attention_->layer()).arg(attention_->head()),
                int(View::AttentionMap));
  view->setCurrentIndex(std::max(0, view->findData(settings.value("replay/view", int(View::Atlas)).toInt())));
  view->setToolTip(tr("What each frame shows. The atlas keeps its current role filter and sort order."));
  auto* width = new QSpinBox(&dialog);
  auto* height = new QSpinBox(&dialog);
  for (QSpinBox* box : {width, height}) box->setRange(100, 4000);
  width->setValue(settings.value("replay/width", 960).toInt());
  height->setValue(settings.value("replay/height", 720).toInt());
  auto* fps = new QDoubleSpinBox(&dialog);
  fps->setRange(0.5, 50);
  fps->setValue(settings.value("replay/fps", 4.0).toDouble());
  fps->setToolTip(tr("Probes shown per second when the GIF plays."));
  form->addRow(tr("View"), view);
  form->addRow(tr("Width (px)"), width);
  form->addRow(tr("Height (px)"), height);
  if (gif) form->addRow(tr("Frames per second"), fps);
  form->addRow(new QLabel(tr("%1 probes in the history.").arg(timeline_->history().size()), &dialog));
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, &dialog);
  form->addRow(buttons);
  connect(buttons, &QDialogButtonBox::accepted, &dialog, &QDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
  if (dialog.exec() != QDialog::Accepted) return false;
  choice->view = View(view->currentData().toInt());
  choice->size = QSize(width->value(), height->value());
  choice->fps = fps->value();
  settings.setValue("replay/view", int(choice->view));
  settings.setValue("replay/width", choice->size.width());
  settings.setValue("replay/height", choice->size.height());
  settings.setValue("replay/fps", choice->fps);
  return true;
}

void ReplayExportController::run(bool gif) {
  if (timeline_->history().empty()) {
    emit failed(tr("Export failed: no probe history to replay yet: the history fills while a run trains and probes"));
    return;
  }
  Choice choice;
  if (!askChoice(gif, &choice)) return;
  QSettings settings;
  const QString last_dir =
      settings.value("export/dir", QStandardPaths::writableLocation(QStandardPaths::DocumentsLocation)).toString();
  QString target;
  if (gif) {
    target = QFileDialog::getSaveFileName(window_, tr("Replay as GIF"), QDir(last_dir).filePath("replay.gif"),
                                          tr("GIF animation (*.gif)"));
    if (target.isEmpty()) return;
    if (QFileInfo(target).suffix().isEmpty()) target += ".gif";
    settings.setValue("export/dir", QFileInfo(target).absolutePath());
  } else {
    target = QFileDialog::getExistingDirectory(window_, tr("Write the PNG frames into (an empty folder)"), last_dir);
    if (target.isEmpty()) return;
    settings.setValue("export/dir", target);
  }
  const int total = int(timeline_->history().size());  // what exportGif/exportPngs copy just below
  QProgressDialog dialog(tr("Drawing the replay frames..."), tr("Cancel"), 0, total, window_);
  dialog.setWindowModality(Qt::WindowModal);
  dialog.setMinimumDuration(300);  // short exports finish before it would flash up
  const ReplayProgress progress = [&dialog](int done, int) {
    dialog.setValue(done);
    QApplication::processEvents();
    return !dialog.wasCanceled();
  };
  const ReplayResult result = gif ? exportGif(target, choice.view, choice.size, choice.fps, progress)
                                  : exportPngs(target, choice.view, choice.size, progress);
  dialog.setValue(total);
  report(result, gif ? tr("Replay of %1 probes written to %2").arg(total).arg(target)
                     : tr("%1 replay frames written to %2").arg(total).arg(target));
}

void ReplayExportController::report(const ReplayResult& result, const QString& done) {
  if (result.ok) emit exported(done);
  else if (result.cancelled) emit exported(tr("Replay export cancelled; nothing was written"));
  else emit failed(tr("Export failed: %1").arg(result.error));
}

}  // namespace headlab::gui
