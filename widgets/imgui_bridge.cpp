#include "imgui_bridge.h"

#include <imgui.h>
#include <backends/imgui_impl_opengl3.h>

#include <QKeyEvent>
#include <QMouseEvent>
#include <QWheelEvent>
#include <cfloat>

namespace headlab {
namespace {

// The one place that knows the two ImGui input APIs: Debian 12's ImGui 1.86 reads the
// state arrays io.KeysDown[512] (through io.KeyMap) and io.MouseDown; 1.87 replaced them
// with an event queue (io.AddKeyEvent, io.AddMouseButtonEvent, ...) and Debian 13's 1.91
// no longer has the arrays at all. Everything below the compat block calls these helpers.
#if IMGUI_VERSION_NUM >= 18700
#define HEADLAB_IMGUI_INPUT_EVENTS 1
constexpr ImGuiKey kKeypadEnter = ImGuiKey_KeypadEnter;
#else
#define HEADLAB_IMGUI_INPUT_EVENTS 0
constexpr ImGuiKey kKeypadEnter = ImGuiKey_KeyPadEnter;
#endif

struct KeyPair {
  int qt;
  ImGuiKey imgui;
};
constexpr KeyPair kSpecialKeys[] = {
    {Qt::Key_Tab, ImGuiKey_Tab},           {Qt::Key_Left, ImGuiKey_LeftArrow},   {Qt::Key_Right, ImGuiKey_RightArrow},
    {Qt::Key_Up, ImGuiKey_UpArrow},        {Qt::Key_Down, ImGuiKey_DownArrow},   {Qt::Key_PageUp, ImGuiKey_PageUp},
    {Qt::Key_PageDown, ImGuiKey_PageDown}, {Qt::Key_Home, ImGuiKey_Home},        {Qt::Key_End, ImGuiKey_End},
    {Qt::Key_Insert, ImGuiKey_Insert},     {Qt::Key_Delete, ImGuiKey_Delete},    {Qt::Key_Backspace, ImGuiKey_Backspace},
    {Qt::Key_Space, ImGuiKey_Space},       {Qt::Key_Return, ImGuiKey_Enter},     {Qt::Key_Escape, ImGuiKey_Escape},
    {Qt::Key_Enter, kKeypadEnter},
};

#if HEADLAB_IMGUI_INPUT_EVENTS
void initKeys(ImGuiIO&) {}

// Returns false for a key ImGui has no name for.
bool sendKey(ImGuiIO& io, int qt_key, bool down) {
  for (const KeyPair& k : kSpecialKeys)
    if (k.qt == qt_key) {
      io.AddKeyEvent(k.imgui, down);
      return true;
    }
  if (qt_key >= Qt::Key_A && qt_key <= Qt::Key_Z) {
    io.AddKeyEvent(ImGuiKey(ImGuiKey_A + (qt_key - Qt::Key_A)), down);
    return true;
  }
  return false;
}

void setModifiers(ImGuiIO& io, Qt::KeyboardModifiers m) {
#if IMGUI_VERSION_NUM >= 18900
  io.AddKeyEvent(ImGuiMod_Ctrl, m & Qt::ControlModifier);
  io.AddKeyEvent(ImGuiMod_Shift, m & Qt::ShiftModifier);
  io.AddKeyEvent(ImGuiMod_Alt, m & Qt::AltModifier);
  io.AddKeyEvent(ImGuiMod_Super, m & Qt::MetaModifier);
#else
  io.AddKeyEvent(ImGuiKey_ModCtrl, m & Qt::ControlModifier);
  io.AddKeyEvent(ImGuiKey_ModShift, m & Qt::ShiftModifier);
  io.AddKeyEvent(ImGuiKey_ModAlt, m & Qt::AltModifier);
  io.AddKeyEvent(ImGuiKey_ModSuper, m & Qt::MetaModifier);
#endif
}

void sendMousePos(ImGuiIO& io, ImVec2 p) { io.AddMousePosEvent(p.x, p.y); }
void sendMouseButton(ImGuiIO& io, int button, bool down) { io.AddMouseButtonEvent(button, down); }
void sendWheel(ImGuiIO& io, float dx, float dy) { io.AddMouseWheelEvent(dx, dy); }

// Releases that happen while another widget has focus never reach us: ImGui forgets held
// keys and buttons itself on a focus-out event.
void releaseAll(ImGuiIO& io) { io.AddFocusEvent(false); }
#else
// Letters keep their Qt code in io.KeysDown (Qt::Key_A == 'A'); the special keys, whose Qt
// codes are far above 512, get the slots 256 + ImGuiKey_*, which no letter uses.
constexpr int kSpecialBase = 256;
constexpr KeyPair kLetterKeys[] = {{Qt::Key_A, ImGuiKey_A}, {Qt::Key_C, ImGuiKey_C}, {Qt::Key_V, ImGuiKey_V},
                                   {Qt::Key_X, ImGuiKey_X}, {Qt::Key_Y, ImGuiKey_Y}, {Qt::Key_Z, ImGuiKey_Z}};

void initKeys(ImGuiIO& io) {
  for (const KeyPair& k : kSpecialKeys) io.KeyMap[k.imgui] = kSpecialBase + k.imgui;
  for (const KeyPair& k : kLetterKeys) io.KeyMap[k.imgui] = k.qt;
}

int keySlot(int qt_key) {
  for (const KeyPair& k : kSpecialKeys)
    if (k.qt == qt_key) return kSpecialBase + k.imgui;
  if (qt_key >= Qt::Key_A && qt_key <= Qt::Key_Z) return qt_key;
  return -1;
}

bool sendKey(ImGuiIO& io, int qt_key, bool down) {
  const int slot = keySlot(qt_key);
  if (slot >= 0) io.KeysDown[slot] = down;
  return slot >= 0;
}

void setModifiers(ImGuiIO& io, Qt::KeyboardModifiers m) {
  io.KeyCtrl = m & Qt::ControlModifier;
  io.KeyShift = m & Qt::ShiftModifier;
  io.KeyAlt = m & Qt::AltModifier;
  io.KeySuper = m & Qt::MetaModifier;
}

void sendMousePos(ImGuiIO& io, ImVec2 p) { io.MousePos = p; }
void sendMouseButton(ImGuiIO& io, int button, bool down) { io.MouseDown[button] = down; }
void sendWheel(ImGuiIO& io, float dx, float dy) {
  io.MouseWheel += dy;
  io.MouseWheelH += dx;
}

// Releases that happen while another widget has focus never reach us: forget held keys.
void releaseAll(ImGuiIO& io) {
  for (bool& down : io.KeysDown) down = false;
  for (bool& down : io.MouseDown) down = false;
  setModifiers(io, Qt::NoModifier);
}
#endif

int mouseSlot(Qt::MouseButton button) {
  switch (button) {
    case Qt::LeftButton: return 0;
    case Qt::RightButton: return 1;
    case Qt::MiddleButton: return 2;
    default: return -1;
  }
}

}  // namespace

ImGuiBridge::ImGuiBridge() {
  ImGuiContext* previous = ImGui::GetCurrentContext();
  context_ = ImGui::CreateContext();
  ImGuiIO& io = ImGui::GetIO();
  io.IniFilename = nullptr;  // the layout is ours, nothing to remember between runs
  io.LogFilename = nullptr;
  initKeys(io);
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
      sendMousePos(io, ImVec2(float(p.x()), float(p.y())));
      return true;
    }
    case QEvent::MouseButtonPress:
    case QEvent::MouseButtonDblClick:
    case QEvent::MouseButtonRelease: {
      auto* e = static_cast<QMouseEvent*>(event);
      sendMousePos(io, ImVec2(float(e->position().x()), float(e->position().y())));
      const int slot = mouseSlot(e->button());
      if (slot < 0) return false;
      setModifiers(io, e->modifiers());
      sendMouseButton(io, slot, event->type() != QEvent::MouseButtonRelease);
      return true;
    }
    case QEvent::Wheel: {
      const QPoint delta = static_cast<QWheelEvent*>(event)->angleDelta();
      sendWheel(io, float(delta.x()) / 120.0f, float(delta.y()) / 120.0f);  // one notch = one unit
      return true;
    }
    case QEvent::KeyPress:
    case QEvent::KeyRelease: {
      auto* e = static_cast<QKeyEvent*>(event);
      setModifiers(io, e->modifiers());
      const bool known = sendKey(io, e->key(), event->type() == QEvent::KeyPress);
      if (event->type() == QEvent::KeyPress && !e->text().isEmpty() && e->text().at(0).isPrint())
        io.AddInputCharactersUTF8(e->text().toUtf8().constData());
      return known || !e->text().isEmpty();
    }
    case QEvent::Leave:
      sendMousePos(io, ImVec2(-FLT_MAX, -FLT_MAX));  // ImGui's "no mouse"
      return true;
    case QEvent::FocusOut:
      releaseAll(io);
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
