#pragma once
// Pure numeric helpers for the loss chart. No Qt, so they are testable in isolation and
// reusable by headless tools that want the same smoothing as the GUI.
#include <cstddef>
#include <vector>

namespace headlab {

// Debiased exponential moving average (the TensorBoard/Adam kind):
//   s_t = a * s_{t-1} + (1 - a) * x_t,  s_0 = 0,  output s_t / (1 - a^t).
// The debiasing keeps the first values on the data instead of dragging them toward zero.
// `weight` is a in [0, 1); 0 returns the raw series. Values outside are clamped.
class DebiasedEma {
 public:
  explicit DebiasedEma(double weight = 0.0);
  // Feeds one value and returns the debiased smoothed value after it. Non-finite inputs
  // (a diverged step) are passed through without poisoning the state, so the curve
  // recovers as soon as the loss is finite again.
  double push(double x);
  void reset();
  double weight() const { return a_; }

 private:
  double a_;
  double s_ = 0.0;
  double a_pow_t_ = 1.0;  // a^t, kept as a running product instead of pow() per step
};

std::vector<double> debiasedEma(const std::vector<double>& x, double weight);

// One pixel column of a min/max envelope.
struct EnvelopeColumn {
  double x = 0;      // centre of the column in data coordinates
  double min = 0;    // smallest y of the points that fall in the column
  double max = 0;    // largest y
  double last = 0;   // y of the last (right-most) point in the column
  std::size_t count = 0;
};

// Min/max envelope decimation over `columns` equal columns spanning [xmin, xmax].
// `xs` must be sorted ascending; xs and ys have equal length. Every finite point inside the
// range contributes to its column's min and max (nothing is skipped), so a single spike
// among millions of points stays visible. Empty columns are left out of the result.
std::vector<EnvelopeColumn> minMaxEnvelope(const std::vector<double>& xs,
                                           const std::vector<double>& ys,
                                           double xmin, double xmax, int columns);

}  // namespace headlab
