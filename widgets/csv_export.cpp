#include "csv_export.h"

#include <QSaveFile>
#include <charconv>
#include <string>

namespace headlab {
namespace {

void appendNumber(std::string& out, double v) {
  char buf[64];
  // Shortest text that round-trips, in %g style: 0.0003 rather than 3e-04.
  const auto r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::general);
  out.append(buf, r.ptr);
}

void appendNumber(std::string& out, int64_t v) { out += std::to_string(v); }

}  // namespace

QString metricsToCsv(const std::vector<MetricPoint>& points) {
  std::string out = "step,tokens,elapsed_s,loss,lr,val_loss\n";
  out.reserve(out.size() + points.size() * 64);
  for (const MetricPoint& p : points) {
    appendNumber(out, p.step);
    out += ',';
    appendNumber(out, p.tokens);
    out += ',';
    appendNumber(out, p.elapsed_s);
    out += ',';
    appendNumber(out, p.loss);
    out += ',';
    appendNumber(out, p.lr);
    out += ',';
    if (p.val_loss) appendNumber(out, *p.val_loss);
    out += '\n';
  }
  return QString::fromStdString(out);
}

bool exportMetricsCsv(const std::vector<MetricPoint>& points, const QString& path,
                      QString* error) {
  QSaveFile file(path);
  if (!file.open(QIODevice::WriteOnly | QIODevice::Text)) {
    if (error) *error = QObject::tr("cannot write %1: %2").arg(path, file.errorString());
    return false;
  }
  const QByteArray bytes = metricsToCsv(points).toUtf8();
  if (file.write(bytes) != bytes.size() || !file.commit()) {
    if (error) *error = QObject::tr("cannot save %1: %2").arg(path, file.errorString());
    return false;
  }
  return true;
}

}  // namespace headlab
