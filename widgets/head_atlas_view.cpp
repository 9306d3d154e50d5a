#include "head_atlas_view.h"

#include <QAction>
#include <QComboBox>
#include <QHBoxLayout>
#include <QKeyEvent>
#include <QLabel>
#include <QSettings>
#include <QStackedLayout>
#include <QToolButton>
#include <QVBoxLayout>

#include "head_atlas_gl.h"
#include "head_atlas_painter.h"

namespace headlab {
namespace {

constexpr AtlasSortKey kSortKeys[] = {AtlasSortKey::LayerHead, AtlasSortKey::Entropy,   AtlasSortKey::PreviousToken,
                                      AtlasSortKey::Induction, AtlasSortKey::Sink,      AtlasSortKey::Self,
                                      AtlasSortKey::MeanDistance};

const char* kSettingSoftware = "atlas/softwareRendering";
const char* kSettingSort = "atlas/sortKey";
const char* kSettingDescending = "atlas/sortDescending";

}  // namespace

HeadAtlasView::HeadAtlasView(QWidget* parent, GlProbe probe)
    : QWidget(parent), probe_(probe ? std::move(probe) : HeadAtlasGlCanvas::defaultProbe()) {
  QSettings settings;
  software_ = settings.value(kSettingSoftware, false).toBool();
  setFocusPolicy(Qt::StrongFocus);

  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  layout->setSpacing(2);
  auto* row = new QHBoxLayout;
  row->setContentsMargins(4, 2, 4, 0);
  role_box_ = new QComboBox(this);
  role_box_->setToolTip(tr("Show only heads of one role (the probe's guess of what each head does: previous-token, "
                           "induction, sink, local or diffuse)."));
  role_box_->addItem(tr("all roles"), QString());
  sort_box_ = new QComboBox(this);
  sort_box_->setToolTip(tr("Order the thumbnails by one statistic of the head, e.g. induction to put the heads "
                           "that copy from earlier repeats first."));
  for (AtlasSortKey key : kSortKeys) sort_box_->addItem(HeadAtlasModel::statName(key), int(key));
  order_button_ = new QToolButton(this);
  order_button_->setCheckable(true);
  order_button_->setToolTip(tr("Largest value first (checked) or smallest first."));
  renderer_label_ = new QLabel(this);
  row->addWidget(new QLabel(tr("role"), this));
  row->addWidget(role_box_);
  row->addWidget(new QLabel(tr("sort by"), this));
  row->addWidget(sort_box_);
  row->addWidget(order_button_);
  row->addStretch(1);
  row->addWidget(renderer_label_);
  layout->addLayout(row);
  stack_ = new QStackedLayout;
  layout->addLayout(stack_, 1);
  hover_label_ = new QLabel(this);
  hover_label_->setToolTip(tr("The head under the mouse."));
  layout->addWidget(hover_label_);

  const int sort_index = sort_box_->findData(settings.value(kSettingSort, int(AtlasSortKey::LayerHead)).toInt());
  sort_box_->setCurrentIndex(std::max(0, sort_index));
  order_button_->setChecked(settings.value(kSettingDescending, true).toBool());
  applySortFromBoxes();
  connect(sort_box_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] {
    applySortFromBoxes();
    QSettings().setValue(kSettingSort, sort_box_->currentData().toInt());
  });
  connect(order_button_, &QToolButton::toggled, this, [this](bool on) {
    applySortFromBoxes();
    QSettings().setValue(kSettingDescending, on);
  });
  connect(role_box_, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] {
    model_.setRoleFilter(role_box_->currentData().toString());
    refreshCanvas();
  });

  software_action_ = new QAction(tr("Head Atlas: software rendering"), this);
  software_action_->setCheckable(true);
  software_action_->setChecked(software_);
  software_action_->setToolTip(tr("Draw the Head Atlas with QPainter instead of OpenGL (for machines whose OpenGL "
                                  "driver is broken or slow)."));
  connect(software_action_, &QAction::toggled, this, &HeadAtlasView::setSoftwareRendering);

  setToolTip(tr("Every attention head of the model at once: one small attention map per layer (row) and head "
                "(column). Bright cells are where a query looks; grey cells are future tokens it may not see. "
                "Hover for a head's statistics, click to open it in the attention map, arrow keys to move."));
  model_.setSnapshot(nullptr);
  buildCanvas();
}

QWidget* HeadAtlasView::canvas() const {
  if (gl_) return gl_;
  return painter_;
}

