#pragma once
// The colour map of the Head Atlas thumbnails, as a plain 256-entry table so the OpenGL
// textures, the QPainter fallback and the exported replay frames are byte-identical.
//
// Mapping: an attention weight p in [0, 1] becomes the byte b = round(p * 255) (values outside
// [0, 1] are clamped, NaN counts as 0), and b becomes colour lut[b]: a linear RGB blend between
// the five viridis stops of heatmapstyle::sequentialGradient() (dark purple at 0, blue, teal,
// green, yellow at 1), so a thumbnail reads exactly like the big attention map. Cells the
// causal mask hides (key after query) are the same grey as the attention map's masked cells,
// so "not allowed to look" never looks like "chose not to look".
#include <array>
#include <cstdint>

namespace headlab::atlascolor {

struct Rgba {
  uint8_t r = 0, g = 0, b = 0, a = 255;
  bool operator==(const Rgba& o) const { return r == o.r && g == o.g && b == o.b && a == o.a; }
};

// heatmapstyle::kMaskedColor.
inline constexpr Rgba kMasked{170, 170, 170, 255};

// p -> byte as documented above.
uint8_t probabilityToByte(float p);

// The colour of a byte; lut()[0] is the p = 0 colour, lut()[255] the p = 1 colour.
const std::array<Rgba, 256>& lut();
inline Rgba colorOf(float p) { return lut()[probabilityToByte(p)]; }

}  // namespace headlab::atlascolor
