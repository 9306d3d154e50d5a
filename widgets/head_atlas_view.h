#pragma once
// The Head Atlas panel: every layer x head attention map of the current probe as a grid of
// thumbnails, with a role filter and a sort-by-statistic box above it. Drawn by Dear ImGui in
// a QOpenGLWidget when OpenGL works, by QPainter otherwise: the "software rendering" setting
// (QSettings atlas/softwareRendering, View menu) forces QPainter, and a failed or invalid GL
// context switches to it automatically, with the reason in the panel's tooltip.
// Clicking a thumbnail (or Enter on the keyboard-selected one) emits headSelected.
#include <QString>
#include <QWidget>
#include <functional>
#include <memory>

#include "head_atlas_model.h"

class QAction;
class QComboBox;
class QLabel;
class QStackedLayout;
class QToolButton;

namespace headlab {

class HeadAtlasGlCanvas;
class HeadAtlasPainterCanvas;

class HeadAtlasView : public QWidget {
  Q_OBJECT

 public:
  enum class Renderer { OpenGL, Software };
  // Says whether an OpenGL context of the kind the GL canvas needs can be had (and why not);
  // HeadAtlasGlCanvas::probeOpenGl unless a test passes its own.
  using GlProbe = std::function<bool(QString* why)>;

  explicit HeadAtlasView(QWidget* parent = nullptr, GlProbe probe = {});

  void setSnapshot(std::shared_ptr<const ProbeSnapshot> snapshot);
  const HeadAtlasModel& model() const { return model_; }

  Renderer renderer() const { return gl_ ? Renderer::OpenGL : Renderer::Software; }
  // Why QPainter draws although software rendering is off (empty when GL runs or was not wanted).
  QString glProblem() const { return gl_problem_; }
  bool softwareRendering() const { return software_; }
  void setSoftwareRendering(bool on);  // remembered in QSettings
  QAction* softwareAction() const { return software_action_; }
  // The GL canvas reports a failure (context lost, invalid, backend not starting): switch to
  // QPainter for the rest of the session.
  void reportGlFailure(const QString& reason);

  void setRoleFilter(const QString& role);  // empty: all roles
  void setSort(AtlasSortKey key, bool descending);
  // Highlights a head without emitting headSelected (e.g. picked in the attention map view).
  void setSelectedHead(int layer, int head);

  HeadAtlasPainterCanvas* painterCanvas() const { return painter_; }
  HeadAtlasGlCanvas* glCanvas() const { return gl_; }
  QWidget* canvas() const;
  // The hover line under the grid: the statistics of the head under the mouse.
  QString hoverText() const;
  QComboBox* roleBox() const { return role_box_; }
  QComboBox* sortBox() const { return sort_box_; }

 signals:
  void headSelected(int layer, int head);

 protected:
  void keyPressEvent(QKeyEvent* event) override;

 private:
  void buildCanvas();
  void refreshCanvas();
  void syncRoleBox();
  void onHeadClicked(int index);
  void onHover(int index);
  void applySortFromBoxes();

  HeadAtlasModel model_;
  GlProbe probe_;
  bool software_ = false;
  QString gl_problem_;
  QStackedLayout* stack_ = nullptr;
  HeadAtlasGlCanvas* gl_ = nullptr;
  HeadAtlasPainterCanvas* painter_ = nullptr;
  QComboBox* role_box_ = nullptr;
  QComboBox* sort_box_ = nullptr;
  QToolButton* order_button_ = nullptr;
  QLabel* hover_label_ = nullptr;
  QLabel* renderer_label_ = nullptr;
  QAction* software_action_ = nullptr;
};

}  // namespace headlab
