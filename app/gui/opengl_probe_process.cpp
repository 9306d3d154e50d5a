#include "opengl_probe_process.h"

#include <QCoreApplication>
#include <QGuiApplication>
#include <QProcess>
#include <iostream>

#include "head_atlas_gl.h"

namespace headlab::gui {

int answerOpenGlProbe(int argc, char** argv) {
  QGuiApplication app(argc, argv);
  QString why;
  if (HeadAtlasGlCanvas::probeOpenGl(&why)) return 0;
  std::cout << why.toStdString() << std::flush;
  return 3;
}

bool probeOpenGlInChildProcess(QString* why) {
  auto no = [why](const QString& reason) {
    if (why) *why = reason;
    return false;
  };
  // Nothing to try where the platform has no GL windows: the in-process probe says why.
  const QString platform = QGuiApplication::platformName();
  if (platform == "offscreen" || platform == "minimal") return HeadAtlasGlCanvas::probeOpenGl(why);
  QProcess child;
  child.setProcessChannelMode(QProcess::SeparateChannels);
  child.start(QCoreApplication::applicationFilePath(), {kProbeOpenGlOption, "-platform", platform});
  if (!child.waitForStarted(5000)) return no(QObject::tr("the OpenGL check could not start: %1").arg(child.errorString()));
  if (!child.waitForFinished(20000)) {
    child.kill();
    child.waitForFinished(2000);
    return no(QObject::tr("creating an OpenGL context did not finish within 20 s"));
  }
  if (child.exitStatus() == QProcess::CrashExit)
    return no(QObject::tr("the OpenGL driver crashed while creating a context; the atlas draws with the "
                          "software painter"));
  if (child.exitCode() != 0) {
    const QString reason = QString::fromLocal8Bit(child.readAllStandardOutput()).trimmed();
    return no(reason.isEmpty() ? QObject::tr("no OpenGL context could be created") : reason);
  }
  return HeadAtlasGlCanvas::probeOpenGl(why);  // safe here now; it also reads the version
}

}  // namespace headlab::gui
