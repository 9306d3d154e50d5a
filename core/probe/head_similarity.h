#pragma once
// How alike the heads of one layer attend: for heads a and b,
//   similarity(a, b) = mean over queries t >= 1 of (1 - JSD_2(p_a[t, :], p_b[t, :])),
// JSD_2 the Jensen-Shannon divergence in bits, so every entry lies in [0, 1]: 1 for heads
// that attend identically, 0 for heads whose rows never share a key. The matrix is symmetric
// with a diagonal of exactly 1. Query 0 is left out as in head_stats.h (every head puts all
// its mass on key 0 there); with T < 2 every entry is 1. Rows are read as |p| normalized to
// sum 1 over the keys u <= t (talking heads can leave them signed); an all-zero row counts
// as identical to another all-zero row and maximally unlike any other row. Torch-free.
#include <vector>

#include "probe/attention_view.h"
#include "probe/snapshot.h"

namespace headlab::probe {

// The n_heads x n_heads similarity matrix of one layer. Throws InputError for a bad layer.
PlainMatrix head_similarity(const AttentionView& attention, int layer);

// One matrix per layer.
std::vector<PlainMatrix> all_head_similarity(const AttentionView& attention);

}  // namespace headlab::probe
