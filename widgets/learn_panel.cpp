#include "learn_panel.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSettings>
#include <QSplitter>
#include <QTextBrowser>
#include <QVBoxLayout>

#include "guided_tours.h"

namespace headlab {

QString LearnPanel::explanationHtml() {
  // Accurate to MODEL.md: keep it in step with the spec when the model changes.
  return tr(
      "<h3>The ideas</h3>"
      "<p><b>Attention heads.</b> In every layer each head compares the current token's query with the keys of "
      "that token and all earlier ones, turns the scores into weights that sum to 1 (the attention pattern) and adds up the "
      "earlier tokens' values with those weights. Heads work side by side and, in plain multi-head attention, "
      "never see each other's features.</p>"
      "<p><b>Knocking heads (KHA)</b> lets the heads of a layer share what they compute: small head_dim "
      "&times; head_dim matrices, one each for queries, keys and values (T<sub>q</sub>, T<sub>k</sub>, "
      "T<sub>v</sub>; for values optionally a small gated MLP), shared by every head of the layer, transform "
      "each head's features. The matrices "
      "start as the identity, so adding KHA does not change what the model computes until training moves "
      "them. The linear version can later be folded into the projection weights at no cost.</p>"
      "<p><b>Multi-head explicit attention (MEA)</b> mixes along the other axis: each key and value head "
      "becomes a learned weighted sum of all key or value heads (mix<sub>k</sub>, mix<sub>v</sub>, starting "
      "as the identity; queries are never mixed), and a per-head group norm rescales each head's output. The "
      "mixing also allows <i>virtual heads</i>: storing fewer key/value heads and rebuilding the rest.</p>"
      "<p><b>Talking heads</b> mixes the heads' attention scores before the softmax and their weights after "
      "it, with two heads &times; heads matrices.</p>"
      "<p><b>Induction heads</b> complete patterns: having seen <i>&hellip; A B &hellip;</i>, when A appears "
      "again they attend to the token that followed it last time (B) and copy it. They need two layers: a "
      "<i>previous-token</i> head in an earlier layer marks each token with the one before it, and the "
      "induction head in a later layer searches for that mark. Their sudden appearance shows up as a sharp "
      "drop of the loss on repeated text.</p>"
      "<h3>The views</h3>"
      "<p><b>Loss chart</b> (centre): the training loss per step (faint: raw, bold: smoothed), the validation "
      "loss as dots, vertical lines for events (module switched, learning rate changed, loss spike, checkpoint) "
      "and finished runs overlaid for comparison. Lower is better; a gap between train and validation loss "
      "means memorising.</p>"
      "<p><b>Attention map:</b> one head's attention pattern on the probe text; row = the token that looks, "
      "column = the token looked at. A diagonal just below the main one is a previous-token head, a stripe "
      "further back on repeated text an induction head, a bright first column a sink.</p>"
      "<p><b>Cross-head matrices:</b> the KHA, MEA and talking-heads matrices of a layer. They start as the "
      "identity; with <i>minus identity</i> on you see only what training changed. Off-diagonal colour means "
      "heads exchange information.</p>"
      "<p><b>Modules:</b> every layer &times; module, its state (active, frozen, bypassed, absent) and how "
      "much the probe loss rises when only that module is bypassed: a large number means the model relies on "
      "it. Switch modules while training runs and watch the loss react.</p>"
      "<p><b>Heads</b> (and the head atlas): per-head statistics over training (induction, previous-token, "
      "sink, entropy), how similar the heads of a layer attend, the role each head plays now, how much the "
      "loss rises when one head is zeroed, and how a layer shares a job among its heads.</p>"
      "<p><b>Compare:</b> several versions of the same experiment, differing only in their interaction "
      "modules, each trained on several seeds; runs with the same seed see the same batches, so the "
      "difference in loss is the modules' doing. The table says whether that difference is larger than the "
      "seed-to-seed noise (<i>lower</i>, <i>higher</i>) or not (<i>within noise</i>).</p>"
      "<p><b>Train from this model</b> (File menu): continue from the weights of an opened model with the "
      "experiment form's data and settings, e.g. to see how an induction model adapts to text.</p>"
      "<p><b>Sample:</b> the model continues a prompt; each token is coloured by the probability the model "
      "gave it. Confident green runs on a repeat are induction at work.</p>");
}

LearnPanel::LearnPanel(QWidget* parent) : QWidget(parent) {
  setToolTip(tr("What each view shows and what the modules do, with guided experiments to try."));
  auto* layout = new QVBoxLayout(this);
  auto* buttons = new QHBoxLayout;
  for (const GuidedTour& tour : guidedTours()) {
    auto* button = new QPushButton(tour.title, this);
    button->setObjectName(tour.id);
    button->setToolTip(tour.compare.isEmpty()
                           ? tr("Loads the preset %1 and starts training it, then tells you what to watch.").arg(tour.preset)
                           : tr("Loads the preset %1 and compares %2 on it, then tells you what to look for.")
                                 .arg(tour.preset, tour.compare.join(tr(" vs "))));
    connect(button, &QPushButton::clicked, this, [this, id = tour.id] { startTour(id); });
    buttons->addWidget(button);
  }
  buttons->addStretch(1);
  layout->addLayout(buttons);

  watch_ = new QTextBrowser(this);
  watch_->setToolTip(tr("What to watch in the guided experiment you started."));
  text_ = new QTextBrowser(this);
  text_->setHtml(explanationHtml());
  text_->setToolTip(tr("A short guide to the views and the ideas behind them."));
  auto* split = new QSplitter(Qt::Vertical, this);
  split->addWidget(watch_);
  split->addWidget(text_);
  split->setStretchFactor(0, 1);
  split->setStretchFactor(1, 2);
  layout->addWidget(split, 1);
  // The last tour's guidance comes back with the window, so its advice is still there.
  showTour(findGuidedTour(QSettings().value("learn/lastTour").toString()));
}

bool LearnPanel::startTour(const QString& id) {
  const GuidedTour* tour = findGuidedTour(id);
  if (!tour) return false;
  active_tour_ = id;
  QSettings().setValue("learn/lastTour", id);
  showTour(tour);
  if (tour->compare.isEmpty()) emit presetTourRequested(tour->preset);
  else emit compareTourRequested(tour->preset, tour->compare);
  return true;
}

void LearnPanel::showTour(const GuidedTour* tour) {
  if (tour) {
    watch_->setHtml(tour->watch);
    return;
  }
  watch_->setHtml(tr("<p>Pick a guided experiment above: it loads a preset, starts it and tells you what to watch. "
                     "Or read on below for what every view shows.</p>"));
}

QPushButton* LearnPanel::tourButton(const QString& id) const { return findChild<QPushButton*>(id); }

}  // namespace headlab
