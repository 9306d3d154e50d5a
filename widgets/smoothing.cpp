#include "smoothing.h"

#include <algorithm>
#include <cmath>

namespace headlab {

DebiasedEma::DebiasedEma(double weight) : a_(std::clamp(weight, 0.0, 0.999999)) {
  if (!std::isfinite(weight)) a_ = 0.0;
}

double DebiasedEma::push(double x) {
  if (!std::isfinite(x)) return x;
  s_ = a_ * s_ + (1.0 - a_) * x;
  a_pow_t_ *= a_;
  const double debias = 1.0 - a_pow_t_;
  return debias > 0.0 ? s_ / debias : x;
}

void DebiasedEma::reset() {
  s_ = 0.0;
  a_pow_t_ = 1.0;
}

std::vector<double> debiasedEma(const std::vector<double>& x, double weight) {
  DebiasedEma ema(weight);
  std::vector<double> out;
  out.reserve(x.size());
  for (double v : x) out.push_back(ema.push(v));
  return out;
}

std::vector<EnvelopeColumn> minMaxEnvelope(const std::vector<double>& xs,
                                           const std::vector<double>& ys,
                                           double xmin, double xmax, int columns) {
  std::vector<EnvelopeColumn> out;
  const std::size_t n = std::min(xs.size(), ys.size());
  if (n == 0 || columns <= 0 || !(xmax >= xmin)) return out;

  // Binary search the visible slice: the chart calls this on every pan, and only the
  // points in view should cost anything.
  const auto begin = std::lower_bound(xs.begin(), xs.begin() + n, xmin);
  const auto end = std::upper_bound(begin, xs.begin() + n, xmax);
  const double span = xmax - xmin;
  const double width = span > 0 ? span / columns : 0.0;

  int current = -1;
  for (auto it = begin; it != end; ++it) {
    const std::size_t i = static_cast<std::size_t>(it - xs.begin());
    const double y = ys[i];
    if (!std::isfinite(y)) continue;
    int col = span > 0 ? static_cast<int>((*it - xmin) / width) : 0;
    col = std::clamp(col, 0, columns - 1);  // x == xmax belongs to the last column
    if (col != current) {
      EnvelopeColumn c;
      c.x = xmin + (col + 0.5) * width;
      c.min = c.max = c.last = y;
      out.push_back(c);
      current = col;
    }
    EnvelopeColumn& c = out.back();
    c.min = std::min(c.min, y);
    c.max = std::max(c.max, y);
    c.last = y;
    ++c.count;
  }
  return out;
}

}  // namespace headlab
