// The app-level GUI tests: a QApplication for the whole run, offscreen unless told
// otherwise, settings in a fresh folder per process (ctest runs tests in parallel: no test
// sees another's recent files or window layout), one intra-op thread.
#include <gtest/gtest.h>

#include <QApplication>
#include <QSettings>
#include <QTemporaryDir>

#include "common/runtime.h"

int main(int argc, char** argv) {
  if (!qEnvironmentVariableIsSet("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
  QApplication app(argc, argv);
  QTemporaryDir settings_dir;
  QSettings::setDefaultFormat(QSettings::IniFormat);
  QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, settings_dir.path());
  QApplication::setOrganizationName("HeadLabTests");
  QApplication::setApplicationName("headlab_gui_tests");
  headlab::configure_threads(1);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
