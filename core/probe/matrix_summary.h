#pragma once
// Summary numbers of the cross-head matrices of the interaction modules, and their
// collection from a model. The matrices are read as they are stored (MODEL.md §4), whatever
// the module's state, so a bypassed module still shows what it would do if re-enabled.
#include <vector>

#include "probe/snapshot.h"

namespace headlab::model {
class Transformer;  // model/transformer.h; declared here so this header stays torch-free
}

namespace headlab::probe {

struct MatrixSummary {
  float distance_from_identity = 0;  // ||M - I||_F, I = eye(rows, cols)
  float off_diagonal_mass = 0;       // sum |M[i,j], i != j| / sum |M|; 0 for a zero matrix
  float effective_rank = 0;          // exp(entropy of the singular values normalized to sum 1); 0 for a zero matrix
};

// Throws InputError unless values holds rows * cols numbers.
MatrixSummary summarize_matrix(const PlainMatrix& m);

// Every interaction-module matrix of every layer where the module is present, layer by layer:
// kha t_q, t_k, t_v, v_up, v_gate, v_down (those its modes have), mea mix_k, mix_v, talking_heads
// pre, post; each with its summary and the module's state. Copies to the CPU.
std::vector<ModuleMatrix> collect_module_matrices(const model::Transformer& model);

}  // namespace headlab::probe
