#include "title_wrap.h"

#include <QStringList>

namespace headlab {

QString wrapTitleAtGaps(const QString& text, const QFontMetricsF& metrics, double width) {
  const QString gap = QStringLiteral("  ");
  QStringList out;
  for (const QString& line : text.split('\n')) {
    if (metrics.horizontalAdvance(line) <= width) {
      out << line;
      continue;
    }
    QString current;
    for (const QString& part : line.split(gap, Qt::SkipEmptyParts)) {
      const QString joined = current.isEmpty() ? part : current + gap + part;
      if (current.isEmpty() || metrics.horizontalAdvance(joined) <= width) {
        current = joined;
      } else {
        out << current;
        current = part;
      }
    }
    out << current;
  }
  return out.join('\n');
}

}  // namespace headlab
