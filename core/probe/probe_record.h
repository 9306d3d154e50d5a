#pragma once
// One line of probes.jsonl, written for every probe a run takes and read back by a window that
// follows the run from another process or machine (File > Follow run directory), so that the
// followed run shows the same views as a live one: the heads, the attention map, the atlas,
// the module matrices and table.
//
// A record is the summary (probe_json.h; its keys stay as they were, scripts read them) plus
//   tokens, n_layers, n_heads, seq_len      the probe input and the model's shape
//   head_similarity                         one n_heads x n_heads matrix per layer
//   matrices[i].values                      each module matrix, row-major rows
//   attention_maps {block, side, rows}      rows[layer][head][q] holds keys 0..q of query
//                                           block q: the causal mask makes the rest 0
// Added numbers carry kRecordDigits significant digits; magnitudes below kRecordFloor are 0.
//
// A large model's maps are block-averaged so that a line stays bounded: `block` is the least
// number of tokens per map row with at most kMaxRecordMapValues stored values in all, and
// `side` = ceil(seq_len / block). Cell (Q, K) is the mean over the queries q of block Q of
// their attention on the keys of block K (k <= q): a row of blocks still sums to what a row
// of the map does (1 for a softmax head).
//
// Records of older versions (the summary alone) read as a snapshot with statistics, ablations
// and module states but no maps, no similarity and no matrix values.
#include <nlohmann/json.hpp>

#include <cstdint>

#include "probe/snapshot.h"

namespace headlab::probe {

inline constexpr int64_t kMaxRecordMapValues = int64_t(1) << 18;
inline constexpr int kRecordDigits = 4;
inline constexpr double kRecordFloor = 1e-6;

// v with kRecordDigits significant digits (0 below kRecordFloor); non-finite values pass
// through (JSON writes them as null).
double round_for_record(double v);

// Tokens per map row for a probe of this shape: 1 when all maps fit in max_map_values.
int record_map_block(int n_layers, int n_heads, int seq_len, int64_t max_map_values = kMaxRecordMapValues);

// The probes.jsonl line of a probe (without maps when the snapshot has none).
nlohmann::json record_json(const ProbeSnapshot& snapshot, int64_t max_map_values = kMaxRecordMapValues);

// A record read back. Downsampled maps come as a seq_len = side snapshot whose token labels
// are the blocks' positions (probe/map_blocks.h); a record without maps gives seq_len 0 and
// no attention. InputError, naming the step and the field, for a malformed record.
ProbeSnapshot snapshot_from_record(const nlohmann::json& record);

}  // namespace headlab::probe
