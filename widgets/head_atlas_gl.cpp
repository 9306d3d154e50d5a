#include "head_atlas_gl.h"

#include <imgui.h>

#include <QGuiApplication>
#include <QMouseEvent>
#include <QOffscreenSurface>
#include <QOpenGLContext>
#include <QSurfaceFormat>
#include <QTimer>
#include <QToolTip>
#include <QWheelEvent>
#include <QWindow>
#include <cstdint>

#include "head_atlas_model.h"
#include "head_atlas_painter.h"

namespace headlab {
namespace {

ImU32 toImGui(const QColor& c) { return IM_COL32(c.red(), c.green(), c.blue(), c.alpha()); }
ImVec2 topLeft(const QRectF& r) { return ImVec2(float(r.left()), float(r.top())); }
ImVec2 bottomRight(const QRectF& r) { return ImVec2(float(r.right()), float(r.bottom())); }

}  // namespace

HeadAtlasGlCanvas::HeadAtlasGlCanvas(const HeadAtlasModel* model, QWidget* parent)
    : QOpenGLWidget(parent), model_(model) {
  setFormat(requestedFormat());
  setMouseTracking(true);
  setFocusPolicy(Qt::StrongFocus);
  setMinimumSize(120, 120);
  setObjectName("atlasGlCanvas");
}

HeadAtlasGlCanvas::~HeadAtlasGlCanvas() { releaseGl(); }

QSurfaceFormat HeadAtlasGlCanvas::requestedFormat() {
  QSurfaceFormat format;
  format.setRenderableType(QSurfaceFormat::OpenGL);
  format.setVersion(3, 3);
  format.setProfile(QSurfaceFormat::CoreProfile);
  return format;
}

namespace {
std::function<bool(QString*)>& defaultProbeSlot() {
  static std::function<bool(QString*)> probe = &HeadAtlasGlCanvas::probeOpenGl;
  return probe;
}
}  // namespace

std::function<bool(QString* why)> HeadAtlasGlCanvas::defaultProbe() { return defaultProbeSlot(); }
void HeadAtlasGlCanvas::setDefaultProbe(std::function<bool(QString* why)> probe) {
  defaultProbeSlot() = probe ? std::move(probe) : &HeadAtlasGlCanvas::probeOpenGl;
}

bool HeadAtlasGlCanvas::probeOpenGl(QString* why) {
  auto no = [why](const QString& reason) {
    if (why) *why = reason;
    return false;
  };
  const QString platform = QGuiApplication::platformName();
  if (platform == "offscreen" || platform == "minimal")
    return no(tr("the \"%1\" Qt platform shows no OpenGL windows").arg(platform));
  QOpenGLContext context;
  context.setFormat(requestedFormat());
  if (!context.create() || !context.isValid()) return no(tr("no OpenGL context could be created"));
  QOffscreenSurface surface;
  surface.setFormat(context.format());
  surface.create();
  if (!surface.isValid() || !context.makeCurrent(&surface)) return no(tr("the OpenGL context cannot be made current"));
  const QSurfaceFormat got = context.format();
  context.doneCurrent();
  if (context.isOpenGLES()) return no(tr("only OpenGL ES is available; the atlas needs desktop OpenGL 3"));
  if (got.majorVersion() < 3)
    return no(tr("OpenGL %1.%2 is too old; the atlas needs 3.0").arg(got.majorVersion()).arg(got.minorVersion()));
  return true;
}

AtlasLayout HeadAtlasGlCanvas::layout() const {
  return HeadAtlasPainterCanvas::layoutFor(*model_, QSizeF(size()), scroll_);
}

void HeadAtlasGlCanvas::refresh() {
  scroll_ = layout().scroll();
  if (hovered_ >= model_->headCount() || (hovered_ >= 0 && model_->positionOf(hovered_) < 0)) setHovered(-1);
  update();
}

void HeadAtlasGlCanvas::fail(const QString& reason) {
  if (failed_) return;
  failed_ = true;
  // Queued: the view replaces (and deletes) this widget, which must not happen inside one of
  // its own GL callbacks.
  QTimer::singleShot(0, this, [this, reason] { emit glFailed(reason); });
}

void HeadAtlasGlCanvas::showEvent(QShowEvent* event) {
  QOpenGLWidget::showEvent(event);
  // When the context cannot be created, Qt never calls initializeGL and the widget stays black:
  // catch that once the window has really been on screen for a moment.
  QTimer::singleShot(1500, this, [this] {
    const QWindow* window = this->window()->windowHandle();
    if (!failed_ && isVisible() && window && window->isExposed() && !isValid())
      fail(tr("no OpenGL context could be created for this window"));
  });
}

void HeadAtlasGlCanvas::initializeGL() {
  QOpenGLContext* gl = context();
  if (!gl || !gl->isValid()) return fail(tr("the OpenGL context is invalid"));
  if (gl->isOpenGLES()) return fail(tr("only OpenGL ES is available; the atlas needs desktop OpenGL 3"));
  const QSurfaceFormat f = gl->format();
  if (f.majorVersion() < 3)
    return fail(tr("OpenGL %1.%2 is too old; the atlas needs 3.0").arg(f.majorVersion()).arg(f.minorVersion()));
  initializeOpenGLFunctions();
  // A dock that floats gets a new top-level window and with it a new context: free our GL
  // objects with the old one; initializeGL runs again for the new one.
  connect(gl, &QOpenGLContext::aboutToBeDestroyed, this, &HeadAtlasGlCanvas::releaseGl, Qt::UniqueConnection);
  const bool v33 = f.version() >= qMakePair(3, 3);
  const char* glsl = v33 ? "#version 330 core" : f.version() >= qMakePair(3, 2) ? "#version 150" : "#version 130";
  QString why;
  if (!bridge_.initRenderer(glsl, &why)) return fail(why);
  uploaded_revision_ = ~uint64_t(0);
  initialized_ = true;
}

void HeadAtlasGlCanvas::releaseGl() {
  if (!initialized_ && textures_.empty()) return;
  makeCurrent();
  if (!textures_.empty()) glDeleteTextures(GLsizei(textures_.size()), textures_.data());
  textures_.clear();
  texture_side_ = 0;
  bridge_.shutdownRenderer();
  initialized_ = false;
  doneCurrent();
}

void HeadAtlasGlCanvas::uploadTextures() {
  const int n = model_->hasMaps() ? model_->headCount() : 0;
  const int T = model_->seqLen();
  glPixelStorei(GL_UNPACK_ALIGNMENT, 4);  // rows are 4 * T bytes
  glPixelStorei(GL_UNPACK_ROW_LENGTH, 0);
  if (n != int(textures_.size()) || T != texture_side_) {
    if (!textures_.empty()) glDeleteTextures(GLsizei(textures_.size()), textures_.data());
    textures_.assign(size_t(n), 0);
    if (n > 0) glGenTextures(n, textures_.data());
    for (int i = 0; i < n; ++i) {
      glBindTexture(GL_TEXTURE_2D, textures_[size_t(i)]);
      // Nearest: one flat block per attention weight, as in the big map and the QPainter path.
      glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
      glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
      glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
      glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
      glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA8, T, T, 0, GL_RGBA, GL_UNSIGNED_BYTE, model_->textureOf(i));
    }
    texture_side_ = T;
  } else {
    // Same shape as before (the usual live case): update in place, no reallocation.
    for (int i = 0; i < n; ++i) {
      glBindTexture(GL_TEXTURE_2D, textures_[size_t(i)]);
      glTexSubImage2D(GL_TEXTURE_2D, 0, 0, 0, T, T, GL_RGBA, GL_UNSIGNED_BYTE, model_->textureOf(i));
    }
  }
  glBindTexture(GL_TEXTURE_2D, 0);
  uploaded_revision_ = model_->revision();
  ++uploads_;
}

