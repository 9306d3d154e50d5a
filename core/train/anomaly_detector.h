#pragma once
// Loss spikes and non-finite steps. A spike is a finite loss above factor x the running mean
// (an exponential mean over recent steps, armed after a short warm-up so the steep start of
// training is not flagged). Non-finite losses or gradients are counted in a streak; the
// trainer skips those steps and pauses the run when the streak reaches its limit.
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>

namespace headlab::train {

class AnomalyDetector {
 public:
  AnomalyDetector(double spike_factor, int64_t max_bad_steps) : factor_(spike_factor), max_bad_(max_bad_steps) {}

  // Returns true when `loss` is a spike. Spikes do not enter the running mean.
  bool observe_loss(double loss) {
    bad_streak_ = 0;
    const bool armed = seen_ >= kArmAfter;
    const bool spike = armed && loss > factor_ * mean_;
    if (!spike) {
      mean_ = seen_ == 0 ? loss : kDecay * mean_ + (1.0 - kDecay) * loss;
      ++seen_;
    }
    return spike;
  }
  // A skipped step. Returns true when the run should pause.
  bool observe_bad_step() { return ++bad_streak_ >= max_bad_; }
  int64_t bad_streak() const { return bad_streak_; }
  double running_mean() const { return mean_; }

  nlohmann::json to_json() const { return {{"mean", mean_}, {"seen", seen_}, {"bad_streak", bad_streak_}}; }
  void load(const nlohmann::json& j) {
    mean_ = j.at("mean").get<double>();
    seen_ = j.at("seen").get<int64_t>();
    bad_streak_ = j.at("bad_streak").get<int64_t>();
  }

 private:
  static constexpr int64_t kArmAfter = 20;
  static constexpr double kDecay = 0.95;
  double factor_;
  int64_t max_bad_;
  double mean_ = 0.0;
  int64_t seen_ = 0;
  int64_t bad_streak_ = 0;
};

}  // namespace headlab::train
