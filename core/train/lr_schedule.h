#pragma once
// Linear warmup then cosine decay to a floor: the learning rate of the step about to run.
#include <cmath>
#include <cstdint>

namespace headlab::train {

// step counts from 0; warmup reaches `peak` at step warmup-1; cosine reaches
// peak * floor_fraction at step total_steps and stays there.
inline double scheduled_lr(int64_t step, int64_t total_steps, int64_t warmup, double peak, double floor_fraction) {
  if (warmup > 0 && step < warmup) return peak * static_cast<double>(step + 1) / static_cast<double>(warmup);
  const double span = static_cast<double>(std::max<int64_t>(1, total_steps - warmup));
  const double progress = std::min(1.0, static_cast<double>(step - warmup) / span);
  const double floor = peak * floor_fraction;
  return floor + (peak - floor) * 0.5 * (1.0 + std::cos(M_PI * progress));
}

}  // namespace headlab::train
