#pragma once
// A probes.jsonl record keeps a large model's attention maps block-averaged, so that a line
// stays bounded (probe/probe_record.h). A snapshot read back from such a record has one map
// row per block of tokens and labels each row with the positions it covers, "12–15": the
// views then label their axes truthfully, and map_blocks() lets them say that the map is
// coarser than the probe (the snapshot itself has no field for it). Torch-free and
// header-only: widgets/ reads it.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace headlab::probe {

struct MapBlocks {
  int tokens = 0;  // tokens the probe read
  int block = 1;   // tokens per map row (the last block may be shorter)
  int side = 0;    // map rows (and columns): ceil(tokens / block)
};

// "12–15" (an en dash, which no run of digits in a tokenizer's label contains).
inline std::string block_label(int first, int last) {
  return std::to_string(first) + "\u2013" + std::to_string(last);
}

// The blocks that a snapshot's labels describe when they are block labels (consecutive ranges
// from position 0, all of one size but the last, at least one of more than one token);
// nullopt for ordinary token labels.
inline std::optional<MapBlocks> map_blocks(const std::vector<std::string>& labels) {
  static const std::string dash = "\u2013";
  auto number = [](const std::string& s, size_t from, size_t to, int* out) {
    if (from >= to || to - from > 9) return false;
    int v = 0;
    for (size_t i = from; i < to; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
  };
  MapBlocks blocks;
  for (size_t i = 0; i < labels.size(); ++i) {
    const std::string& label = labels[i];
    const size_t at = label.find(dash);
    int first = 0, last = 0;
    if (at == std::string::npos || !number(label, 0, at, &first) ||
        !number(label, at + dash.size(), label.size(), &last))
      return std::nullopt;
    const int size = last - first + 1;
    if (first != blocks.tokens || size < 1) return std::nullopt;
    if (i == 0) blocks.block = size;
    // Every block but the last has the first one's size; the last may be shorter.
    if (size > blocks.block || (size < blocks.block && i + 1 != labels.size())) return std::nullopt;
    blocks.tokens = last + 1;
  }
  blocks.side = static_cast<int>(labels.size());
  if (blocks.side == 0 || blocks.block < 2) return std::nullopt;
  return blocks;
}

}  // namespace headlab::probe
