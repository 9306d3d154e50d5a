#include "probe/head_similarity.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "common/errors.h"

namespace headlab::probe {
namespace {

double abs_sum(const float* row, int n) {
  double total = 0;
  for (int u = 0; u < n; ++u) total += std::fabs(row[u]);
  return total;
}

// Jensen-Shannon divergence in bits of two rows of n keys, each normalized by its |sum|.
double js_divergence(const float* a, const float* b, int n) {
  const double za = abs_sum(a, n), zb = abs_sum(b, n);
  if (za <= 0 || zb <= 0) return (za <= 0 && zb <= 0) ? 0.0 : 1.0;
  double js = 0;
  for (int u = 0; u < n; ++u) {
    const double p = std::fabs(a[u]) / za, q = std::fabs(b[u]) / zb, m = 0.5 * (p + q);
    if (p > 0) js += 0.5 * p * std::log2(p / m);
    if (q > 0) js += 0.5 * q * std::log2(q / m);
  }
  return std::clamp(js, 0.0, 1.0);  // rounding can step just outside [0, 1]
}

double map_similarity(const float* a, const float* b, int T) {
  if (T < 2) return 1.0;
  double total = 0;
  for (int t = 1; t < T; ++t) {
    const size_t offset = static_cast<size_t>(t) * T;
    total += 1.0 - js_divergence(a + offset, b + offset, t + 1);
  }
  return total / (T - 1);
}

}  // namespace

PlainMatrix head_similarity(const AttentionView& attention, int layer) {
  if (layer < 0 || layer >= attention.n_layers)
    throw InputError("layer " + std::to_string(layer) + " does not exist (the attention has " +
                     std::to_string(attention.n_layers) + " layers)");
  const int H = attention.n_heads;
  PlainMatrix m{H, H, std::vector<float>(static_cast<size_t>(H) * H, 1.0f)};
  for (int a = 0; a < H; ++a)
    for (int b = a + 1; b < H; ++b) {
      const float s = static_cast<float>(map_similarity(attention.map(layer, a), attention.map(layer, b), attention.seq_len));
      m.values[static_cast<size_t>(a) * H + b] = s;
      m.values[static_cast<size_t>(b) * H + a] = s;
    }
  return m;
}

std::vector<PlainMatrix> all_head_similarity(const AttentionView& attention) {
  std::vector<PlainMatrix> out;
  out.reserve(attention.n_layers);
  for (int l = 0; l < attention.n_layers; ++l) out.push_back(head_similarity(attention, l));
  return out;
}

}  // namespace headlab::probe
