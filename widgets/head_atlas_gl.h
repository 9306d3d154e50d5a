#pragma once
// The Head Atlas on the GPU: one QOpenGLWidget running Dear ImGui (through ImGuiBridge) that
// draws every head's thumbnail as its own GL texture, with the head's statistics in an ImGui
// tooltip on hover. Textures are re-uploaded only when the model's pixels change, so hovering
// and scrolling cost a redraw, not an upload. When the context cannot be created, is invalid,
// or the ImGui backend cannot start, it emits glFailed() and HeadAtlasView swaps in the
// QPainter canvas: the user never sees a black panel.
#include <functional>
#include <QOpenGLFunctions>
#include <QOpenGLWidget>
#include <QString>
#include <cstdint>
#include <vector>

#include "atlas_layout.h"
#include "imgui_bridge.h"

class QSurfaceFormat;

namespace headlab {

class HeadAtlasModel;

class HeadAtlasGlCanvas : public QOpenGLWidget, protected QOpenGLFunctions {
  Q_OBJECT

 public:
  HeadAtlasGlCanvas(const HeadAtlasModel* model, QWidget* parent = nullptr);
  ~HeadAtlasGlCanvas() override;

  void refresh();  // the model's data, order or selection changed
  AtlasLayout layout() const;
  int hovered() const { return hovered_; }
  bool failed() const { return failed_; }
  int textureCount() const { return int(textures_.size()); }
  int uploadCount() const { return uploads_; }  // snapshots uploaded so far (tests, profiling)

  // The context format the canvas asks for: OpenGL 3.3 core, what the ImGui backend needs.
  static QSurfaceFormat requestedFormat();
  // Whether this machine can give us such a context: tries one on an offscreen surface.
  // False (and *why) under the offscreen platform, without a GL driver, or below 3.0.
  static bool probeOpenGl(QString* why);
  // The probe a HeadAtlasView uses when it is given none: probeOpenGl unless the application
  // set another. The app sets one that first tries OpenGL in a child process, because a
  // driver can crash the process that creates a context (Debian 13's llvmpipe did, under
  // Xvfb on a virtual CPU), and a crash in the child only means the software painter.
  static std::function<bool(QString* why)> defaultProbe();
  static void setDefaultProbe(std::function<bool(QString* why)> probe);

 signals:
  void headClicked(int index);
  void hoverChanged(int index);
  void glFailed(const QString& reason);

 protected:
  void initializeGL() override;
  void paintGL() override;
  bool event(QEvent* event) override;
  void showEvent(QShowEvent* event) override;

 private:
  void fail(const QString& reason);
  void releaseGl();
  void uploadTextures();
  void drawFrame();
  void setHovered(int index);

  const HeadAtlasModel* model_;
  ImGuiBridge bridge_;
  std::vector<unsigned int> textures_;  // GLuint, one per head (model index)
  int texture_side_ = 0;
  uint64_t uploaded_revision_ = ~uint64_t(0);
  int uploads_ = 0;
  int hovered_ = -1;
  float scroll_ = 0;
  int settle_frames_ = 0;  // frames still to draw after an input (ImGui sizes new windows on frame 1, shows them on 2)
  bool failed_ = false;
  bool initialized_ = false;
};

}  // namespace headlab
