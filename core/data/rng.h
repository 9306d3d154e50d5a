#pragma once
// Deterministic randomness for data generation. Every sample must be identical on every
// platform and standard library, so nothing here uses <random>'s distributions (whose
// output is implementation-defined): the generator is xoshiro256** seeded by splitmix64,
// and the bounded and floating-point draws are written out below.
#include <cstdint>
#include <utility>

#include "data/split.h"

namespace headlab::data {

// The splitmix64 finaliser: a bijective 64-bit mixer with good avalanche.
inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Independent sub-streams are named by a few integers (e.g. split, batch index, row):
// each is folded in through the mixer so that neighbouring names give unrelated streams.
inline uint64_t stream_seed(uint64_t seed, uint64_t a, uint64_t b = 0, uint64_t c = 0) {
  constexpr uint64_t kGolden = 0x9E3779B97F4A7C15ULL;
  uint64_t h = mix64(seed + kGolden);
  h = mix64(h ^ mix64(a + 1 * kGolden));
  h = mix64(h ^ mix64(b + 2 * kGolden));
  h = mix64(h ^ mix64(c + 3 * kGolden));
  return h;
}

// Stream names used in the `a` slot of stream_seed, one per purpose.
enum class Stream : uint64_t {
  TrainBatches = 0,
  ValidationBatches = 1,
  Probe = 2,
  DataSplit = 3,  // one-off splits of a finite data set (e.g. modular-addition pairs)
};

// Validation rows are drawn with this seed, not the run's: every run of a task (any seed,
// any variant) is evaluated on the same held-out rows, so seed-to-seed differences in the
// validation loss are the model's, not the sample's.
constexpr uint64_t kValidationSeed = 0x68656C645F6F7574ULL;  // "held_out"

inline Stream batch_stream(Split split) {
  return split == Split::Train ? Stream::TrainBatches : Stream::ValidationBatches;
}

class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (uint64_t& word : s_) {
      seed += 0x9E3779B97F4A7C15ULL;
      word = mix64(seed);
    }
  }
  Rng(uint64_t seed, Stream stream, uint64_t b = 0, uint64_t c = 0)
      : Rng(stream_seed(seed, static_cast<uint64_t>(stream), b, c)) {}

  uint64_t next_u64() {  // xoshiro256**
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, n), n > 0, without modulo bias: draws below 2^64 mod n are rejected.
  uint64_t below(uint64_t n) {
    const uint64_t threshold = (0 - n) % n;
    for (;;) {
      const uint64_t r = next_u64();
      if (r >= threshold) return r % n;
    }
  }

  // Uniform in [lo, hi], lo <= hi.
  int64_t between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo) + 1));
  }

  // Uniform in [0, 1) with 53 random bits: exact in IEEE double, so identical everywhere.
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

  bool chance(double p) { return uniform() < p; }

  // Fisher-Yates with our own draws (std::shuffle's use of the generator is unspecified).
  template <class It>
  void shuffle(It first, It last) {
    for (auto n = last - first; n > 1; --n) {
      using std::swap;
      swap(first[n - 1], first[static_cast<decltype(n)>(below(static_cast<uint64_t>(n)))]);
    }
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace headlab::data
