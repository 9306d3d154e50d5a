// headlab: the desktop app, and its headless uses.
//   headlab [PATH]                                  the window; PATH: model, checkpoint, run dir or experiment JSON
//   headlab --demo [--steps N]                      the window, training the default preset at once
//   headlab --export-figures RUN_DIR --out DIR [--format png,svg,pdf] [--dpi D] [--size WxH]
//                                                   every figure of a saved run, no window
//   headlab --screenshot FILE --steps N [--screenshot-size WxH]
//                                                   (hidden) trains N steps, saves the window as FILE
//   --runs DIR                                      where new runs go (remembered)
#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QElapsedTimer>
#include <cstring>
#include <memory>
#include <qcustomplot.h>
#include <QTimer>
#include <algorithm>
#include <cstdlib>
#include <iostream>

#include "common/runtime.h"
#include "figure_set.h"
#include "headless_export.h"
#include "attention_map_view.h"
#include "head_atlas_gl.h"
#include "main_window.h"
#include "opengl_probe_process.h"
#include "theme.h"
#include "session_feed.h"

namespace {

using headlab::gui::MainWindow;

bool argvHas(int argc, char** argv, const char* flag) {
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], flag) == 0) return true;
  return false;
}

// --help and --version print and quit: they need no window system, so they must work where
// none can be had (a QApplication aborts there before it has parsed anything).
bool onlyPrints(int argc, char** argv) {
  for (const char* flag : {"--help", "-h", "-?", "--help-all", "--version", "-v"})
    if (argvHas(argc, argv, flag)) return true;
  return false;
}

// Whether a window can be shown: a platform chosen by the user, or an X11/Wayland display.
bool displayAvailable() {
#ifdef Q_OS_LINUX
  return qEnvironmentVariableIsSet("QT_QPA_PLATFORM") || !qEnvironmentVariableIsEmpty("DISPLAY") ||
         !qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY");
#else
  return true;
#endif
}

void setUpApplication() {
  QCoreApplication::setOrganizationName("HeadLab");
  QCoreApplication::setApplicationName("HeadLab");
  QCoreApplication::setApplicationVersion(HEADLAB_VERSION);
}

void addOptions(QCommandLineParser& args) {
  args.setApplicationDescription("HeadLab: train small transformers and watch their attention heads.");
  args.addHelpOption();
  args.addVersionOption();
  args.addPositionalArgument("path", "A model, checkpoint, run directory or experiment JSON to open.", "[path]");
  args.addOptions({
      {"demo", "Open the window and start the default preset (induction-kha)."},
      {"steps", "Training steps for --demo / --screenshot.", "N", "0"},
      {"export-figures", "Render every figure of a saved run without a window.", "RUN_DIR"},
      {"out", "Folder for --export-figures.", "DIR"},
      {"format", "Figure formats for --export-figures.", "png,svg,pdf", "png"},
      {"dpi", "DPI of exported figures.", "D", "150"},
      {"size", "Pixel size of exported figures.", "WxH", "1500x1000"},
      {"probe-text", "Probe input for --export-figures (default: the run's own).", "TEXT"},
      {"runs", "Folder for new run directories (remembered; default ~/headlab-runs).", "DIR"},
      {"follow", "Follow a run directory that another process or machine writes (File > Follow run directory).",
       "RUN_DIR"},
      {"theme", "system, light or dark for this start (default: the View menu's choice).", "MODE"},
  });
  QCommandLineOption screenshot("screenshot",
                                "Train --steps steps (with --follow: follow for 5 s), save the window to FILE, quit.",
                                "FILE");
  screenshot.setFlags(QCommandLineOption::HiddenFromHelp);
  args.addOption(screenshot);
  QCommandLineOption screenshot_size("screenshot-size", "Window size for --screenshot.", "WxH");
  screenshot_size.setFlags(QCommandLineOption::HiddenFromHelp);
  args.addOption(screenshot_size);
}

int exportFigures(const QCommandLineParser& args) {
  headlab::gui::ExportFiguresRequest request;
  request.run_dir = args.value("export-figures");
  request.out_dir = args.value("out");
  if (request.out_dir.isEmpty()) {
    std::cerr << "headlab: --export-figures needs --out DIR\n";
    return 2;
  }
  QString error;
  request.formats = headlab::parseFigureFormats(args.value("format"), &error);
  if (request.formats.isEmpty()) {
    std::cerr << "headlab: " << error.toStdString() << "\n";
    return 2;
  }
  bool ok = true;
  request.options.dpi = args.value("dpi").toDouble(&ok);
  const QStringList size = args.value("size").split('x');
  bool ok_w = false, ok_h = false;
  if (size.size() == 2) {
    request.options.width_px = size[0].toInt(&ok_w);
    request.options.height_px = size[1].toInt(&ok_h);
  }
  if (!ok || !ok_w || !ok_h) {
    std::cerr << "headlab: --dpi takes a number and --size WIDTHxHEIGHT in pixels\n";
    return 2;
  }
  request.probe_text = args.value("probe-text");
  return headlab::gui::exportRunFigures(request, std::cout, std::cerr);
}

