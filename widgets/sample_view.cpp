#include "sample_view.h"

#include <QAbstractTextDocumentLayout>
#include <QDoubleSpinBox>
#include <QEvent>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QHelpEvent>
#include <QLabel>
#include <QLineEdit>
#include <QPainter>
#include <QPushButton>
#include <QScrollBar>
#include <QSettings>
#include <QSpinBox>
#include <QTextBlock>
#include <QTextBrowser>
#include <QTextCursor>
#include <QToolTip>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

namespace headlab {
namespace {

QColor mix(const QColor& a, const QColor& b, double t) {
  return QColor::fromRgbF(float(a.redF() + (b.redF() - a.redF()) * t), float(a.greenF() + (b.greenF() - a.greenF()) * t),
                          float(a.blueF() + (b.blueF() - a.blueF()) * t));
}

// Light colours, so black text stays readable on every one of them.
const QColor kLow(244, 165, 130), kMid(254, 235, 160), kHigh(166, 217, 150);

}  // namespace

QColor SampleView::colorForProbability(double p) {
  p = std::clamp(std::isnan(p) ? 0.0 : p, 0.0, 1.0);
  return p < 0.5 ? mix(kLow, kMid, p / 0.5) : mix(kMid, kHigh, (p - 0.5) / 0.5);
}

SampleView::SampleView(QWidget* parent) : QWidget(parent) {
  setToolTip(tr("Let the model write: it continues the prompt one token at a time. Each generated token is "
                "coloured by the probability the model gave it; hover a token to read it."));
  auto* layout = new QVBoxLayout(this);
  prompt_edit_ = new QLineEdit(this);
  prompt_edit_->setPlaceholderText(tr("prompt, e.g. the first half of a repeated sequence"));
  prompt_edit_->setToolTip(tr("The text the model continues. It must use characters the model's tokenizer knows "
                              "(for a synthetic task: its symbols). Press Return to generate."));
  layout->addWidget(prompt_edit_);

  auto* options = new QHBoxLayout;
  temperature_box_ = new QDoubleSpinBox(this);
  temperature_box_->setRange(0.0, 5.0);
  temperature_box_->setSingleStep(0.1);
  temperature_box_->setDecimals(2);
  temperature_box_->setToolTip(tr("Temperature: 1 samples from the model's distribution, lower is more "
                                  "predictable, 0 always picks the most likely token."));
  top_k_box_ = new QSpinBox(this);
  top_k_box_->setRange(0, 100000);
  top_k_box_->setSpecialValueText(tr("all"));
  top_k_box_->setToolTip(tr("Top-k: sample only among the k most likely tokens (all: the whole vocabulary)."));
  seed_box_ = new QSpinBox(this);
  seed_box_->setRange(0, 1000000000);
  seed_box_->setToolTip(tr("Seed of the random choices: the same seed, prompt and model give the same text."));
  max_tokens_box_ = new QSpinBox(this);
  max_tokens_box_->setRange(1, 2000);
  max_tokens_box_->setToolTip(tr("How many tokens to generate."));
  for (auto [label, box] : {std::pair<QString, QWidget*>{tr("temperature"), temperature_box_},
                            {tr("top-k"), top_k_box_}, {tr("seed"), seed_box_}, {tr("tokens"), max_tokens_box_}}) {
    options->addWidget(new QLabel(label, this));
    options->addWidget(box);
  }
  generate_button_ = new QPushButton(tr("Generate"), this);
  generate_button_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_G));
  options->addWidget(generate_button_);
  options->addStretch(1);
  layout->addLayout(options);

  output_ = new QTextBrowser(this);
  output_->setToolTip(QString());  // token tooltips come from eventFilter
  // Fixed width and a little larger: every token is a box of its own, easy to hover.
  QFont mono = QFontDatabase::systemFont(QFontDatabase::FixedFont);
  mono.setPointSizeF(mono.pointSizeF() * 1.25);
  output_->setFont(mono);
  output_->viewport()->installEventFilter(this);
  layout->addWidget(output_, 1);

  auto* bottom = new QHBoxLayout;
  status_ = new QLabel(this);
  status_->setWordWrap(true);
  bottom->addWidget(status_, 1);
  bottom->addWidget(buildLegend());
  layout->addLayout(bottom);

  QSettings settings;
  prompt_edit_->setText(settings.value("sample/prompt").toString());
  temperature_box_->setValue(settings.value("sample/temperature", 1.0).toDouble());
  top_k_box_->setValue(settings.value("sample/topK", 0).toInt());
  seed_box_->setValue(settings.value("sample/seed", 1).toInt());
  max_tokens_box_->setValue(settings.value("sample/maxTokens", 60).toInt());

  connect(generate_button_, &QPushButton::clicked, this, &SampleView::requestSample);
  connect(prompt_edit_, &QLineEdit::returnPressed, this, &SampleView::requestSample);
  setAvailable(false);
}

