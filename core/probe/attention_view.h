#pragma once
// A read-only view of attention maps in plain memory, laid out [n_layers, n_heads, seq_len,
// seq_len] row-major (row = query, column = key), as ProbeSnapshot::attention holds them.
// The statistics take this view so they run on plain floats: no torch, testable by hand.
#include <cstddef>

namespace headlab::probe {

struct AttentionView {
  const float* data = nullptr;
  int n_layers = 0;
  int n_heads = 0;
  int seq_len = 0;

  // The [seq_len, seq_len] map of one head.
  const float* map(int layer, int head) const {
    const size_t n = static_cast<size_t>(seq_len) * seq_len;
    return data + (static_cast<size_t>(layer) * n_heads + head) * n;
  }
};

}  // namespace headlab::probe