// Trains `steps` steps of the default preset in the shown window, then saves window->grab().
void scheduleScreenshot(MainWindow& window, const QString& file, int steps) {
  QString error;
  if (!window.startDemo(steps, &error)) {
    std::cerr << "headlab: " << error.toStdString() << "\n";
    QTimer::singleShot(0, qApp, [] { QCoreApplication::exit(1); });
    return;
  }
  auto* timer = new QTimer(&window);
  auto deadline = std::make_shared<QElapsedTimer>();
  deadline->start();
  QObject::connect(timer, &QTimer::timeout, &window, [&window, timer, file, deadline] {
    const auto snap = window.feed()->snapshot();
    const bool done = snap && snap->probe && snap->status.state != headlab::session::RunState::Running &&
                      snap->status.state != headlab::session::RunState::Idle;
    if (!done && deadline->elapsed() < 600'000) return;
    timer->stop();
    // Show the most induction-like head: what the default preset is about.
    const auto& heads = snap->probe->heads;
    const auto best = std::max_element(heads.begin(), heads.end(),
                                       [](const auto& a, const auto& b) { return a.induction < b.induction; });
    if (best != heads.end()) window.attentionView()->setLayerHead(best->layer, best->head);
    for (QCustomPlot* plot : window.findChildren<QCustomPlot*>()) plot->replot();
    const bool saved = done && window.grab().save(file);
    std::cout << (saved ? "screenshot saved to " : "screenshot FAILED: ") << file.toStdString() << "\n";
    QCoreApplication::exit(saved ? 0 : 1);
  });
  timer->start(200);
}

}  // namespace

int main(int argc, char** argv) {
  // The training worker shares the machine with the GUI thread and whatever else runs.
  headlab::prefer_passive_openmp_waiting(argv);
  // The child a window starts to try OpenGL where a driver might crash (opengl_probe_process.h).
  if (argc >= 2 && std::strcmp(argv[1], headlab::gui::kProbeOpenGlOption) == 0)
    return headlab::gui::answerOpenGlProbe(argc, argv);
  if (onlyPrints(argc, argv)) {
    QCoreApplication app(argc, argv);
    setUpApplication();
    QCommandLineParser args;
    addOptions(args);
    args.process(app);  // prints the help or the version and exits
    return 0;
  }
  // Exporting figures never shows a window: work without a display unless told otherwise.
  if (argvHas(argc, argv, "--export-figures") && !qEnvironmentVariableIsSet("QT_QPA_PLATFORM"))
    qputenv("QT_QPA_PLATFORM", "offscreen");
  else if (!displayAvailable()) {
    std::cerr << "headlab: no display (DISPLAY and WAYLAND_DISPLAY are not set), so no window can open.\n"
                 "  headlab --export-figures RUN_DIR --out DIR   renders a run's figures without one;\n"
                 "  headlab-cli trains, probes and compares on the command line;\n"
                 "  xvfb-run headlab ...                         runs the window on a virtual display.\n";
    return 1;
  }
  QApplication app(argc, argv);
  setUpApplication();
  QApplication::setWindowIcon(QIcon(":/headlab.svg"));

  QCommandLineParser args;
  addOptions(args);
  args.process(app);
  headlab::configure_threads();

  if (args.isSet("export-figures")) return exportFigures(args);

  if (args.isSet("theme")) {
    const QString mode = args.value("theme");
    if (mode != "system" && mode != "light" && mode != "dark") {
      std::cerr << "headlab: --theme must be system, light or dark, not " << mode.toStdString() << "\n";
      return 2;
    }
    headlab::gui::applyTheme(headlab::gui::themeModeFromName(mode), /*remember=*/false);
  } else {
    headlab::gui::applyTheme(headlab::gui::savedThemeMode(), /*remember=*/false);
  }
  headlab::HeadAtlasGlCanvas::setDefaultProbe(&headlab::gui::probeOpenGlInChildProcess);
  MainWindow window;
  if (args.isSet("runs")) window.setRunsFolder(QDir(args.value("runs")).absolutePath());
  if (args.isSet("screenshot-size")) {
    const QStringList wh = args.value("screenshot-size").split('x');
    if (wh.size() == 2) window.resize(wh[0].toInt(), wh[1].toInt());
  }
  if (args.isSet("follow")) {
    if (args.isSet("demo") || !args.positionalArguments().isEmpty()) {
      std::cerr << "headlab: --follow shows a run another process writes; it cannot go with --demo or a path to open\n";
      return 2;
    }
    // Before the window shows: a path that is no run directory is exit 2, as for the CLI.
    QString error;
    const QString run_dir = QDir(args.value("follow")).absolutePath();
    if (!window.followRunDirectory(run_dir, &error)) {
      std::cerr << "headlab: cannot follow " << run_dir.toStdString() << ": " << error.toStdString() << "\n";
      return 2;
    }
  }
  window.show();
  // Screenshots show the default layout at the size asked for, whatever was saved.
  if (args.isSet("screenshot")) QTimer::singleShot(0, &window, [&window] { window.resetLayout(); });
  const int steps = args.value("steps").toInt();
  if (args.isSet("screenshot") && args.isSet("follow")) {
    // What following shows once the run's logs have been read and a poll or two has passed.
    const QString file = args.value("screenshot");
    QTimer::singleShot(5000, &window, [&window, file] {
      const bool saved = window.grab().save(file);
      std::cout << (saved ? "screenshot saved to " : "cannot write the screenshot ") << file.toStdString() << "\n";
      QCoreApplication::exit(saved ? 0 : 1);
    });
  } else if (args.isSet("screenshot")) {
    scheduleScreenshot(window, args.value("screenshot"), steps > 0 ? steps : 100);
  } else if (args.isSet("demo")) {
    QString error;
    if (!window.startDemo(steps, &error)) std::cerr << "headlab: " << error.toStdString() << "\n";
  } else if (!args.positionalArguments().isEmpty()) {
    // A failure is shown in a dialog (the user started a window, not a terminal session) and
    // also printed, for scripts.
    QString error;
    const QString path = args.positionalArguments().front();
    if (!window.openFromCommandLine(path, &error))
      std::cerr << "headlab: cannot open " << path.toStdString() << ": " << error.toStdString() << "\n";
  }
  return QApplication::exec();
}
