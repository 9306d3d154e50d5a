#pragma once
// The Learn panel: a short, accurate explanation of every view and of the ideas behind the
// lab (what KHA and MEA do, what an induction head is), plus the guided experiments: a
// button per tour asks the app to start it (a live run of a preset, or a comparison), and
// the panel then shows what to watch.
#include <QString>
#include <QStringList>
#include <QWidget>

class QPushButton;
class QTextBrowser;

namespace headlab {

struct GuidedTour;

class LearnPanel : public QWidget {
  Q_OBJECT

 public:
  explicit LearnPanel(QWidget* parent = nullptr);

  // The explanations (HTML), one section per view and idea.
  static QString explanationHtml();

  // Starts the tour with this id: emits presetTourRequested or compareTourRequested and
  // shows its "what to watch". False for an unknown id.
  bool startTour(const QString& id);
  QString activeTour() const { return active_tour_; }
  QPushButton* tourButton(const QString& id) const;
  QTextBrowser* textView() const { return text_; }

 signals:
  void presetTourRequested(const QString& preset);
  void compareTourRequested(const QString& preset, const QStringList& variants);

 private:
  void showTour(const GuidedTour* tour);

  QTextBrowser* text_ = nullptr;
  QTextBrowser* watch_ = nullptr;
  QString active_tour_;
};

}  // namespace headlab
