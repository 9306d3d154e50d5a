#pragma once
// The Heads view: how each head's attention statistics (entropy, previous-token, induction,
// sink, ...) moved over training, from the session's probe history; the head-similarity
// matrix of the selected layer; the role table of the newest probe (sortable by any column),
// with what zeroing each head does to the loss; and, per layer, how the previous-token and
// induction jobs are shared among its heads. Reads plain ProbeSnapshots only.
#include <QString>
#include <QWidget>
#include <memory>
#include <vector>

#include "head_history.h"
#include "probe/snapshot.h"

class QComboBox;
class QCustomPlot;
class QCPColorMap;
class QLabel;
class QSpinBox;
class QTableWidget;

namespace headlab {

class HeadsView : public QWidget {
  Q_OBJECT

 public:
  enum class Mode { HeadsOfLayer, MaxPerLayer };
  enum RoleColumn { ColLayer, ColHead, ColRole, ColEntropy, ColPrevious, ColInduction, ColSink, ColSelf, ColDistance,
                    ColAblation, kRoleColumns };

  explicit HeadsView(QWidget* parent = nullptr);

  // The least height the statistic chart and the similarity matrix get (the dock scrolls).
  static constexpr int kMinChartHeight = 180;

  // The whole probe history, oldest first; the newest entry feeds the matrix and the table.
  void setHistory(ProbeHistory history);
  // A probe that arrived without a history pull: it replaces the newest entry when it has the
  // same step (a re-probe), else it is appended.
  void setLatest(std::shared_ptr<const ProbeSnapshot> probe);
  // Whether a probe at `step` is one the view has not seen: only then is a history pull worth it.
  bool isNewStep(int64_t step) const;
  void clear();
  const ProbeHistory& history() const { return history_; }

  void setStatistic(HeadStatistic statistic);
  HeadStatistic statistic() const { return statistic_; }
  void setMode(Mode mode);
  Mode mode() const { return mode_; }
  void setLayer(int layer);
  int layer() const { return layer_; }

  // What is drawn, read back from the plots (tests).
  int seriesCount() const;
  QString seriesName(int index) const;
  std::vector<double> seriesSteps(int index) const;
  std::vector<double> seriesValues(int index) const;
  int similaritySize() const;  // heads in the drawn matrix, 0 when none
  double similarityValue(int row, int col) const;
  QTableWidget* roleTable() const { return table_; }
  QLabel* jobSharesLabel() const { return job_shares_; }
  QCustomPlot* chart() const { return chart_; }
  QCustomPlot* similarityPlot() const { return similarity_; }

 signals:
  void layerChanged(int layer);

 private:
  void rebuildChart();
  void rebuildSimilarity();
  void rebuildTable();
  void rebuildJobShares();
  void syncControls();
  int layerCount() const;

  QComboBox* statistic_box_ = nullptr;
  QComboBox* mode_box_ = nullptr;
  QSpinBox* layer_box_ = nullptr;
  QLabel* caption_ = nullptr;
  QCustomPlot* chart_ = nullptr;
  QCustomPlot* similarity_ = nullptr;
  QCPColorMap* similarity_map_ = nullptr;
  QTableWidget* table_ = nullptr;
  QLabel* job_shares_ = nullptr;

  ProbeHistory history_;
  HeadStatistic statistic_ = HeadStatistic::Induction;
  Mode mode_ = Mode::HeadsOfLayer;
  int layer_ = 0;
};

}  // namespace headlab
