#include "replay_export.h"

#include <QDir>
#include <QFile>
#include <QObject>
#include <QSaveFile>
#include <cmath>

#include "gif_writer.h"

namespace headlab {
namespace {

ReplayResult failure(const QString& error) {
  ReplayResult r;
  r.error = error;
  return r;
}

ReplayResult cancelled() {
  ReplayResult r;
  r.cancelled = true;
  r.error = QObject::tr("export cancelled");
  return r;
}

QString emptyHistoryProblem() {
  return QObject::tr("no probe history to replay yet: the history fills while a run trains and probes");
}

bool hasNull(const ReplayHistory& history) {
  for (const auto& entry : history)
    if (!entry) return true;
  return false;
}

}  // namespace

QString replayFrameName(int index) { return QStringLiteral("frame_%1.png").arg(index, 4, 10, QLatin1Char('0')); }

ReplayResult exportReplayGif(const ReplayHistory& history, const FrameRenderer& render, const QString& path,
                             double frames_per_second, const ReplayProgress& progress) {
  if (history.empty() || hasNull(history)) return failure(emptyHistoryProblem());
  if (!(frames_per_second > 0)) return failure(QObject::tr("the replay speed must be positive"));
  const int total = int(history.size());
  std::unique_ptr<GifWriter> gif;
  QString error;
  for (int i = 0; i < total; ++i) {
    if (progress && !progress(i, total)) return cancelled();  // the GifWriter discards its file
    const QImage frame = render(history[size_t(i)]);
    if (frame.isNull()) return failure(QObject::tr("frame %1 (step %2) could not be drawn").arg(i).arg(history[size_t(i)]->step));
    if (!gif) {
      const int delay_cs = std::max(1, int(std::lround(100.0 / frames_per_second)));
      gif = std::make_unique<GifWriter>(path, frame.size(), delay_cs);
      if (!gif->open(&error)) return failure(error);
    }
    if (!gif->addFrame(frame, &error)) return failure(error);
  }
  if (progress && !progress(total, total)) return cancelled();
  if (!gif->finish(&error)) return failure(error);
  ReplayResult r;
  r.ok = true;
  r.files << path;
  return r;
}

ReplayResult exportReplayPngs(const ReplayHistory& history, const FrameRenderer& render, const QString& folder,
                              const ReplayProgress& progress) {
  if (history.empty() || hasNull(history)) return failure(emptyHistoryProblem());
  if (!QDir().mkpath(folder)) return failure(QObject::tr("cannot create folder %1").arg(folder));
  const QDir dir(folder);
  if (!dir.entryList({QStringLiteral("frame_*.png")}, QDir::Files).isEmpty())
    return failure(QObject::tr("%1 already holds frame_*.png files: choose an empty folder").arg(folder));
  const int total = int(history.size());
  QStringList written;
  // Frames of an export that does not finish are removed: half a sequence looks complete.
  auto undo = [&written] {
    for (const QString& f : written) QFile::remove(f);
  };
  QSize size;
  for (int i = 0; i < total; ++i) {
    if (progress && !progress(i, total)) {
      undo();
      return cancelled();
    }
    const QImage frame = render(history[size_t(i)]);
    if (frame.isNull() || (i > 0 && frame.size() != size)) {
      undo();
      return failure(QObject::tr("frame %1 (step %2) could not be drawn at the size of the first").arg(i).arg(history[size_t(i)]->step));
    }
    size = frame.size();
    QSaveFile file(dir.filePath(replayFrameName(i)));
    if (!file.open(QIODevice::WriteOnly) || !frame.save(&file, "PNG") || !file.commit()) {
      const QString why = file.errorString();
      undo();
      return failure(QObject::tr("cannot write %1: %2").arg(file.fileName(), why));
    }
    written << file.fileName();
  }
  if (progress && !progress(total, total)) {
    undo();
    return cancelled();
  }
  ReplayResult r;
  r.ok = true;
  r.files = written;
  return r;
}

}  // namespace headlab