void HeadAtlasView::buildCanvas() {
  if (gl_) {
    stack_->removeWidget(gl_);
    gl_->deleteLater();
    gl_ = nullptr;
  }
  if (painter_) {
    stack_->removeWidget(painter_);
    painter_->deleteLater();
    painter_ = nullptr;
  }
  if (!software_ && gl_problem_.isEmpty()) {
    QString why;
    if (probe_(&why)) {
      gl_ = new HeadAtlasGlCanvas(&model_, this);
      connect(gl_, &HeadAtlasGlCanvas::headClicked, this, &HeadAtlasView::onHeadClicked);
      connect(gl_, &HeadAtlasGlCanvas::hoverChanged, this, &HeadAtlasView::onHover);
      connect(gl_, &HeadAtlasGlCanvas::glFailed, this, &HeadAtlasView::reportGlFailure);
    } else {
      gl_problem_ = why.isEmpty() ? tr("OpenGL is not available") : why;
    }
  }
  QWidget* canvas = gl_;
  if (!gl_) {
    painter_ = new HeadAtlasPainterCanvas(&model_, this);
    connect(painter_, &HeadAtlasPainterCanvas::headClicked, this, &HeadAtlasView::onHeadClicked);
    connect(painter_, &HeadAtlasPainterCanvas::hoverChanged, this, &HeadAtlasView::onHover);
    canvas = painter_;
  }
  canvas->setToolTip(toolTip());
  stack_->addWidget(canvas);
  stack_->setCurrentWidget(canvas);
  if (gl_) {
    renderer_label_->setText(tr("OpenGL"));
    renderer_label_->setToolTip(tr("Drawn on the GPU with Dear ImGui."));
  } else {
    renderer_label_->setText(tr("software"));
    renderer_label_->setToolTip(software_ ? tr("Drawn with QPainter: software rendering is on (View menu).")
                                          : tr("Drawn with QPainter because OpenGL failed: %1.").arg(gl_problem_));
  }
  onHover(-1);
}

void HeadAtlasView::setSoftwareRendering(bool on) {
  QSettings().setValue(kSettingSoftware, on);
  if (software_action_->isChecked() != on) {
    const QSignalBlocker block(software_action_);
    software_action_->setChecked(on);
  }
  if (on == software_) return;
  software_ = on;
  buildCanvas();
}

void HeadAtlasView::reportGlFailure(const QString& reason) {
  qWarning("Head Atlas: OpenGL failed (%s); drawing with QPainter", qPrintable(reason));
  gl_problem_ = reason.isEmpty() ? tr("OpenGL failed") : reason;
  buildCanvas();
}

void HeadAtlasView::setSnapshot(std::shared_ptr<const ProbeSnapshot> snapshot) {
  model_.setSnapshot(std::move(snapshot));
  syncRoleBox();
  refreshCanvas();
}

void HeadAtlasView::syncRoleBox() {
  QStringList wanted = model_.roles();
  const QString current = model_.roleFilter();
  if (!current.isEmpty() && !wanted.contains(current)) wanted << current;  // keep the user's choice visible
  QStringList have;
  for (int i = 1; i < role_box_->count(); ++i) have << role_box_->itemData(i).toString();
  if (have == wanted) return;
  const QSignalBlocker block(role_box_);
  while (role_box_->count() > 1) role_box_->removeItem(1);
  for (const QString& role : wanted) role_box_->addItem(role, role);
  role_box_->setCurrentIndex(std::max(0, role_box_->findData(current)));
}

void HeadAtlasView::refreshCanvas() {
  if (gl_) gl_->refresh();
  if (painter_) painter_->refresh();
}

void HeadAtlasView::setRoleFilter(const QString& role) {
  model_.setRoleFilter(role);
  syncRoleBox();
  const QSignalBlocker block(role_box_);
  role_box_->setCurrentIndex(std::max(0, role_box_->findData(role)));
  refreshCanvas();
}

void HeadAtlasView::setSort(AtlasSortKey key, bool descending) {
  {
    const QSignalBlocker b1(sort_box_), b2(order_button_);
    sort_box_->setCurrentIndex(std::max(0, sort_box_->findData(int(key))));
    order_button_->setChecked(descending);
  }
  applySortFromBoxes();
}

void HeadAtlasView::applySortFromBoxes() {
  const bool descending = order_button_->isChecked();
  order_button_->setText(descending ? QStringLiteral("\u2193") : QStringLiteral("\u2191"));
  model_.setSort(AtlasSortKey(sort_box_->currentData().toInt()), descending);
  refreshCanvas();
}

void HeadAtlasView::setSelectedHead(int layer, int head) {
  if (layer < 0 || head < 0 || layer >= model_.layers() || head >= model_.heads()) return;
  model_.setSelected(model_.indexOf(layer, head));
  refreshCanvas();
}

void HeadAtlasView::onHeadClicked(int index) {
  model_.setSelected(index);
  refreshCanvas();
  if (model_.selected() >= 0) emit headSelected(model_.layerOf(index), model_.headOf(index));
}

void HeadAtlasView::onHover(int index) {
  hover_label_->setText(index >= 0 ? model_.hoverText(index).replace('\n', QStringLiteral(";  ")) : QString());
}

QString HeadAtlasView::hoverText() const { return hover_label_->text(); }

void HeadAtlasView::keyPressEvent(QKeyEvent* event) {
  if (model_.order().empty()) return QWidget::keyPressEvent(event);
  const int current = model_.selected() >= 0 ? model_.selected() : model_.order().front();
  int next = -1;
  switch (event->key()) {
    case Qt::Key_Left: next = model_.neighbour(current, -1, 0); break;
    case Qt::Key_Right: next = model_.neighbour(current, 1, 0); break;
    case Qt::Key_Up: next = model_.neighbour(current, 0, -1); break;
    case Qt::Key_Down: next = model_.neighbour(current, 0, 1); break;
    case Qt::Key_Home: next = model_.order().front(); break;
    case Qt::Key_End: next = model_.order().back(); break;
    case Qt::Key_Return:
    case Qt::Key_Enter: next = current; break;
    default: return QWidget::keyPressEvent(event);
  }
  onHeadClicked(next);
}

}  // namespace headlab
