// headlab's command line where it used to fail silently (issue #17 item 8): --help with no
// display, a start with no display, and a path that cannot be opened.
#include <gtest/gtest.h>

#include <QFile>
#include <QMessageBox>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

#include "main_window.h"
#include "session_launcher.h"

using headlab::gui::MainWindow;

#ifdef HEADLAB_GUI_BINARY
namespace {
QProcessEnvironment withoutDisplay() {
  QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
  env.remove("QT_QPA_PLATFORM");
  env.remove("DISPLAY");
  env.remove("WAYLAND_DISPLAY");
  return env;
}
}  // namespace

TEST(CommandLine, HelpAndVersionPrintWithoutADisplay) {
  QProcess p;
  p.setProcessEnvironment(withoutDisplay());
  p.start(HEADLAB_GUI_BINARY, {"--help"});
  ASSERT_TRUE(p.waitForFinished(30000));
  const QString out = p.readAllStandardOutput();
  EXPECT_EQ(p.exitStatus(), QProcess::NormalExit);
  EXPECT_EQ(p.exitCode(), 0) << QString(p.readAllStandardError()).toStdString();
  EXPECT_TRUE(out.contains("--export-figures")) << out.toStdString();
  EXPECT_TRUE(out.contains("--demo")) << out.toStdString();

  p.start(HEADLAB_GUI_BINARY, {"--version"});
  ASSERT_TRUE(p.waitForFinished(30000));
  EXPECT_EQ(p.exitCode(), 0);
  EXPECT_TRUE(QString(p.readAllStandardOutput()).contains("HeadLab"));
}

TEST(CommandLine, NoDisplaySaysWhatToDoInsteadOfAborting) {
  QProcess p;
  p.setProcessEnvironment(withoutDisplay());
  p.start(HEADLAB_GUI_BINARY, {});
  ASSERT_TRUE(p.waitForFinished(30000));
  EXPECT_EQ(p.exitStatus(), QProcess::NormalExit);
  EXPECT_EQ(p.exitCode(), 1);
  const QString err = p.readAllStandardError();
  EXPECT_TRUE(err.contains("no display")) << err.toStdString();
  EXPECT_TRUE(err.contains("--export-figures")) << err.toStdString();
}

// `headlab --follow DIR`: a folder that is no run directory, or --follow with something else
// to open, is exit 2 with the reason, and no window waits for an answer.
TEST(CommandLine, FollowOfAFolderThatIsNoRunIsExitTwo) {
  QTemporaryDir dir;
  QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
  env.insert("QT_QPA_PLATFORM", "offscreen");
  QProcess p;
  p.setProcessEnvironment(env);
  p.start(HEADLAB_GUI_BINARY, {"--follow", dir.path()});
  ASSERT_TRUE(p.waitForFinished(60000));
  EXPECT_EQ(p.exitCode(), 2);
  QString err = p.readAllStandardError();
  EXPECT_TRUE(err.contains("cannot follow " + dir.path()) && err.contains("not a run directory (no config.json)"))
      << err.toStdString();

  p.start(HEADLAB_GUI_BINARY, {"--follow", dir.path(), "--demo"});
  ASSERT_TRUE(p.waitForFinished(60000));
  EXPECT_EQ(p.exitCode(), 2);
  err = p.readAllStandardError();
  EXPECT_TRUE(err.contains("cannot go with --demo or a path")) << err.toStdString();
}
#endif

// `headlab broken.safetensors`: the window says why in a dialog, not only on stderr.
TEST(CommandLine, APathThatCannotBeOpenedShowsADialog) {
  QTemporaryDir dir;
  const QString broken = dir.filePath("broken.safetensors");
  {
    QFile f(broken);
    ASSERT_TRUE(f.open(QIODevice::WriteOnly));
    f.write("this is not a safetensors file");
  }
  MainWindow w;
  w.show();
  QString error;
  w.openFromCommandLine(broken, &error);
  ASSERT_TRUE(QTest::qWaitFor([&] { return !w.launcher()->busy(); }, 20000));
  auto* box = w.findChild<QMessageBox*>("launchFailure");
  ASSERT_NE(box, nullptr);
  EXPECT_TRUE(box->windowTitle().contains("broken.safetensors")) << box->windowTitle().toStdString();
  EXPECT_FALSE(box->text().isEmpty());
  box->close();
  QTest::qWait(10);

  // A path that does not exist fails at once, with a dialog too.
  EXPECT_FALSE(w.openFromCommandLine(dir.filePath("missing.safetensors"), &error));
  EXPECT_TRUE(error.contains("does not exist")) << error.toStdString();
  box = w.findChild<QMessageBox*>("launchFailure");
  ASSERT_NE(box, nullptr);
  EXPECT_TRUE(box->text().contains("does not exist"));
}
