#pragma once
// Loss spikes and non-finite steps.
//
// A spike is a finite loss far above the recent ones: more than `threshold` robust standard
// deviations (1.4826 x the median absolute deviation) above the median of the last `window`
// accepted losses. A median, not a mean: the old detector (3x an exponential running mean)
// never fired in 34 real runs, because a jump that matters (0.3 nats on a loss of 2) is far
// below 3x, while the median and MAD follow the noise of the curve itself. The detector
// arms once half a window has been seen, so the steep start of training is not flagged, and
// reports one spike per episode: the losses that stay above the line after the first are
// part of the same spike (one event instead of a red smear of ten). Spike losses do not
// enter the window.
//
// Non-finite losses or gradients are counted in a streak; the trainer skips those steps and
// pauses the run when the streak reaches its limit.
#include <cstdint>
#include <deque>
#include <nlohmann/json.hpp>

namespace headlab::train {

class AnomalyDetector {
 public:
  AnomalyDetector(double threshold, int64_t window, int64_t max_bad_steps);

  // Returns true when `loss` starts a spike episode.
  bool observe_loss(double loss);
  // A skipped step. Returns true when the run should pause.
  bool observe_bad_step() { return ++bad_streak_ >= max_bad_; }
  int64_t bad_streak() const { return bad_streak_; }

  // Of the window as it was before the last observed loss (what a spike was measured against).
  double median() const { return median_; }
  double robust_sd() const { return robust_sd_; }
  // How many robust standard deviations the last loss was above the median.
  double last_score() const { return last_score_; }

  nlohmann::json to_json() const;
  // Reads what to_json wrote; state saved by versions with the mean-based detector starts
  // a fresh window (it has no losses to rebuild one from).
  void load(const nlohmann::json& j);

 private:
  double threshold_;
  size_t window_;
  int64_t max_bad_;
  std::deque<double> recent_;
  bool in_episode_ = false;
  double median_ = 0, robust_sd_ = 0, last_score_ = 0;
  int64_t bad_streak_ = 0;
};

}  // namespace headlab::train
