#pragma once
// Export > "Replay as GIF..." / "Replay as PNG frames...": the probe history of the timeline,
// one frame per entry, drawn as the Head Atlas (QPainter renderer, with the atlas's current
// role filter and sort) or as the attention map of the head shown now. Size, frame rate and
// view are remembered in QSettings; long exports show a progress dialog with Cancel.
#include <QList>
#include <QObject>
#include <QSize>
#include <QString>

#include "replay_export.h"

class QAction;
class QWidget;

namespace headlab {
class AttentionMapView;
class HeadAtlasView;
class TimelineBar;
}  // namespace headlab

namespace headlab::gui {

class ReplayExportController : public QObject {
  Q_OBJECT

 public:
  enum class View { Atlas, AttentionMap };

  ReplayExportController(QWidget* window, TimelineBar* timeline, HeadAtlasView* atlas, AttentionMapView* attention,
                         QObject* parent = nullptr);

  QAction* gifAction() const { return gif_action_; }
  QAction* pngAction() const { return png_action_; }

  // The non-interactive halves of the two actions (the tests drive these).
  ReplayResult exportGif(const QString& path, View view, QSize size, double frames_per_second,
                         const ReplayProgress& progress = {});
  ReplayResult exportPngs(const QString& folder, View view, QSize size, const ReplayProgress& progress = {});
  FrameRenderer rendererFor(View view, QSize size) const;

 signals:
  void exported(const QString& message);
  void failed(const QString& message);

 private:
  struct Choice {
    View view = View::Atlas;
    QSize size{960, 720};
    double fps = 4.0;
  };
  bool askChoice(bool gif, Choice* choice);
  void run(bool gif);
  void report(const ReplayResult& result, const QString& done);

  QWidget* window_;
  TimelineBar* timeline_;
  HeadAtlasView* atlas_;
  AttentionMapView* attention_;
  QAction* gif_action_ = nullptr;
  QAction* png_action_ = nullptr;
};

}  // namespace headlab::gui
