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

// Returns the files written, in order. On the first failure stops, sets *error and returns
// what was written so far.
QStringList exportAllFigures(const FigureViews& views, const QString& dir, const QList<FigureFormat>& formats,
                             const ExportOptions& options, QString* error = nullptr);

QString figureFormatSuffix(FigureFormat format);  // "png", "svg", "pdf"
// "png,svg" -> {Png, Svg}; an unknown name sets *error and returns {}.
QList<FigureFormat> parseFigureFormats(const QString& list, QString* error = nullptr);

}  // namespace headlab
