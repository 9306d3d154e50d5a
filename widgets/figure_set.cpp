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

FigureSetPlan::FigureSetPlan(const FigureViews& views, const QString& dir, const QList<FigureFormat>& formats,
                             const ExportOptions& options)
    : views_(views), dir_(dir), formats_(formats), options_(options) {
  std::vector<std::function<void()>> restores;
  if (views.loss && !views.loss->metrics().empty())
    steps_.push_back({QStringLiteral("loss"), QObject::tr("Loss"), [l = views.loss] { return l->plot(); }});

  if (AttentionMapView* att = views.attention; att && att->snapshot() && att->snapshot()->seq_len > 0) {
    const auto snap = att->snapshot();
    for (int l = 0; l < snap->n_layers; ++l)
      for (int h = 0; h < snap->n_heads; ++h)
        steps_.push_back({QStringLiteral("attention_layer%1_head%2").arg(l).arg(h),
                          QObject::tr("Attention, layer %1, head %2").arg(l).arg(h), [att, l, h] {
                            att->setLayerHead(l, h);
                            return att->plot();
                          }});
    restores.push_back([att, layer = att->layer(), head = att->head()] { att->setLayerHead(layer, head); });
  }

  if (MatrixView* mat = views.matrices; mat && mat->snapshot() && !mat->matrixKeys().isEmpty()) {
    const auto arrangement = mat->arrangement();
    const int layer = mat->layer();
    // Which layers have modules is known only by showing them: ask once, up front.
    mat->setArrangement(MatrixView::Arrangement::ByLayer);
    for (int l = 0; l < mat->snapshot()->n_layers; ++l) {
      mat->setLayer(l);
      if (mat->panelCount() == 0) continue;  // a layer without modules
      steps_.push_back({QStringLiteral("matrices_layer%1").arg(l), QObject::tr("Cross-head matrices, layer %1").arg(l),
                        [mat, l] {
                          mat->setArrangement(MatrixView::Arrangement::ByLayer);
                          mat->setLayer(l);
                          return mat->plot();
                        }});
    }
    mat->setLayer(layer);
    mat->setArrangement(arrangement);
    restores.push_back([mat, layer, arrangement] {
      mat->setLayer(layer);
      mat->setArrangement(arrangement);
    });
  }
  if (HeadsView* heads = views.heads; heads && heads->seriesCount() > 0) {
    // The statistic and layer the user picked: the view says which in its title.
    const QString stat = QString::fromStdString(statisticName(heads->statistic()));
    steps_.push_back({QStringLiteral("heads_%1").arg(stat), QObject::tr("Head %1 over training").arg(stat),
                      [heads] { return heads->chart(); }});
    steps_.push_back({QStringLiteral("head_similarity_layer%1").arg(heads->layer()),
                      QObject::tr("Head similarity, layer %1").arg(heads->layer()),
                      [heads] { return heads->similarityPlot(); }});
  }
  restore_ = [restores] {
    for (const auto& r : restores) r();
  };
}

std::vector<FigureSetPlan::Pending> FigureSetPlan::render(int step, QString* error) {
  if (!QDir().mkpath(dir_)) {
    if (error) *error = QObject::tr("cannot create folder %1").arg(dir_);
    return {};
  }
  const Step& s = steps_.at(size_t(step));
  QCustomPlot* plot = s.select();
  ExportOptions o = options_;
  o.title = s.title;
  std::vector<Pending> figures;
  for (FigureFormat format : formats_) {
    auto figure = renderFigure(plot, format, o, error);
    if (!figure) return {};
    figures.push_back({QDir(dir_).filePath(s.stem + '.' + figureFormatSuffix(format)), std::move(*figure)});
  }
  return figures;
}

bool FigureSetPlan::run(int step, QString* error) {
  const auto figures = render(step, error);
  if (figures.empty()) return formats_.isEmpty();  // nothing asked, or a failure
  for (const Pending& p : figures) {
    if (!writeRenderedFigure(p.figure, p.path, error)) return false;
    noteWritten(p.path);
  }
  return true;
}

void FigureSetPlan::finish() {
  if (!restore_) return;
  restore_();
  restore_ = nullptr;
}

QStringList exportAllFigures(const FigureViews& views, const QString& dir, const QList<FigureFormat>& formats,
                             const ExportOptions& options, QString* error) {
  FigureSetPlan plan(views, dir, formats, options);
  if (!QDir().mkpath(dir)) {
    if (error) *error = QObject::tr("cannot create folder %1").arg(dir);
    return {};
  }
  for (int i = 0; i < plan.count(); ++i)
    if (!plan.run(i, error)) break;
  plan.finish();
  return plan.written();
}

}  // namespace headlab
