#pragma once
// A small Qt <-> Dear ImGui bridge for one QOpenGLWidget: it owns an ImGui context, feeds it
// the widget's Qt input events (mouse, wheel, keys, text) and size/device-pixel-ratio, and
// renders with Debian's imgui_impl_opengl3 backend (ImGui 1.86's io.KeysDown / io.MouseDown
// arrays on Debian 12, 1.87+'s input events on Debian 13; the .cpp hides which). Each bridge has its own ImGui context, so several GL widgets can use
// ImGui side by side; every call makes that context current first.
#include <QElapsedTimer>
#include <QSize>
#include <QString>

class QEvent;
struct ImGuiContext;

namespace headlab {

class ImGuiBridge {
 public:
  ImGuiBridge();
  ~ImGuiBridge();
  ImGuiBridge(const ImGuiBridge&) = delete;
  ImGuiBridge& operator=(const ImGuiBridge&) = delete;

  // With the widget's GL context current. False (and *why) when the backend cannot load the
  // OpenGL 3 functions or the context is older than 3.0: the caller falls back to QPainter.
  bool initRenderer(const char* glsl_version, QString* why);
  // With the same GL context current (before it is destroyed): frees the backend's shaders,
  // buffers and font texture. Safe to call twice.
  void shutdownRenderer();
  bool rendererReady() const { return renderer_ready_; }

  // Maps a Qt input event into ImGuiIO. Returns true when the event was one it understood
  // (the widget still decides whether to accept it).
  bool handleEvent(QEvent* event);

  // Starts a frame for a widget of `logical_size` at `device_pixel_ratio`; ImGui draws in
  // logical pixels, the framebuffer is scaled.
  void newFrame(QSize logical_size, double device_pixel_ratio);
  // Ends the frame and draws it into the current framebuffer.
  void render();

  ImGuiContext* context() const { return context_; }
  void makeCurrent() const;

 private:
  ImGuiContext* context_ = nullptr;
  bool renderer_ready_ = false;
  QElapsedTimer clock_;
};

}  // namespace headlab
