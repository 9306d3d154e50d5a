#pragma once
// File > Open Recent: the last few opened models, checkpoints and run directories,
// remembered in QSettings ("recent/files"), newest first; paths that vanished are skipped.
#include <QObject>
#include <QString>
#include <QStringList>

class QMenu;
class QWidget;

namespace headlab::gui {

class RecentFiles : public QObject {
  Q_OBJECT

 public:
  static constexpr int kMaxEntries = 8;
  explicit RecentFiles(QWidget* parent);

  QMenu* menu() const { return menu_; }
  QStringList paths() const;
  void add(const QString& path);
  void clear();

 signals:
  void openRequested(const QString& path);

 private:
  void rebuild();
  QMenu* menu_ = nullptr;
};

}  // namespace headlab::gui
