#pragma once
// Folding linear interaction modules into the projections (MODEL.md §2) and MEA virtual-head
// compression of the KV cache (§6). Both rewrite weights in place, under no-grad.
#include <string>
#include <vector>

#include "model/transformer.h"

namespace headlab::model {

struct FoldReport {
  std::vector<std::string> folded;   // e.g. "kha.t_q@0", "mea.mix_k@1"
  std::vector<std::string> skipped;  // with the reason, e.g. "kha.t_k@0 (gta: k shares wkv with v)"
};

// Folds KHA-linear (T_q, T_k, T_v) and MEA-HLC (mix_k, mix_v) into wq/wk/wv and resets
// them to identity; the module stays (at identity). `kinds` limits it to some modules
// (empty: all), `layers` to some layers (empty: all). Bypassed modules are left alone.
// Logits are unchanged up to float rounding. KHA-mlp, talking heads and the group norm
// cannot be folded and are reported as skipped.
FoldReport fold_modules(Transformer& model, const std::vector<ModuleKind>& kinds = {},
                        const std::vector<int64_t>& layers = {});

// Compresses wk/wv of every layer to `virtual_kv_heads` (G') heads by SVD, moving the rest
// into mix_k/mix_v. A model without MEA gets MEA with group_norm off, so only the truncation
// changes its function. Throws InputError when the model cannot be compressed.
void compress_kv_heads(Transformer& model, int64_t virtual_kv_heads);

}  // namespace headlab::model
