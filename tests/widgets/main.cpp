// Widgets need a QApplication alive for the whole run, so the suite brings its own main()
// instead of gtest_main. Offscreen by default: tests must run on headless CI machines.
// Settings go to a fresh folder per process: widgets remember options (QSettings), and a test
// must neither read the user's nor leave its own behind.
#include <gtest/gtest.h>

#include <QApplication>
#include <QSettings>
#include <QTemporaryDir>

int main(int argc, char** argv) {
  if (!qEnvironmentVariableIsSet("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
  QApplication app(argc, argv);
  QTemporaryDir settings_dir;
  QSettings::setDefaultFormat(QSettings::IniFormat);
  QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, settings_dir.path());
  QApplication::setOrganizationName("HeadLabTests");
  QApplication::setApplicationName("headlab_widget_tests");
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
