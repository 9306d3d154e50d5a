// Replay export: an animated GIF read back with giflib (frame count, size, loop and delay
// extensions, colours), a PNG sequence, and the failures (no history, unwritable target,
// folder already used, cancel) that must leave nothing behind.
#include <gif_lib.h>
#include <gtest/gtest.h>

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QTemporaryDir>
#include <cstring>

#include "atlas_colormap.h"
#include "atlas_test_snapshot.h"
#include "head_atlas_model.h"
#include "head_atlas_painter.h"
#include "replay_export.h"
#include "replay_frames.h"

using namespace headlab;

namespace {

ReplayHistory history(int n) {
  ReplayHistory h;
  for (int i = 0; i < n; ++i) h.push_back(atlastest::makeSnapshot(100 * i));
  return h;
}

struct GifFile {
  GifFileType* gif = nullptr;
  explicit GifFile(const QString& path) {
    int error = 0;
    gif = DGifOpenFileName(QFile::encodeName(path).constData(), &error);
    if (gif && DGifSlurp(gif) == GIF_ERROR) {
      DGifCloseFile(gif, &error);
      gif = nullptr;
    }
  }
  ~GifFile() {
    int error = 0;
    if (gif) DGifCloseFile(gif, &error);
  }
};

bool hasExtension(const SavedImage& image, int function, const char* starts_with) {
  for (int i = 0; i < image.ExtensionBlockCount; ++i) {
    const ExtensionBlock& b = image.ExtensionBlocks[i];
    if (b.Function == function && b.ByteCount >= int(std::strlen(starts_with)) &&
        std::memcmp(b.Bytes, starts_with, std::strlen(starts_with)) == 0)
      return true;
  }
  return false;
}

}  // namespace

TEST(ReplayExport, GifHasOneFramePerHistoryEntry) {
  QTemporaryDir dir;
  const QString path = dir.filePath("replay.gif");
  std::vector<int> progress;
  const ReplayResult r = exportReplayGif(history(5), atlasFrameRenderer(QSize(320, 240)), path, 4.0,
                                         [&](int done, int total) {
                                           EXPECT_EQ(total, 5);
                                           progress.push_back(done);
                                           return true;
                                         });
  ASSERT_TRUE(r.ok) << r.error.toStdString();
  EXPECT_EQ(r.files, QStringList{path});
  EXPECT_EQ(progress, (std::vector<int>{0, 1, 2, 3, 4, 5}));

  GifFile gif(path);
  ASSERT_NE(gif.gif, nullptr);
  EXPECT_EQ(gif.gif->ImageCount, 5);
  EXPECT_EQ(gif.gif->SWidth, 320);
  EXPECT_EQ(gif.gif->SHeight, 240);
  // Loops forever (NETSCAPE2.0) and shows each frame 1/4 s (25 hundredths).
  EXPECT_TRUE(hasExtension(gif.gif->SavedImages[0], APPLICATION_EXT_FUNC_CODE, "NETSCAPE2.0"));
  GraphicsControlBlock gcb;
  ASSERT_EQ(DGifSavedExtensionToGCB(gif.gif, 2, &gcb), GIF_OK);
  EXPECT_EQ(gcb.DelayTime, 25);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(gif.gif->SavedImages[i].ImageDesc.Width, 320);
    EXPECT_EQ(gif.gif->SavedImages[i].ImageDesc.Height, 240);
  }

  // The pixels are the atlas: a texel of head (1, 0) in frame 0 has (nearly: 256-colour
  // quantization) the colour-map colour of its weight.
  HeadAtlasModel model;
  model.setSnapshot(atlastest::makeSnapshot());
  const AtlasLayout l = HeadAtlasPainterCanvas::layoutFor(model, QSizeF(320, 240 - kAtlasFrameHeader));
  const QRectF map = l.mapRect(model.positionOf(model.indexOf(1, 0)));
  const int x = int(map.left() + 1.5 * map.width() / atlastest::kSeq);
  const int y = kAtlasFrameHeader + int(map.top() + 2.5 * map.height() / atlastest::kSeq);
  const SavedImage& frame = gif.gif->SavedImages[0];
  const ColorMapObject* palette = frame.ImageDesc.ColorMap ? frame.ImageDesc.ColorMap : gif.gif->SColorMap;
  ASSERT_NE(palette, nullptr);
  const GifColorType c = palette->Colors[frame.RasterBits[size_t(y) * 320 + x]];
  const auto want = atlascolor::lut()[atlascolor::probabilityToByte(atlastest::weight(1, 0, 2, 1))];
  EXPECT_NEAR(c.Red, want.r, 12);
  EXPECT_NEAR(c.Green, want.g, 12);
  EXPECT_NEAR(c.Blue, want.b, 12);
}

