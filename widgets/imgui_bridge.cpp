#include "imgui_bridge.h"

#include <imgui.h>
#include <backends/imgui_impl_opengl3.h>

#include <QKeyEvent>
#include <QMouseEvent>
#include <QWheelEvent>
#include <cfloat>

namespace headlab {
namespace {

// ImGui 1.86 reads keys from io.KeysDown[512] through io.KeyMap. Letters keep their Qt code
// (Qt::Key_A == 'A'); the special keys, whose Qt codes are far above 512, get the slots
// 256 + ImGuiKey_*, which no letter uses.
constexpr int kSpecialBase = 256;

struct KeyPair {
  int qt;
  ImGuiKey_ imgui;
};
constexpr KeyPair kSpecialKeys[] = {
    {Qt::Key_Tab, ImGuiKey_Tab},           {Qt::Key_Left, ImGuiKey_LeftArrow},   {Qt::Key_Right, ImGuiKey_RightArrow},
    {Qt::Key_Up, ImGuiKey_UpArrow},        {Qt::Key_Down, ImGuiKey_DownArrow},   {Qt::Key_PageUp, ImGuiKey_PageUp},
    {Qt::Key_PageDown, ImGuiKey_PageDown}, {Qt::Key_Home, ImGuiKey_Home},        {Qt::Key_End, ImGuiKey_End},
    {Qt::Key_Insert, ImGuiKey_Insert},     {Qt::Key_Delete, ImGuiKey_Delete},    {Qt::Key_Backspace, ImGuiKey_Backspace},
    {Qt::Key_Space, ImGuiKey_Space},       {Qt::Key_Return, ImGuiKey_Enter},     {Qt::Key_Escape, ImGuiKey_Escape},
    {Qt::Key_Enter, ImGuiKey_KeyPadEnter},
};
constexpr KeyPair kLetterKeys[] = {{Qt::Key_A, ImGuiKey_A}, {Qt::Key_C, ImGuiKey_C}, {Qt::Key_V, ImGuiKey_V},
                                   {Qt::Key_X, ImGuiKey_X}, {Qt::Key_Y, ImGuiKey_Y}, {Qt::Key_Z, ImGuiKey_Z}};

int keySlot(int qt_key) {
  for (const KeyPair& k : kSpecialKeys)
    if (k.qt == qt_key) return kSpecialBase + k.imgui;
  if (qt_key >= Qt::Key_A && qt_key <= Qt::Key_Z) return qt_key;
  return -1;
}

int mouseSlot(Qt::MouseButton button) {
  switch (button) {
    case Qt::LeftButton: return 0;
    case Qt::RightButton: return 1;
    case Qt::MiddleButton: return 2;
    default: return -1;
  }
}

void setModifiers(ImGuiIO& io, Qt::KeyboardModifiers m) {
  io.KeyCtrl = m & Qt::ControlModifier;
  io.KeyShift = m & Qt::ShiftModifier;
  io.KeyAlt = m & Qt::AltModifier;
  io.KeySuper = m & Qt::MetaModifier;
}

}  // namespace

ImGuiBridge::ImGuiBridge() {
  ImGuiContext* previous = ImGui::GetCurrentContext();
  context_ = ImGui::CreateContext();
  ImGuiIO& io = ImGui::GetIO();
  io.IniFilename = nullptr;  // the layout is ours, nothing to remember between runs
  io.LogFilename = nullptr;
  for (const KeyPair& k : kSpecialKeys) io.KeyMap[k.imgui] = kSpecialBase + k.imgui;
  for (const KeyPair& k : kLetterKeys) io.KeyMap[k.imgui] = k.qt;
  ImGui::StyleColorsDark();
  ImGui::SetCurrentContext(previous);
  clock_.start();
}

ImGuiBridge::~ImGuiBridge() {
  // The renderer needs the GL context: the widget calls shutdownRenderer() while it is current.
  ImGui::DestroyContext(context_);
}

void ImGuiBridge::makeCurrent() const { ImGui::SetCurrentContext(context_); }

bool ImGuiBridge::initRenderer(const char* glsl_version, QString* why) {
  makeCurrent();
  if (renderer_ready_) return true;
  if (!ImGui_ImplOpenGL3_Init(glsl_version)) {
    if (why) *why = QStringLiteral("Dear ImGui's OpenGL 3 backend could not start (no OpenGL 3.0 functions)");
    return false;
  }
  renderer_ready_ = true;
  return true;
}

void ImGuiBridge::shutdownRenderer() {
  if (!renderer_ready_) return;
  makeCurrent();
  ImGui_ImplOpenGL3_Shutdown();
  renderer_ready_ = false;
}

bool ImGuiBridge::handleEvent(QEvent* event) {
  makeCurrent();
  ImGuiIO& io = ImGui::GetIO();
  switch (event->type()) {
    case QEvent::MouseMove: {
      const QPointF p = static_cast<QMouseEvent*>(event)->position();
      io.MousePos = ImVec2(float(p.x()), float(p.y()));
      return true;
    }
    case QEvent::MouseButtonPress:
    case QEvent::MouseButtonDblClick:
    case QEvent::MouseButtonRelease: {
      auto* e = static_cast<QMouseEvent*>(event);
      io.MousePos = ImVec2(float(e->position().x()), float(e->position().y()));
      const int slot = mouseSlot(e->button());
      if (slot < 0) return false;
      io.MouseDown[slot] = event->type() != QEvent::MouseButtonRelease;
      setModifiers(io, e->modifiers());
      return true;
    }
    case QEvent::Wheel: {
      const QPoint delta = static_cast<QWheelEvent*>(event)->angleDelta();
      io.MouseWheel += float(delta.y()) / 120.0f;  // one notch = one ImGui wheel unit
      io.MouseWheelH += float(delta.x()) / 120.0f;
      return true;
    }
    case QEvent::KeyPress:
    case QEvent::KeyRelease: {
      auto* e = static_cast<QKeyEvent*>(event);
      setModifiers(io, e->modifiers());
      const int slot = keySlot(e->key());
      if (slot >= 0) io.KeysDown[slot] = event->type() == QEvent::KeyPress;
      if (event->type() == QEvent::KeyPress && !e->text().isEmpty() && e->text().at(0).isPrint())
        io.AddInputCharactersUTF8(e->text().toUtf8().constData());
      return slot >= 0 || !e->text().isEmpty();
    }
    case QEvent::Leave:
      io.MousePos = ImVec2(-FLT_MAX, -FLT_MAX);  // ImGui's "no mouse"
      return true;
    case QEvent::FocusOut:
      // Releases that happen while another widget has focus never reach us: forget held keys.
      for (bool& down : io.KeysDown) down = false;
      for (bool& down : io.MouseDown) down = false;
      setModifiers(io, Qt::NoModifier);
      return true;
    default:
      return false;
  }
}

void ImGuiBridge::newFrame(QSize logical_size, double device_pixel_ratio) {
  makeCurrent();
  ImGuiIO& io = ImGui::GetIO();
  io.DisplaySize = ImVec2(float(logical_size.width()), float(logical_size.height()));
  io.DisplayFramebufferScale = ImVec2(float(device_pixel_ratio), float(device_pixel_ratio));
  // ImGui asserts on a zero time step; frames only come on events, so cap long idle gaps too.
  const double dt = clock_.restart() / 1000.0;
  io.DeltaTime = float(dt <= 0.0 ? 1e-4 : dt > 0.5 ? 0.5 : dt);
  ImGui_ImplOpenGL3_NewFrame();
  ImGui::NewFrame();
}

void ImGuiBridge::render() {
  makeCurrent();
  ImGui::Render();
  ImGui_ImplOpenGL3_RenderDrawData(ImGui::GetDrawData());
}

}  // namespace headlab
