#include "atlas_colormap.h"

#include <algorithm>
#include <cmath>

namespace headlab::atlascolor {
namespace {

// The stops of heatmapstyle::sequentialGradient(), evenly spaced at 0, 0.25, ..., 1.
constexpr Rgba kStops[5] = {{68, 1, 84, 255}, {59, 82, 139, 255}, {33, 145, 140, 255}, {94, 201, 98, 255},
                            {253, 231, 37, 255}};

std::array<Rgba, 256> buildLut() {
  std::array<Rgba, 256> table{};
  for (int i = 0; i < 256; ++i) {
    const double x = i / 255.0 * 4.0;  // position in stop units
    const int lo = std::min(3, static_cast<int>(x));
    const double f = x - lo;
    auto mix = [f](uint8_t a, uint8_t b) { return static_cast<uint8_t>(std::lround(a + (b - a) * f)); };
    const Rgba& a = kStops[lo];
    const Rgba& b = kStops[lo + 1];
    table[size_t(i)] = {mix(a.r, b.r), mix(a.g, b.g), mix(a.b, b.b), 255};
  }
  return table;
}

}  // namespace

uint8_t probabilityToByte(float p) {
  if (!(p > 0.0f)) return 0;  // also NaN
  if (p >= 1.0f) return 255;
  return static_cast<uint8_t>(std::lround(p * 255.0f));
}

const std::array<Rgba, 256>& lut() {
  static const std::array<Rgba, 256> table = buildLut();
  return table;
}

}  // namespace headlab::atlascolor
