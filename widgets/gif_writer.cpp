#include "gif_writer.h"

#include <gif_lib.h>

#include <QImage>
#include <QObject>
#include <QPainter>
#include <algorithm>
#include <vector>

namespace headlab {
namespace {

QString gifError(int code) {
  const char* text = GifErrorString(code);
  return text ? QString::fromUtf8(text) : QObject::tr("giflib error %1").arg(code);
}

}  // namespace

GifWriter::GifWriter(const QString& path, QSize size, int delay_cs)
    : file_(path), size_(size), delay_cs_(std::clamp(delay_cs, 1, 65535)) {}

GifWriter::~GifWriter() {
  closeGif();
  if (file_.isOpen()) file_.cancelWriting();  // QSaveFile removes its temporary
}

int GifWriter::writeBytes(GifFileType* gif, const unsigned char* bytes, int length) {
  auto* file = static_cast<QSaveFile*>(gif->UserData);
  return int(file->write(reinterpret_cast<const char*>(bytes), length));
}

bool GifWriter::fail(QString* error, const QString& message) {
  if (error) *error = message;
  closeGif();
  if (file_.isOpen()) file_.cancelWriting();
  return false;
}

void GifWriter::closeGif() {
  if (!gif_) return;
  int code = 0;
  EGifCloseFile(gif_, &code);  // frees gif_ whatever it returns
  gif_ = nullptr;
}

bool GifWriter::open(QString* error) {
  if (size_.width() <= 0 || size_.height() <= 0 || size_.width() > 65535 || size_.height() > 65535)
    return fail(error, QObject::tr("bad GIF size %1x%2").arg(size_.width()).arg(size_.height()));
  if (!file_.open(QIODevice::WriteOnly))
    return fail(error, QObject::tr("cannot write %1: %2").arg(file_.fileName(), file_.errorString()));
  int code = 0;
  gif_ = EGifOpen(&file_, &GifWriter::writeBytes, &code);
  if (!gif_) return fail(error, QObject::tr("cannot start GIF %1: %2").arg(file_.fileName(), gifError(code)));
  EGifSetGifVersion(gif_, true);  // GIF89a: needed for the delay and loop extensions
  if (EGifPutScreenDesc(gif_, size_.width(), size_.height(), 8, 0, nullptr) == GIF_ERROR)
    return fail(error, QObject::tr("cannot write GIF header: %1").arg(gifError(gif_->Error)));
  // NETSCAPE2.0 application extension, sub-block {1, loop count 0 = forever}.
  static const unsigned char kLoop[3] = {1, 0, 0};
  if (EGifPutExtensionLeader(gif_, APPLICATION_EXT_FUNC_CODE) == GIF_ERROR ||
      EGifPutExtensionBlock(gif_, 11, "NETSCAPE2.0") == GIF_ERROR || EGifPutExtensionBlock(gif_, 3, kLoop) == GIF_ERROR ||
      EGifPutExtensionTrailer(gif_) == GIF_ERROR)
    return fail(error, QObject::tr("cannot write the GIF loop extension: %1").arg(gifError(gif_->Error)));
  return true;
}

bool GifWriter::addFrame(const QImage& frame, QString* error) {
  if (!gif_) return fail(error, QObject::tr("the GIF is not open"));
  if (frame.size() != size_)
    return fail(error, QObject::tr("frame %1 is %2x%3, the GIF is %4x%5")
                           .arg(frames_)
                           .arg(frame.width())
                           .arg(frame.height())
                           .arg(size_.width())
                           .arg(size_.height()));
  // Flatten onto white (GIF has no partial transparency) in a format we can read directly.
  QImage flat(size_, QImage::Format_RGB32);
  flat.fill(Qt::white);
  {
    QPainter painter(&flat);
    painter.drawImage(0, 0, frame);
  }
  const int w = size_.width(), h = size_.height();
  const size_t n = size_t(w) * h;
  std::vector<GifByteType> r(n), g(n), b(n), indices(n);
  for (int y = 0; y < h; ++y) {
    const auto* line = reinterpret_cast<const QRgb*>(flat.constScanLine(y));
    for (int x = 0; x < w; ++x) {
      const size_t i = size_t(y) * w + x;
      r[i] = GifByteType(qRed(line[x]));
      g[i] = GifByteType(qGreen(line[x]));
      b[i] = GifByteType(qBlue(line[x]));
    }
  }
  int colors = 256;
  GifColorType palette[256] = {};
  if (GifQuantizeBuffer(unsigned(w), unsigned(h), &colors, r.data(), g.data(), b.data(), indices.data(), palette) ==
      GIF_ERROR)
    return fail(error, QObject::tr("cannot reduce frame %1 to 256 colours").arg(frames_));
  // GifMakeMapObject wants a power of two; unused entries stay black and are never referenced.
  ColorMapObject* map = GifMakeMapObject(256, palette);
  if (!map) return fail(error, QObject::tr("out of memory for the GIF palette"));

  GraphicsControlBlock gcb{};
  gcb.DisposalMode = DISPOSE_DO_NOT;
  gcb.DelayTime = delay_cs_;
  gcb.TransparentColor = NO_TRANSPARENT_COLOR;
  GifByteType extension[4];
  EGifGCBToExtension(&gcb, extension);
  bool ok = EGifPutExtension(gif_, GRAPHICS_EXT_FUNC_CODE, 4, extension) != GIF_ERROR &&
            EGifPutImageDesc(gif_, 0, 0, w, h, false, map) != GIF_ERROR;
  for (int y = 0; ok && y < h; ++y) ok = EGifPutLine(gif_, indices.data() + size_t(y) * w, w) != GIF_ERROR;
  GifFreeMapObject(map);
  if (!ok) return fail(error, QObject::tr("cannot write frame %1 of %2: %3").arg(frames_).arg(file_.fileName(), gifError(gif_->Error)));
  ++frames_;
  return true;
}

bool GifWriter::finish(QString* error) {
  if (!gif_) return fail(error, QObject::tr("the GIF is not open"));
  if (frames_ == 0) return fail(error, QObject::tr("no frames to write"));
  int code = 0;
  const int result = EGifCloseFile(gif_, &code);  // writes the trailer, frees gif_
  gif_ = nullptr;
  if (result == GIF_ERROR) return fail(error, QObject::tr("cannot finish %1: %2").arg(file_.fileName(), gifError(code)));
  if (!file_.commit()) return fail(error, QObject::tr("cannot save %1: %2").arg(file_.fileName(), file_.errorString()));
  return true;
}

}  // namespace headlab