QWidget* SampleView::buildLegend() {
  // A strip of the colour scale with its ends labelled, drawn once.
  QPixmap strip(120, 14);
  QPainter painter(&strip);
  for (int x = 0; x < strip.width(); ++x) {
    painter.setPen(colorForProbability(double(x) / (strip.width() - 1)));
    painter.drawLine(x, 0, x, strip.height());
  }
  painter.end();
  auto* legend = new QWidget(this);
  auto* row = new QHBoxLayout(legend);
  row->setContentsMargins(0, 0, 0, 0);
  auto* bar = new QLabel(legend);
  bar->setPixmap(strip);
  row->addWidget(new QLabel(tr("p = 0"), legend));
  row->addWidget(bar);
  row->addWidget(new QLabel(tr("1"), legend));
  legend->setToolTip(tr("Background colour of a token: the probability the model gave it before it was drawn "
                        "(at temperature 1, over the whole vocabulary)."));
  return legend;
}

void SampleView::setAvailable(bool available) {
  available_ = available;
  generate_button_->setEnabled(available);
  if (!available) status_->setText(tr("Start a training run or open a model to sample from it."));
  else if (shown_id_ == 0) status_->clear();
}

session::Command SampleView::currentCommand() const {
  session::Command::SampleRequest r;
  r.id = next_id_;
  r.max_tokens = max_tokens_box_->value();
  r.temperature = temperature_box_->value();
  r.top_k = top_k_box_->value();
  r.seed = uint64_t(seed_box_->value());
  return session::Command::sample_text(prompt_edit_->text().toStdString(), r);
}

void SampleView::requestSample() {
  if (!available_) return;
  if (prompt_edit_->text().isEmpty()) {
    status_->setText(tr("Type a prompt first: the model needs at least one token to continue."));
    return;
  }
  const session::Command command = currentCommand();
  ++next_id_;
  saveSettings();
  status_->setText(tr("Generating..."));
  emit sampleRequested(command);
}

void SampleView::saveSettings() const {
  QSettings settings;
  settings.setValue("sample/prompt", prompt_edit_->text());
  settings.setValue("sample/temperature", temperature_box_->value());
  settings.setValue("sample/topK", top_k_box_->value());
  settings.setValue("sample/seed", seed_box_->value());
  settings.setValue("sample/maxTokens", max_tokens_box_->value());
}

void SampleView::setResult(const session::SampleResult& result) {
  if (result.request_id == shown_id_) return;
  shown_id_ = result.request_id;
  token_spans_.clear();
  output_->clear();
  if (!result.error.empty()) {
    status_->setText(tr("Cannot sample: %1").arg(QString::fromStdString(result.error)));
    return;
  }
  QTextCursor cursor(output_->document());
  QTextCharFormat prompt_format;
  prompt_format.setFontWeight(QFont::Bold);
  prompt_format.setToolTip(tr("your prompt"));
  cursor.insertText(QString::fromStdString(result.prompt), prompt_format);
  const size_t n = std::min(result.tokens.size(), result.probabilities.size());
  double total = 0;
  for (size_t i = 0; i < n; ++i) {
    const double p = result.probabilities[i];
    QTextCharFormat format;
    format.setBackground(colorForProbability(p));
    format.setForeground(Qt::black);
    format.setToolTip(tr("token %1: p = %2").arg(i + 1).arg(p, 0, 'f', 4));
    const int start = cursor.position();
    cursor.insertText(QString::fromStdString(result.tokens[i]), format);
    token_spans_.emplace_back(start, cursor.position());
    total += p;
  }
  status_->setText(tr("%1 tokens from the model at step %2; mean probability %3")
                       .arg(n)
                       .arg(result.step)
                       .arg(n ? total / double(n) : 0.0, 0, 'f', 3));
}

int SampleView::tokenCount() const { return int(token_spans_.size()); }

namespace {
// The character format inside [start, end) of the document.
QTextCharFormat formatAt(QTextDocument* doc, int start) {
  QTextCursor c(doc);
  c.setPosition(start);
  c.setPosition(start + 1, QTextCursor::KeepAnchor);  // charFormat() of a selection: its last char's
  return c.charFormat();
}
}  // namespace

QString SampleView::tokenText(int index) const {
  const auto [start, end] = token_spans_.at(size_t(index));
  QTextCursor c(output_->document());
  c.setPosition(start);
  c.setPosition(end, QTextCursor::KeepAnchor);
  return c.selectedText();
}

QColor SampleView::tokenBackground(int index) const {
  return formatAt(output_->document(), token_spans_.at(size_t(index)).first).background().color();
}

QString SampleView::tokenToolTip(int index) const {
  return formatAt(output_->document(), token_spans_.at(size_t(index)).first).toolTip();
}

QString SampleView::outputText() const { return output_->toPlainText(); }

bool SampleView::eventFilter(QObject* watched, QEvent* event) {
  if (watched == output_->viewport() && event->type() == QEvent::ToolTip) {
    // QTextBrowser does not show a character format's tooltip by itself.
    auto* help = static_cast<QHelpEvent*>(event);
    const int pos = output_->document()->documentLayout()->hitTest(
        help->pos() + QPoint(output_->horizontalScrollBar()->value(), output_->verticalScrollBar()->value()),
        Qt::ExactHit);
    const QString tip = pos >= 0 ? formatAt(output_->document(), pos).toolTip() : QString();
    if (tip.isEmpty()) QToolTip::hideText();
    else QToolTip::showText(help->globalPos(), tip, output_->viewport());
    return true;
  }
  return QWidget::eventFilter(watched, event);
}

}  // namespace headlab
