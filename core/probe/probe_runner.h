#pragma once
// One probe of a live model on a fixed input: attention maps, head statistics and roles, head
// similarity, interaction-module matrices and per-module ablation losses, returned as a plain
// ProbeSnapshot that holds no tensor. Runs under no-grad in the caller's (worker) thread and
// leaves the model exactly as it found it: weights, module states, requires_grad, gradients.
#include <cstdint>
#include <string>
#include <vector>

#include "model/transformer.h"
#include "probe/ablation.h"
#include "probe/snapshot.h"

namespace headlab::probe {

struct ProbeOptions {
  // For every layer and every module that is Active or Frozen: the loss with that module
  // bypassed against the live loss (probe/ablation.h), one extra forward each.
  bool ablations = true;
  // The same for every head, its output zeroed (n_layers * n_heads forwards).
  bool head_ablations = true;
  // What the ablations are measured on: the task's scored rows (a run passes its validation
  // rows), or, when null, the probe sequence with every position scored.
  const ScoredRows* scored_rows = nullptr;
  // Attention maps and what is derived from them (heads, head_similarity). Off, those stay
  // empty and no attention is copied out of the forward pass.
  bool attention = true;
};

// tokens: the probe input (batch 1), at least 2 ids in [0, vocab_size) and at most
// max_seq_len. token_labels: one label per token, or empty for the ids in decimal.
// Throws InputError for bad input. Module matrices are always filled.
ProbeSnapshot run_probe(model::Transformer& model, const std::vector<int64_t>& tokens,
                        const std::vector<std::string>& token_labels, int64_t step, const ProbeOptions& options = {});

}  // namespace headlab::probe
