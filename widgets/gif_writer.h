#pragma once
// An animated GIF written with giflib (Debian's libgif): frames of one size, each quantized to
// its own 256-colour palette (GifQuantizeBuffer), a per-frame delay, and the NETSCAPE2.0
// extension so viewers loop it forever. The bytes go to a QSaveFile: the GIF appears under its
// name only when finish() succeeds, never half-written.
#include <QSaveFile>
#include <QSize>
#include <QString>

class QImage;
struct GifFileType;

namespace headlab {

class GifWriter {
 public:
  // delay_cs: time each frame stays on screen, in hundredths of a second (GIF's unit).
  GifWriter(const QString& path, QSize size, int delay_cs);
  ~GifWriter();  // without finish(): nothing is left on disk
  GifWriter(const GifWriter&) = delete;
  GifWriter& operator=(const GifWriter&) = delete;

  // False and *error when the file cannot be created or the size is empty.
  bool open(QString* error);
  // The frame must be exactly size() (any QImage format; alpha is dropped onto white).
  bool addFrame(const QImage& frame, QString* error);
  // Writes the trailer and puts the file in place.
  bool finish(QString* error);

  QSize size() const { return size_; }
  int frameCount() const { return frames_; }

 private:
  static int writeBytes(GifFileType* gif, const unsigned char* bytes, int length);
  bool fail(QString* error, const QString& message);
  void closeGif();

  QSaveFile file_;
  QSize size_;
  int delay_cs_;
  GifFileType* gif_ = nullptr;
  int frames_ = 0;
};

}  // namespace headlab
