#pragma once
// The comparison's summary table: one row per variant (at each sweep point) with the mean
// final validation loss over seeds and its confidence interval, the paired difference to the
// baseline with its interval, how many seeds agree on its sign, the verdict (coloured), spikes,
// speed and size. Every header explains its column; the copy is full-precision TSV with
// the intervals in columns of their own, ready for a spreadsheet.
#include <QColor>
#include <QString>
#include <QTableWidget>
#include <vector>

#include "run/compare.h"

namespace headlab {

class CompareTable : public QTableWidget {
  Q_OBJECT

 public:
  enum Column { ColVariant, ColSeeds, ColValLoss, ColDelta, ColSameSign, ColVerdict, ColSpikes, ColSpeed,
                ColParameters, kColumns };

  explicit CompareTable(QWidget* parent = nullptr);

  void setRows(const std::vector<run::VariantSummary>& rows);
  const std::vector<run::VariantSummary>& rows() const { return rows_; }

  // Tab-separated, header first, numbers at full precision (shortest exact form), intervals
  // split into low/high columns, empty cells where a value does not exist.
  QString tableText() const;

  // The verdict's colour: lower loss good, higher bad, within noise neutral (invalid: the
  // palette's text colour), too few seeds muted.
  static QColor verdictColor(stats::Verdict verdict);
  // "1.2345 [1.2001, 1.2690]", or just the mean without an interval; `signed_` adds "+".
  static QString estimateText(const stats::Estimate& e, int decimals, bool signed_ = false);

 private:
  std::vector<run::VariantSummary> rows_;
};

}  // namespace headlab