void HeadAtlasGlCanvas::paintGL() {
  const QColor background = palette().color(QPalette::Window);
  glClearColor(background.redF(), background.greenF(), background.blueF(), 1.0f);
  glClear(GL_COLOR_BUFFER_BIT);
  if (failed_ || !initialized_) return;
  if (model_->revision() != uploaded_revision_) uploadTextures();
  bridge_.newFrame(size(), devicePixelRatioF());
  drawFrame();
  bridge_.render();
  // Frames are drawn on demand, not in a loop: after an input ImGui needs one more frame to
  // show what it measured in this one (a new tooltip is laid out hidden first).
  if (settle_frames_ > 0 && --settle_frames_ > 0) update();
}

void HeadAtlasGlCanvas::drawFrame() {
  const ImGuiIO& io = ImGui::GetIO();
  ImGui::SetNextWindowPos(ImVec2(0, 0));
  ImGui::SetNextWindowSize(io.DisplaySize);
  ImGui::PushStyleVar(ImGuiStyleVar_WindowPadding, ImVec2(0, 0));
  ImGui::PushStyleVar(ImGuiStyleVar_WindowBorderSize, 0.0f);
  const ImGuiWindowFlags flags = ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove |
                                 ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoBackground |
                                 ImGuiWindowFlags_NoScrollWithMouse | ImGuiWindowFlags_NoBringToFrontOnFocus |
                                 ImGuiWindowFlags_NoNav;
  ImGui::Begin("Head atlas", nullptr, flags);
  const QPalette& pal = palette();
  const ImU32 text = toImGui(pal.color(QPalette::WindowText));
  if (!model_->hasMaps() || model_->order().empty() || textures_.size() != size_t(model_->headCount())) {
    const QString message = !model_->hasMaps() ? model_->problem()
                                               : tr("No head has the role \"%1\" in this probe.").arg(model_->roleFilter());
    ImGui::SetCursorPos(ImVec2(12, io.DisplaySize.y / 2 - 8));
    ImGui::PushStyleColor(ImGuiCol_Text, text);
    ImGui::PushTextWrapPos(io.DisplaySize.x - 12);
    ImGui::TextUnformatted(message.toUtf8().constData());
    ImGui::PopTextWrapPos();
    ImGui::PopStyleColor();
  } else {
    ImDrawList* draw = ImGui::GetWindowDrawList();
    const AtlasLayout l = layout();
    const auto& order = model_->order();
    const ImU32 highlight = toImGui(pal.color(QPalette::Highlight));
    for (int position = l.firstVisible(); position < l.endVisible(); ++position) {
      const int index = order[size_t(position)];
      const QRectF map = l.mapRect(position);
      const QRectF label = l.labelRect(position);
      draw->AddImage(ImTextureID(intptr_t(textures_[size_t(index)])), topLeft(map), bottomRight(map));
      const QByteArray caption =
          model_->captionFitting(index, [](const QString& t) { return double(ImGui::CalcTextSize(t.toUtf8().constData()).x); },
                                 label.width())
              .toUtf8();
      const ImVec4 clip(float(label.left()), float(label.top()), float(label.right()), float(label.bottom()));
      draw->AddText(ImGui::GetFont(), ImGui::GetFontSize(), ImVec2(float(label.left()), float(label.top()) + 1.0f), text,
                    caption.constData(), nullptr, 0.0f, &clip);
      if (index == model_->selected())
        draw->AddRect(topLeft(map.adjusted(-1.5, -1.5, 1.5, 1.5)), bottomRight(map.adjusted(-1.5, -1.5, 1.5, 1.5)),
                      highlight, 0.0f, 0, 3.0f);
      else if (index == hovered_)
        draw->AddRect(topLeft(map.adjusted(-1, -1, 1, 1)), bottomRight(map.adjusted(-1, -1, 1, 1)), text);
    }
    if (hovered_ >= 0) {
      // The statistics of the head under the mouse, as an ImGui tooltip next to the cursor.
      ImGui::BeginTooltip();
      const HeadStats* s = model_->stats(hovered_);
      ImGui::Text("Layer %d, head %d", model_->layerOf(hovered_), model_->headOf(hovered_));
      if (s && !s->role.empty()) {
        ImGui::SameLine();
        ImGui::TextColored(ImVec4(0.99f, 0.91f, 0.15f, 1.0f), "%s", s->role.c_str());
      }
      if (!s) {
        ImGui::TextUnformatted("(no statistics in this probe)");
      } else if (ImGui::BeginTable("stats", 2, ImGuiTableFlags_SizingFixedFit)) {
        auto row = [](const char* name, const char* format, float value) {
          ImGui::TableNextRow();
          ImGui::TableNextColumn();
          ImGui::TextUnformatted(name);
          ImGui::TableNextColumn();
          ImGui::Text(format, double(value));
        };
        row("entropy", "%.3f nats", s->entropy);
        row("previous token", "%.3f", s->previous_token);
        row("induction", "%.3f", s->induction);
        row("sink", "%.3f", s->sink);
        row("self", "%.3f", s->self);
        row("mean distance", "%.2f tokens", s->mean_distance);
        ImGui::EndTable();
      }
      ImGui::EndTooltip();
    }
  }
  ImGui::End();
  ImGui::PopStyleVar(2);
}

