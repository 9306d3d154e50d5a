#include "headless_export.h"

#include <QDir>
#include <filesystem>

#include "attention_map_view.h"
#include "common/errors.h"
#include "figure_set.h"
#include "io/run_directory.h"
#include "loss_chart.h"
#include "matrix_view.h"
#include "offline_probe.h"

namespace headlab::gui {

int exportRunFigures(const ExportFiguresRequest& request, std::ostream& out, std::ostream& err) {
  const std::filesystem::path run = request.run_dir.toStdString();
  if (!std::filesystem::exists(run / "config.json") || !std::filesystem::exists(run / "metrics.jsonl")) {
    err << "headlab: " << run.string() << " is not a run directory (no config.json or metrics.jsonl)\n";
    return 2;
  }
  LossChart chart;
  AttentionMapView attention;
  MatrixView matrices;
  try {
    chart.appendMetrics(io::RunDirectory::read_metrics(run));
    chart.appendEvents(io::RunDirectory::read_events(run));
    if (newestModelPath(run.string()).empty()) {
      err << "headlab: " << run.string() << " has no model or checkpoint: exporting the loss chart only\n";
    } else {
      const OfflineProbe probe = probeRunDirectory(run.string(), request.probe_text.toStdString());
      attention.setSnapshot(probe.snapshot);
      matrices.setSnapshot(probe.snapshot);
      out << "probed " << probe.model_path << " (" << probe.snapshot->n_layers << " layers x "
          << probe.snapshot->n_heads << " heads, " << probe.snapshot->seq_len << " tokens)\n";
    }
  } catch (const InputError& e) {
    err << "headlab: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    err << "headlab: cannot probe " << run.string() << ": " << e.what() << "\n";
    return 1;
  }
  QString error;
  const QStringList files = exportAllFigures({&chart, &attention, &matrices}, request.out_dir, request.formats,
                                             request.options, &error);
  for (const QString& f : files) out << "wrote " << QDir::toNativeSeparators(f).toStdString() << "\n";
  if (!error.isEmpty()) {
    err << "headlab: " << error.toStdString() << "\n";
    return 1;
  }
  out << files.size() << " figure files in " << request.out_dir.toStdString() << "\n";
  return 0;
}

}  // namespace headlab::gui
