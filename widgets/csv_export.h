#pragma once
// CSV of the metric series, for spreadsheets and pandas. Columns:
//   step,tokens,elapsed_s,loss,lr,val_loss
// val_loss is empty on steps without validation. Numbers use the shortest text that reads
// back to the same double, so nothing is lost to formatting.
#include <QString>
#include <vector>

#include "common/records.h"

namespace headlab {

QString metricsToCsv(const std::vector<MetricPoint>& points);

// Atomic write (QSaveFile). Returns false and sets *error on failure.
bool exportMetricsCsv(const std::vector<MetricPoint>& points, const QString& path,
                      QString* error = nullptr);

}  // namespace headlab
