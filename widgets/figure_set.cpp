#include "figure_set.h"

#include "head_history.h"
#include "heads_view.h"

#include <QDir>

#include "attention_map_view.h"
#include "loss_chart.h"
#include "matrix_view.h"

namespace headlab {

QString figureFormatSuffix(FigureFormat format) {
  switch (format) {
    case FigureFormat::Png: return QStringLiteral("png");
    case FigureFormat::Svg: return QStringLiteral("svg");
    case FigureFormat::Pdf: return QStringLiteral("pdf");
  }
  return {};
}

QList<FigureFormat> parseFigureFormats(const QString& list, QString* error) {
  QList<FigureFormat> formats;
  for (const QString& name : list.split(',', Qt::SkipEmptyParts)) {
    const auto format = figureFormatForPath(QStringLiteral("x.") + name.trimmed());
    if (!format) {
      if (error) *error = QObject::tr("unknown figure format '%1' (use png, svg, pdf)").arg(name.trimmed());
      return {};
    }
    if (!formats.contains(*format)) formats << *format;
  }
  if (formats.isEmpty() && error) *error = QObject::tr("no figure format given (use png, svg, pdf)");
  return formats;
}

QStringList exportAllFigures(const FigureViews& views, const QString& dir, const QList<FigureFormat>& formats,
                             const ExportOptions& options, QString* error) {
  QStringList written;
  if (!QDir().mkpath(dir)) {
    if (error) *error = QObject::tr("cannot create folder %1").arg(dir);
    return written;
  }
  const QDir out(dir);
  // Writes one figure in every format; false on the first failure.
  auto write = [&](QCustomPlot* plot, const QString& stem, const QString& title) {
    ExportOptions o = options;
    o.title = title;
    for (FigureFormat format : formats) {
      const QString path = out.filePath(stem + '.' + figureFormatSuffix(format));
      if (!exportFigure(plot, path, format, o, error)) return false;
      written << path;
    }
    return true;
  };

  if (views.loss && !views.loss->metrics().empty())
    if (!write(views.loss->plot(), QStringLiteral("loss"), QObject::tr("Loss")))
      return written;

  if (AttentionMapView* att = views.attention; att && att->snapshot() && att->snapshot()->seq_len > 0) {
    const auto snap = att->snapshot();
    const int layer = att->layer(), head = att->head();
    bool ok = true;
    for (int l = 0; ok && l < snap->n_layers; ++l) {
      for (int h = 0; ok && h < snap->n_heads; ++h) {
        att->setLayerHead(l, h);
        ok = write(att->plot(), QStringLiteral("attention_layer%1_head%2").arg(l).arg(h),
                   QObject::tr("Attention, layer %1, head %2").arg(l).arg(h));
      }
    }
    att->setLayerHead(layer, head);
    if (!ok) return written;
  }

  if (MatrixView* mat = views.matrices; mat && mat->snapshot() && !mat->matrixKeys().isEmpty()) {
    const auto arrangement = mat->arrangement();
    const int layer = mat->layer();
    mat->setArrangement(MatrixView::Arrangement::ByLayer);
    bool ok = true;
    const int layers = mat->snapshot()->n_layers;
    for (int l = 0; ok && l < layers; ++l) {
      mat->setLayer(l);
      if (mat->panelCount() == 0) continue;  // a layer without modules
      ok = write(mat->plot(), QStringLiteral("matrices_layer%1").arg(l),
                 QObject::tr("Cross-head matrices, layer %1").arg(l));
    }
    mat->setLayer(layer);
    mat->setArrangement(arrangement);
    if (!ok) return written;
  }
  if (HeadsView* heads = views.heads; heads && heads->seriesCount() > 0) {
    // The statistic and layer the user picked: the view says which in its title.
    const QString stat = QString::fromStdString(statisticName(heads->statistic()));
    if (!write(heads->chart(), QStringLiteral("heads_%1").arg(stat), QObject::tr("Head %1 over training").arg(stat)))
      return written;
    if (!write(heads->similarityPlot(), QStringLiteral("head_similarity_layer%1").arg(heads->layer()),
               QObject::tr("Head similarity, layer %1").arg(heads->layer())))
      return written;
  }
  return written;
}

}  // namespace headlab
