#include "recent_files.h"

#include <QFileInfo>
#include <QMenu>
#include <QSettings>

namespace headlab::gui {

RecentFiles::RecentFiles(QWidget* parent) : QObject(parent) {
  menu_ = new QMenu(tr("Open &Recent"), parent);
  rebuild();
}

QStringList RecentFiles::paths() const {
  QStringList out;
  for (const QString& p : QSettings().value("recent/files").toStringList())
    if (QFileInfo::exists(p)) out << p;
  return out;
}

void RecentFiles::add(const QString& path) {
  const QString absolute = QFileInfo(path).absoluteFilePath();
  QStringList list = paths();
  list.removeAll(absolute);
  list.prepend(absolute);
  while (list.size() > kMaxEntries) list.removeLast();
  QSettings().setValue("recent/files", list);
  rebuild();
}

void RecentFiles::clear() {
  QSettings().remove("recent/files");
  rebuild();
}

void RecentFiles::rebuild() {
  menu_->clear();
  const QStringList list = paths();
  for (int i = 0; i < list.size(); ++i) {
    const QString path = list[i];
    QAction* a = menu_->addAction(QStringLiteral("&%1 %2").arg(i + 1).arg(path));
    connect(a, &QAction::triggered, this, [this, path] { emit openRequested(path); });
  }
  if (list.isEmpty()) menu_->addAction(tr("(none)"))->setEnabled(false);
  menu_->addSeparator();
  menu_->addAction(tr("Clear list"), this, &RecentFiles::clear);
}

}  // namespace headlab::gui
