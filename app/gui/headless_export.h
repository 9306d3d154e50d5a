#pragma once
// `headlab --export-figures RUN_DIR --out DIR [--format png,svg,pdf]`: every figure of a
// saved run, rendered without showing a window (works under QT_QPA_PLATFORM=offscreen).
// The loss chart comes from metrics.jsonl and events.jsonl, the attention maps and
// cross-head matrices from a probe of the run's newest model (offline_probe.h).
#include <QList>
#include <QString>
#include <QStringList>
#include <ostream>

#include "figure_export.h"

namespace headlab::gui {

struct ExportFiguresRequest {
  QString run_dir;
  QString out_dir;
  QList<FigureFormat> formats{FigureFormat::Png};
  ExportOptions options;
  QString probe_text;  // empty: the run's own probe input
};

// Writes the figures, prints one line per file to `out` and problems to `err`. Returns the
// process exit code: 0, 1 (failed to write) or 2 (bad input: not a run directory...).
int exportRunFigures(const ExportFiguresRequest& request, std::ostream& out, std::ostream& err);

}  // namespace headlab::gui
