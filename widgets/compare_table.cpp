#include "compare_table.h"

#include <QHeaderView>
#include <QLocale>
#include <QStringList>
#include <cmath>

namespace headlab {
namespace {

// Shortest text that reads back as the same double: full precision without noise digits.
QString exact(double v) { return std::isfinite(v) ? QString::number(v, 'g', QLocale::FloatingPointShortest) : QString(); }

// For tooltips: six significant digits, "-" when there is no value.
QString shown(double v) { return std::isfinite(v) ? QString::number(v, 'g', 6) : QStringLiteral("-"); }

QString fixed(double v, int decimals, bool signed_) {
  if (!std::isfinite(v)) return QStringLiteral("-");
  const QString text = QString::number(v, 'f', decimals);
  return signed_ && v > 0 ? '+' + text : text;
}

QTableWidgetItem* cell(const QString& text, double value, const QString& tip = {}) {
  auto* item = new QTableWidgetItem(text);
  item->setData(Qt::UserRole, value);
  item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
  if (!tip.isEmpty()) item->setToolTip(tip);
  return item;
}

QString verdictExplanation(stats::Verdict v) {
  switch (v) {
    case stats::Verdict::Lower:
      return QObject::tr("The whole 95% interval of the paired difference is below 0: on these seeds the variant "
                         "reaches a lower validation loss than the baseline.");
    case stats::Verdict::Higher:
      return QObject::tr("The whole 95% interval of the paired difference is above 0: on these seeds the variant "
                         "ends with a higher validation loss than the baseline.");
    case stats::Verdict::WithinNoise:
      return QObject::tr("The 95% interval of the difference contains 0: these seeds cannot tell the variant from "
                         "the baseline. More seeds narrow the interval.");
    case stats::Verdict::TooFewSeeds:
      break;
  }
  return QObject::tr("Fewer than 2 seeds paired with the baseline: no interval, no verdict. Raise Seeds.");
}

QString listOf(const std::vector<double>& values) {
  QStringList parts;
  for (double v : values) parts << QString::number(v, 'f', 4);
  return parts.join(", ");
}

}  // namespace

CompareTable::CompareTable(QWidget* parent) : QTableWidget(0, kColumns, parent) {
  const QStringList headers{tr("variant"),       tr("seeds"),   tr("val loss [95% CI]"),
                            tr("Δ vs baseline [95% CI]"), tr("same sign"), tr("verdict"),
                            tr("spikes (not in baseline)"), tr("tokens/s"), tr("parameters")};
  const QStringList tips{
      tr("The variant, plus @key=value for each swept setting. Hover a name for its run directories."),
      tr("How many seeds (runs) the row is over. Runs with the same seed see the same batches in every variant, "
         "so each seed pairs a variant's run with the baseline's."),
      tr("Final validation loss: the mean over seeds and, in brackets, the 95% confidence interval of that mean "
         "(Student t, so it is honest with few seeds). Lower is better."),
      tr("The variant's final validation loss minus the baseline's, seed by seed (at the same sweep point): the "
         "mean difference and its 95% interval. Negative means a lower loss than the baseline."),
      tr("Seeds whose own difference has the sign of the mean difference: 5/5 is a consistent effect, 3/5 a "
         "mixed one."),
      tr("lower / higher: the whole 95% interval of the difference lies below / above 0. within noise: it "
         "contains 0, so these seeds cannot tell the variant from the baseline. too few seeds: under 2 pairs."),
      tr("Loss spike episodes over all seeds; in brackets, those that the baseline's run with the same seed did "
         "not have at that step (spikes the variant brings)."),
      tr("Training speed in tokens per second, mean over seeds."),
      tr("Number of model parameters.")};
  setHorizontalHeaderLabels(headers);
  for (int c = 0; c < kColumns; ++c) horizontalHeaderItem(c)->setToolTip(tips[c]);
  setToolTip(tr("One row per variant: final validation loss over seeds, the paired difference to the baseline and "
                "the verdict, spikes, speed and size. Hover a column header for what it means."));
  setEditTriggers(QAbstractItemView::NoEditTriggers);
  setSelectionBehavior(QAbstractItemView::SelectRows);
  verticalHeader()->setVisible(false);
  horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
}

QColor CompareTable::verdictColor(stats::Verdict verdict) {
  switch (verdict) {
    case stats::Verdict::Lower: return {26, 152, 80};    // green: readable on light and dark
    case stats::Verdict::Higher: return {215, 48, 39};   // red
    case stats::Verdict::TooFewSeeds: return {128, 128, 128};
    case stats::Verdict::WithinNoise: break;
  }
  return {};  // neutral: the palette's own text colour
}

QString CompareTable::estimateText(const stats::Estimate& e, int decimals, bool signed_) {
  const QString mean = fixed(e.mean, decimals, signed_);
  if (!e.has_interval()) return mean;
  return QStringLiteral("%1 [%2, %3]").arg(mean, fixed(e.ci_low, decimals, signed_), fixed(e.ci_high, decimals, signed_));
}

void CompareTable::setRows(const std::vector<run::VariantSummary>& rows) {
  rows_ = rows;
  clearContents();
  setRowCount(int(rows.size()));
  for (int r = 0; r < int(rows.size()); ++r) {
    const run::VariantSummary& s = rows[size_t(r)];
    QStringList dirs;
    std::vector<double> finals;
    for (const auto& run : s.runs) {
      dirs << QString::fromStdString(run.run_dir);
      finals.push_back(run.final_val_loss);
    }
    auto* name = new QTableWidgetItem(QString::fromStdString(s.name));
    name->setToolTip(dirs.join('\n'));
    setItem(r, ColVariant, name);
    setItem(r, ColSeeds, cell(QString::number(s.runs.size()), double(s.runs.size())));
    const stats::Estimate& e = s.final_val_loss;
    setItem(r, ColValLoss,
            cell(estimateText(e, 4), e.mean,
                 tr("mean %1, sd %2 over %3 validated seeds\nper seed: %4")
                     .arg(shown(e.mean), shown(e.sd), QString::number(e.n), listOf(finals))));
    if (s.vs_baseline) {
      const stats::PairedComparison& c = *s.vs_baseline;
      setItem(r, ColDelta,
              cell(estimateText(c.difference, 4, true), c.difference.mean,
                   tr("minus %1, seed by seed: %2").arg(QString::fromStdString(s.baseline), listOf(c.differences))));
      setItem(r, ColSameSign,
              cell(QStringLiteral("%1/%2").arg(c.same_sign).arg(c.differences.size()), double(c.same_sign)));
      auto* verdict = new QTableWidgetItem(QString::fromStdString(stats::to_string(c.verdict)));
      const QColor color = verdictColor(c.verdict);
      if (color.isValid()) verdict->setForeground(color);
      verdict->setToolTip(verdictExplanation(c.verdict));
      setItem(r, ColVerdict, verdict);
    } else {
      // The baseline itself (or a row whose sweep point has no baseline): nothing to pair with.
      auto* none = new QTableWidgetItem(s.baseline.empty() ? tr("(baseline)") : QString());
      none->setForeground(QColor(128, 128, 128));
      setItem(r, ColDelta, none);
    }
    const QString spikes = s.vs_baseline ? QStringLiteral("%1 (%2)").arg(s.spikes).arg(s.spikes_not_in_baseline)
                                         : QString::number(s.spikes);
    setItem(r, ColSpikes, cell(spikes, double(s.spikes)));
    setItem(r, ColSpeed, cell(fixed(s.tokens_per_second, 0, false), s.tokens_per_second));
    setItem(r, ColParameters, cell(QString::number(s.parameters), double(s.parameters)));
  }
}

QString CompareTable::tableText() const {
  QStringList lines;
  lines << QStringList{"variant",  "seeds", "val loss mean", "val loss sd", "val loss ci low", "val loss ci high",
                       "baseline", "diff mean", "diff ci low", "diff ci high", "same sign", "verdict", "spikes",
                       "spikes not in baseline", "tokens/s", "parameters"}
               .join('\t');
  for (const auto& s : rows_) {
    const stats::Estimate& e = s.final_val_loss;
    QStringList cells{QString::fromStdString(s.name), QString::number(s.runs.size()), exact(e.mean), exact(e.sd),
                      exact(e.ci_low), exact(e.ci_high), QString::fromStdString(s.baseline)};
    if (s.vs_baseline) {
      const auto& c = *s.vs_baseline;
      cells << exact(c.difference.mean) << exact(c.difference.ci_low) << exact(c.difference.ci_high)
            << QStringLiteral("%1/%2").arg(c.same_sign).arg(c.differences.size())
            << QString::fromStdString(stats::to_string(c.verdict));
    } else {
      cells << QString() << QString() << QString() << QString() << QString();
    }
    cells << QString::number(s.spikes) << (s.vs_baseline ? QString::number(s.spikes_not_in_baseline) : QString())
          << exact(s.tokens_per_second) << QString::number(s.parameters);
    lines << cells.join('\t');
  }
  return lines.join('\n') + '\n';
}

}  // namespace headlab