void HeadAtlasGlCanvas::setHovered(int index) {
  if (index == hovered_) return;
  hovered_ = index;
  emit hoverChanged(index);
}

bool HeadAtlasGlCanvas::event(QEvent* event) {
  if (!failed_ && bridge_.handleEvent(event)) settle_frames_ = 2;
  switch (event->type()) {
    case QEvent::MouseMove: {
      const int position = layout().positionAt(static_cast<QMouseEvent*>(event)->position());
      setHovered(position < 0 ? -1 : model_->order()[size_t(position)]);
      update();
      break;
    }
    case QEvent::MouseButtonPress: {
      auto* e = static_cast<QMouseEvent*>(event);
      // Clicks are read from Qt, not from ImGui's per-frame MouseDown: with ImGui 1.86 a press
      // and release between two frames would be lost.
      const int position = layout().positionAt(e->position());
      if (e->button() == Qt::LeftButton && position >= 0) emit headClicked(model_->order()[size_t(position)]);
      update();
      break;
    }
    case QEvent::Leave:
      setHovered(-1);
      update();
      break;
    case QEvent::Wheel: {
      const AtlasLayout l = layout();
      if (l.maxScroll() <= 0) break;
      const float step = (l.side() + kAtlasLabelHeight) / 2.0f;
      scroll_ = HeadAtlasPainterCanvas::layoutFor(
                    *model_, QSizeF(size()), scroll_ - float(static_cast<QWheelEvent*>(event)->angleDelta().y()) / 120.0f * step)
                    .scroll();
      update();
      return true;
    }
    case QEvent::MouseButtonRelease:
    case QEvent::KeyPress:
    case QEvent::KeyRelease:
      update();
      break;
    case QEvent::ToolTip:
      // Over a head, ImGui draws the head's statistics itself: a Qt tooltip with the view's
      // explanation on top of it made two overlapping boxes. Between heads, Qt's explains.
      if (hovered_ >= 0) {
        QToolTip::hideText();
        event->accept();
        return true;
      }
      break;
    default:
      break;
  }
  return QOpenGLWidget::event(event);
}

}  // namespace headlab
