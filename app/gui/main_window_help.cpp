// MainWindow, the Help menu: the Learn panel (explanations and guided experiments), the
// keyboard shortcuts, the README and About. The shortcut list is read from the menus, so it
// cannot drift from what the keys do.
#include <QApplication>
#include <QDesktopServices>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDockWidget>
#include <QFileInfo>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QUrl>
#include <QVBoxLayout>

#include "main_window.h"

namespace headlab::gui {
namespace {

void collectShortcuts(const QMenu* menu, const QString& path, QStringList& out) {
  for (QAction* action : menu->actions()) {
    const QString name = QString(action->text()).remove('&');
    if (action->menu()) {
      collectShortcuts(action->menu(), path + " > " + name, out);
    } else if (!action->shortcut().isEmpty()) {
      out << QStringLiteral("%1 > %2: %3").arg(path, name, action->shortcut().toString(QKeySequence::NativeText));
    }
  }
}

}  // namespace

QString MainWindow::readmePath() {
  for (const QString& candidate :
       {QStringLiteral(HEADLAB_README_SOURCE),
        QApplication::applicationDirPath() + QStringLiteral("/../share/doc/headlab/README.md")})
    if (QFileInfo::exists(candidate)) return QFileInfo(candidate).absoluteFilePath();
  return {};
}

QStringList MainWindow::shortcutList() const {
  QStringList out;
  for (QAction* top : menuBar()->actions())
    if (top->menu()) collectShortcuts(top->menu(), QString(top->text()).remove('&'), out);
  return out;
}

void MainWindow::buildHelpMenu() {
  QMenu* help = menuBar()->addMenu(tr("&Help"));
  help->setToolTipsVisible(true);
  help->addAction(tr("Learn panel"), QKeySequence::HelpContents, this, [this] {
    if (auto* dock = findChild<QDockWidget*>("learn")) {
      dock->show();
      dock->raise();
    }
  })->setToolTip(tr("What attention heads, KHA, MEA and talking heads are, and guided experiments to watch them."));
  help->addAction(tr("Keyboard shortcuts"), this, [this] {
    auto* dialog = new QDialog(this);
    dialog->setObjectName("shortcutsDialog");
    dialog->setWindowTitle(tr("Keyboard shortcuts"));
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    auto* layout = new QVBoxLayout(dialog);
    auto* list = new QLabel(shortcutList().join('\n'), dialog);
    list->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(list);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, dialog);
    connect(buttons, &QDialogButtonBox::rejected, dialog, &QDialog::close);
    layout->addWidget(buttons);
    dialog->open();
  });
  QAction* readme = help->addAction(tr("README"), this, [this] {
    const QString path = readmePath();
    if (path.isEmpty() || !QDesktopServices::openUrl(QUrl::fromLocalFile(path)))
      showMessage(path.isEmpty() ? tr("The README is not installed here.") : tr("No program opens %1.").arg(path));
  });
  readme->setToolTip(readmePath().isEmpty() ? tr("The README is not installed here.")
                                            : tr("Open %1: what HeadLab does, the command line, the folders.").arg(readmePath()));
  readme->setEnabled(!readmePath().isEmpty());
  help->addSeparator();
  help->addAction(tr("About HeadLab"), this, [this] {
    QMessageBox::about(this, tr("About HeadLab"),
                       tr("<b>HeadLab %1</b><p>A lab for attention heads: train small transformers with "
                          "cross-head interaction modules (KHA, MEA, talking heads) and watch what the heads "
                          "learn.</p><p>Hover any view for an explanation; Help > Learn panel explains the ideas "
                          "and guides experiments.</p>")
                           .arg(QApplication::applicationVersion()));
  });
}

}  // namespace headlab::gui
