#pragma once
// Bypasses one interaction module of one layer for the lifetime of the guard, then puts back
// exactly what was there: the module state, each of its parameters' requires_grad and the
// very .grad tensor each held. set_module_state clears gradients, and a probe may run between
// a backward pass and the optimizer step: without this, probing would change training.
#include <torch/torch.h>

#include <vector>

#include "model/transformer.h"

namespace headlab::probe {

class ScopedBypass {
 public:
  // Throws InputError if the module is absent (the model is left as it was).
  ScopedBypass(model::Transformer& model, int64_t layer, model::ModuleKind kind);
  // Restores if restore() has not run; never throws, so it is safe during stack unwinding.
  ~ScopedBypass();
  ScopedBypass(const ScopedBypass&) = delete;
  ScopedBypass& operator=(const ScopedBypass&) = delete;

  // Restores now, reporting any failure; the destructor then does nothing.
  void restore();

 private:
  model::Transformer& model_;
  int64_t layer_;
  model::ModuleKind kind_;
  model::ModuleState original_;
  std::vector<torch::Tensor> params_;
  std::vector<bool> requires_grad_;
  std::vector<torch::Tensor> grads_;  // undefined where a parameter had none
  bool restored_ = false;
};

}  // namespace headlab::probe
