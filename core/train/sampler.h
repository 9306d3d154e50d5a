#pragma once
// Text generation with the KV cache: temperature, top-k and a seed that makes it reproducible.
#include <cstdint>
#include <vector>

#include "model/transformer.h"

namespace headlab::train {

struct SampleOptions {
  int64_t max_tokens = 100;
  double temperature = 1.0;  // 0: greedy
  int64_t top_k = 0;         // 0: the whole vocabulary
  uint64_t seed = 0;
};

struct SampledToken {
  int64_t id = 0;
  float probability = 0;  // the model's probability of this token (temperature 1, no top-k)
};

// Generates up to max_tokens after `prompt`. When the context reaches max_seq_len the window
// slides: the cache restarts from the newest half of the context.
std::vector<SampledToken> sample(model::Transformer& model, const std::vector<int64_t>& prompt,
                                 const SampleOptions& options);

}  // namespace headlab::train
