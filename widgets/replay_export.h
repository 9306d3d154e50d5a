#pragma once
// Writes a replay of the probe history: one frame per history entry, rendered by a caller's
// function, as an animated GIF (gif_writer.h) or as a numbered PNG sequence
// (frame_0000.png, frame_0001.png, ...). Both report progress and can be cancelled; a failed
// or cancelled export leaves nothing behind (the GIF is a QSaveFile, the PNGs written so far
// are removed).
#include <QImage>
#include <QSize>
#include <QString>
#include <QStringList>
#include <functional>
#include <memory>
#include <vector>

#include "probe/snapshot.h"

namespace headlab {

using ReplayHistory = std::vector<std::shared_ptr<const ProbeSnapshot>>;
// Renders one frame; every frame of one export must have the same size.
using FrameRenderer = std::function<QImage(const std::shared_ptr<const ProbeSnapshot>&)>;
// Called before frame `done` of `total` is rendered and once more at the end; return false to cancel.
using ReplayProgress = std::function<bool(int done, int total)>;

struct ReplayResult {
  bool ok = false;
  bool cancelled = false;
  QString error;      // for a person: names the file or folder at fault
  QStringList files;  // what was written (empty unless ok)
};

// frames_per_second: playback speed stored in the GIF (each frame's delay is rounded to 1/100 s).
ReplayResult exportReplayGif(const ReplayHistory& history, const FrameRenderer& render, const QString& path,
                             double frames_per_second, const ReplayProgress& progress = {});

// Into `folder` (created if missing). Refuses a folder that already holds frame_*.png files, so
// a sequence is never mixed with the frames of an earlier, longer export.
ReplayResult exportReplayPngs(const ReplayHistory& history, const FrameRenderer& render, const QString& folder,
                              const ReplayProgress& progress = {});

// "frame_0007.png"
QString replayFrameName(int index);

}  // namespace headlab