TEST(ReplayExport, PngSequenceWritesExactlyNNumberedFrames) {
  QTemporaryDir dir;
  const QString folder = dir.filePath("frames");
  const ReplayResult r = exportReplayPngs(history(3), attentionFrameRenderer(QSize(400, 300), 1, 2), folder);
  ASSERT_TRUE(r.ok) << r.error.toStdString();
  const QStringList files = QDir(folder).entryList(QDir::Files, QDir::Name);
  EXPECT_EQ(files, (QStringList{"frame_0000.png", "frame_0001.png", "frame_0002.png"}));
  EXPECT_EQ(r.files.size(), 3);
  for (const QString& f : files) EXPECT_EQ(QImage(QDir(folder).filePath(f)).size(), QSize(400, 300)) << f.toStdString();
  EXPECT_EQ(replayFrameName(12), "frame_0012.png");

  // The same folder again: refused, nothing overwritten or mixed.
  const ReplayResult again = exportReplayPngs(history(5), attentionFrameRenderer(QSize(400, 300), 0, 0), folder);
  EXPECT_FALSE(again.ok);
  EXPECT_TRUE(again.error.contains("already holds frame_*.png")) << again.error.toStdString();
  EXPECT_EQ(QDir(folder).entryList(QDir::Files).size(), 3);
}

TEST(ReplayExport, FailuresSayWhyAndLeaveNothing) {
  QTemporaryDir dir;
  // No history.
  ReplayResult r = exportReplayGif({}, atlasFrameRenderer(QSize(100, 100)), dir.filePath("a.gif"), 4.0);
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.error.contains("no probe history")) << r.error.toStdString();
  EXPECT_FALSE(QFileInfo::exists(dir.filePath("a.gif")));
  r = exportReplayPngs({}, atlasFrameRenderer(QSize(100, 100)), dir.filePath("empty"));
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.error.contains("no probe history"));

  // Unwritable targets (a path under a regular file: fails for root too).
  QFile blocker(dir.filePath("blocker"));
  ASSERT_TRUE(blocker.open(QIODevice::WriteOnly));
  blocker.close();
  r = exportReplayGif(history(2), atlasFrameRenderer(QSize(100, 100)), dir.filePath("blocker/x.gif"), 4.0);
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.error.contains("blocker/x.gif")) << r.error.toStdString();
  r = exportReplayPngs(history(2), atlasFrameRenderer(QSize(100, 100)), dir.filePath("blocker/frames"));
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.error.contains("cannot create folder")) << r.error.toStdString();

  // A frame that cannot be drawn (too small for the header).
  r = exportReplayGif(history(2), atlasFrameRenderer(QSize(100, 10)), dir.filePath("small.gif"), 4.0);
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.error.contains("could not be drawn"));
  EXPECT_FALSE(QFileInfo::exists(dir.filePath("small.gif")));

  // Cancelled half-way: no GIF, no PNGs.
  auto cancel_at_2 = [](int done, int) { return done < 2; };
  r = exportReplayGif(history(4), atlasFrameRenderer(QSize(120, 120)), dir.filePath("c.gif"), 4.0, cancel_at_2);
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.cancelled);
  EXPECT_FALSE(QFileInfo::exists(dir.filePath("c.gif")));
  r = exportReplayPngs(history(4), atlasFrameRenderer(QSize(120, 120)), dir.filePath("c"), cancel_at_2);
  EXPECT_TRUE(r.cancelled);
  EXPECT_TRUE(QDir(dir.filePath("c")).entryList(QDir::Files).isEmpty());
  // Only the blocker and the two empty folders: no temporaries left behind either.
  EXPECT_EQ(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden), QStringList{"blocker"});
}
