#pragma once
// Honest ablations: what a module or a head contributes, measured on scored data.
//
// Δ = (loss with the part removed) - (live loss), on the positions the task scores, paired
// row by row and reported with its standard error over rows. A module is removed by bypassing
// it (ScopedBypass); a head by zeroing its output (its columns of the output projection, so
// whatever produced it, MEA group norm or talking heads included, stops reaching the residual).
//
// Why scored positions only: the induction task's first half is random symbols that no model
// can predict (6-7 nats); a mean over every position let those dominate, and bypassing KHA on
// the default demo showed Δ -0.07 while the loss on the scored positions rose by +0.145.
#include <torch/torch.h>

#include <string>
#include <vector>

#include "model/transformer.h"
#include "probe/snapshot.h"

namespace headlab::probe {

// Rows to measure on: inputs and targets [B, T] int64, mask [B, T] (1 = scored).
struct ScoredRows {
  torch::Tensor inputs, targets, mask;
  std::string source;  // what they are, for the user: "validation", "probe text"
};

// The probe sequence itself, every next-token position scored: the fallback when there is no
// task data (a model opened on its own). Tokens of the one row count as the samples.
ScoredRows probe_text_rows(const std::vector<int64_t>& tokens);

struct AblationOptions {
  bool modules = true;  // every Active or Frozen module of every layer
  bool heads = true;    // every query head of every layer
};

struct Ablations {
  double loss_live = 0;
  std::vector<ModuleAblation> modules;
  std::vector<HeadAblation> heads;
};

// Leaves the model exactly as it found it (weights, module states, requires_grad, grads).
Ablations measure_ablations(model::Transformer& model, const ScoredRows& rows, const AblationOptions& options = {});

}  // namespace headlab::probe
