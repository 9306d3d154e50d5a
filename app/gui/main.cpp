// headlab: the desktop app. For now a main window that opens; the panels come with the GUI issue.
#include <QApplication>
#include <QLabel>
#include <QMainWindow>

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setApplicationName("HeadLab");
  QMainWindow window;
  window.setWindowTitle("HeadLab");
  auto* label = new QLabel("HeadLab: attention heads lab", &window);
  label->setAlignment(Qt::AlignCenter);
  window.setCentralWidget(label);
  window.resize(1200, 800);
  window.show();
  return QApplication::exec();
}
