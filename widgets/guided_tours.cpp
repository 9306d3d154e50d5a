#include "guided_tours.h"

#include <QObject>

namespace headlab {

const std::vector<GuidedTour>& guidedTours() {
  static const std::vector<GuidedTour> tours{
      {"induction", QObject::tr("Watch induction heads form"), "induction-kha", {},
       QObject::tr(
           "<p><b>Watch induction heads form.</b> A 2-layer model with knocking heads trains on sequences "
           "whose second half repeats the first (a segment of distinct symbols). The loss is measured on the "
           "repeat only, so it starts near ln&nbsp;24 &asymp; 3.2 (a guess among 24 symbols) and can only fall "
           "far below that by copying.</p>"
           "<ol><li><b>Loss chart:</b> after a quick first drop the loss sits on a plateau (about 2.6 to 3.1) "
           "for two hundred steps, then falls steeply: that is the moment the copying circuit works. (In our "
           "CPU runs of this preset, seed 1234: validation loss 2.60 at step 200, 0.38 at step 300, 0.15 at "
           "step 400.)</li>"
           "<li><b>Heads</b> (statistic <i>induction</i>, layer 1, already selected): during that fall the "
           "induction scores of layer-1 heads climb past 0.5 (in our runs by step 400, then about 0.85) and the "
           "role table calls them <i>induction</i> heads.</li>"
           "<li>Switch the Heads view to <i>previous-token</i> and <i>max over heads, per layer</i>: layer 0's "
           "previous-token score rises at the same time, to about 0.4, then sharpens slowly while training goes "
           "on: one head passes 0.5 around step 1000-1800 (the preset keeps the learning rate constant for that "
           "reason). The job shares under the role table show how much of it the best 2 or 3 heads do together. "
           "The layer-1 induction heads build on it, which is why they need two layers.</li>"
           "<li><b>Attention map:</b> pick a layer-1 induction head: a stripe parallel to the diagonal, about "
           "one period back, on the token after each earlier occurrence.</li></ol>"),
       HeadStatistic::Induction, 1},
      {"knocking", QObject::tr("Does knocking help?"), "grammar-kha-vs-mha", {"baseline", "kha-linear"},
       QObject::tr(
           "<p><b>Does knocking help?</b> Two copies of the same 3-layer model learn English-like text from a "
           "small grammar with the same seed and the same batches: plain multi-head attention (<i>baseline</i>) "
           "and the same model with linear knocking heads (<i>kha-linear</i>). They differ only in the KHA "
           "matrices, which start as the identity, so both begin with the same loss.</p>"
           "<ol><li><b>Compare</b> shows the progress (each variant on the Seeds you chose, 3 by default: on a "
           "CPU this takes a while. Cancel stops it; for a shorter rerun lower the steps in the experiment form "
           "and press Start comparison). The Compare dock's chart draws each variant's mean curve over its "
           "seeds with a band, and the table lists the final validation loss with its 95% interval.</li>"
           "<li>The <i>verdict</i> column says whether kha-linear's difference to the baseline is larger than "
           "the noise between seeds: <i>lower</i> means the heads profited from sharing features; <i>within "
           "noise</i> means these seeds cannot tell, and more seeds would.</li>"
           "<li>The table also shows the price: KHA adds three head_dim &times; head_dim matrices per layer.</li>"
           "</ol>"),
       HeadStatistic::Induction, -1},
  };
  return tours;
}

const GuidedTour* findGuidedTour(const QString& id) {
  for (const GuidedTour& t : guidedTours())
    if (t.id == id) return &t;
  return nullptr;
}

}  // namespace headlab
