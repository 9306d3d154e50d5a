#include "probe/scoped_bypass.h"

namespace headlab::probe {

ScopedBypass::ScopedBypass(model::Transformer& model, int64_t layer, model::ModuleKind kind)
    : model_(model), layer_(layer), kind_(kind), original_(model->module_state(layer, kind)) {
  // Remember everything before touching anything, so a failure below can be undone.
  params_ = model_->blocks[layer_]->attn->module_parameters(kind_);
  for (const auto& p : params_) {
    requires_grad_.push_back(p.requires_grad());
    grads_.push_back(p.grad());
  }
  try {
    model_->set_module_state(layer_, kind_, model::ModuleState::Bypassed);
  } catch (...) {
    if (original_ != model::ModuleState::Absent) {
      try {
        restore();
      } catch (...) {
        // The first error is the one worth reporting.
      }
    }
    restored_ = true;
    throw;
  }
}

ScopedBypass::~ScopedBypass() {
  if (restored_) return;
  try {
    restore();
  } catch (...) {
    // A destructor must not throw; restore() only fails if the model itself is broken.
  }
}

void ScopedBypass::restore() {
  restored_ = true;
  model_->set_module_state(layer_, kind_, original_);
  // set_module_state derives requires_grad from the state and drops the gradients: put back
  // the saved flags and the same gradient tensors (not copies) the parameters held.
  for (size_t i = 0; i < params_.size(); ++i) {
    params_[i].set_requires_grad(requires_grad_[i]);
    params_[i].mutable_grad() = grads_[i];
  }
}

}  // namespace headlab::probe
