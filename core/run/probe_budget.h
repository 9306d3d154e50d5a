#pragma once
// How often to probe so that probes take at most a budget share of the worker's time.
// With a step taking s seconds and a probe p seconds, probing every n steps spends
// p / (n s + p) of the time probing; the smallest n within budget f is
// n = ceil(p (1 - f) / (f s)). Times are exponential means, so one slow step does not swing it.
#include <algorithm>
#include <cmath>
#include <cstdint>

namespace headlab::run {

class ProbeBudget {
 public:
  explicit ProbeBudget(double fraction = 0.05) : fraction_(fraction) {}
  void set_fixed_interval(int64_t n) { fixed_ = n; }  // 0: adaptive
  void record_step(double seconds) { step_s_ = mean(step_s_, seconds); }
  void record_probe(double seconds) {
    probe_s_ = mean(probe_s_, seconds);
    probe_total_s_ += seconds;
  }
  void record_busy(double seconds) { busy_total_s_ += seconds; }

  int64_t interval() const {
    if (fixed_ > 0) return fixed_;
    if (step_s_ <= 0 || probe_s_ <= 0) return kMinInterval;
    const double n = std::ceil(probe_s_ * (1.0 - fraction_) / (fraction_ * step_s_));
    return std::clamp<int64_t>(static_cast<int64_t>(n), kMinInterval, kMaxInterval);
  }
  // Share of the worker's busy time spent probing so far.
  double spent_fraction() const { return busy_total_s_ > 0 ? probe_total_s_ / busy_total_s_ : 0.0; }

  static constexpr int64_t kMinInterval = 1;
  static constexpr int64_t kMaxInterval = 100000;

 private:
  static double mean(double current, double x) { return current <= 0 ? x : 0.8 * current + 0.2 * x; }
  double fraction_;
  int64_t fixed_ = 0;
  double step_s_ = 0, probe_s_ = 0;
  double probe_total_s_ = 0, busy_total_s_ = 0;
};

}  // namespace headlab::run
