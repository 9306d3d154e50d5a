#pragma once
// "Export all figures": every view of a run in one go, from the views as the user set them
// up (smoothing, log-y, minus identity...). Used by the Export menu and by
// `headlab --export-figures`. Files in `dir` (created when missing), one per format:
//   loss.EXT                      the loss chart with its event markers
//   attention_layerL_headH.EXT    every layer and head of the probe
//   matrices_layerL.EXT           the cross-head matrices of each layer that has modules
// The views' selection (layer, head) is restored afterwards.
#include <QList>
#include <QString>
#include <QStringList>
#include <functional>
#include <vector>

#include "figure_export.h"

namespace headlab {

class AttentionMapView;
class LossChart;
class MatrixView;
class HeadsView;

struct FigureViews {
  LossChart* loss = nullptr;            // skipped when null or without points
  AttentionMapView* attention = nullptr;  // skipped when null or without a probe
  MatrixView* matrices = nullptr;       // skipped when null or without module matrices
  HeadsView* heads = nullptr;           // skipped when null or without probe history
};

// The figures of "Export all" as a list of steps, one figure (in every format) each, so a
// front end can run them one per event-loop turn with a progress bar and a Cancel button
// instead of freezing the window for the whole set. The views are painted by the GUI
// thread (QCustomPlot is a widget), so the steps run there too. finish() restores the views'
// selection; a plan dropped without it touches no view (they may be gone: a closed window).
class FigureSetPlan {
 public:
  FigureSetPlan(const FigureViews& views, const QString& dir, const QList<FigureFormat>& formats,
                const ExportOptions& options);
  FigureSetPlan(const FigureSetPlan&) = delete;
  FigureSetPlan& operator=(const FigureSetPlan&) = delete;

  int count() const { return static_cast<int>(steps_.size()); }
  QString stem(int step) const { return steps_.at(size_t(step)).stem; }  // "attention_layer0_head1"
  // Writes figure `step` in every format; false with *error on a failure.
  bool run(int step, QString* error);
  // The GUI-thread half of run(): figure `step` painted in every format, with the path each
  // goes to (the folder created). Write them with writeRenderedFigure (any thread) and report
  // each written file with noteWritten. Empty with *error on a failure.
  struct Pending {
    QString path;
    RenderedFigure figure;
  };
  std::vector<Pending> render(int step, QString* error);
  void noteWritten(const QString& path) { written_ << path; }
  const QStringList& written() const { return written_; }
  void finish();  // the views back as the user left them

 private:
  struct Step {
    QString stem, title;
    std::function<QCustomPlot*()> select;  // sets the view up, returns the plot to paint
  };
  FigureViews views_;
  QString dir_;
  QList<FigureFormat> formats_;
  ExportOptions options_;
  std::vector<Step> steps_;
  QStringList written_;
  std::function<void()> restore_;
};

// Runs a whole plan at once (the headless export and tests). Returns the files written, in
// order. On the first failure stops, sets *error and returns what was written so far.
QStringList exportAllFigures(const FigureViews& views, const QString& dir, const QList<FigureFormat>& formats,
                             const ExportOptions& options, QString* error = nullptr);

QString figureFormatSuffix(FigureFormat format);  // "png", "svg", "pdf"
// "png,svg" -> {Png, Svg}; an unknown name sets *error and returns {}.
QList<FigureFormat> parseFigureFormats(const QString& list, QString* error = nullptr);

}  // namespace headlab
