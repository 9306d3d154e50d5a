#include "train/anomaly_detector.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace headlab::train {
namespace {

double median_of(std::vector<double> v) {
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
  const double upper = v[mid];
  if (v.size() % 2 == 1) return upper;
  return (*std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid)) + upper) / 2;
}

}  // namespace

AnomalyDetector::AnomalyDetector(double threshold, int64_t window, int64_t max_bad_steps)
    : threshold_(threshold), window_(static_cast<size_t>(std::max<int64_t>(window, 2))), max_bad_(max_bad_steps) {}

bool AnomalyDetector::observe_loss(double loss) {
  bad_streak_ = 0;
  bool above = false;
  last_score_ = 0;
  if (recent_.size() >= std::max<size_t>(window_ / 2, 2)) {
    const std::vector<double> values(recent_.begin(), recent_.end());
    median_ = median_of(values);
    std::vector<double> deviations;
    deviations.reserve(values.size());
    for (double v : values) deviations.push_back(std::fabs(v - median_));
    // A floor of 0.5% of the median: on a flat, nearly noiseless curve the MAD goes to 0 and
    // any wiggle would be a "spike".
    robust_sd_ = std::max(1.4826 * median_of(deviations), 0.005 * std::fabs(median_));
    last_score_ = robust_sd_ > 0 ? (loss - median_) / robust_sd_ : 0;
    above = last_score_ > threshold_;
  }
  const bool starts = above && !in_episode_;
  in_episode_ = above;
  if (!above) {
    recent_.push_back(loss);
    if (recent_.size() > window_) recent_.pop_front();
  }
  return starts;
}

nlohmann::json AnomalyDetector::to_json() const {
  return {{"recent", std::vector<double>(recent_.begin(), recent_.end())},
          {"in_episode", in_episode_},
          {"bad_streak", bad_streak_}};
}

void AnomalyDetector::load(const nlohmann::json& j) {
  recent_.clear();
  in_episode_ = false;
  if (j.contains("recent")) {
    for (double v : j.at("recent").get<std::vector<double>>()) recent_.push_back(v);
    while (recent_.size() > window_) recent_.pop_front();
    in_episode_ = j.value("in_episode", false);
  }
  bad_streak_ = j.at("bad_streak").get<int64_t>();
}

}  // namespace headlab::train
