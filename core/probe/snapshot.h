#pragma once
// What a probe publishes: plain, immutable data (vectors + shapes + labels). The worker
// thread builds it under no-grad and hands it to the GUI as shared_ptr<const ProbeSnapshot>;
// nothing here holds a tensor. widgets/ includes this header.
#include <cstdint>
#include <string>
#include <vector>

namespace headlab {

// A dense row-major matrix.
struct PlainMatrix {
  int rows = 0;
  int cols = 0;
  std::vector<float> values;  // rows * cols
  float at(int r, int c) const { return values[static_cast<size_t>(r) * cols + c]; }
};

// Per-head statistics of the attention pattern on the probe input (core/probe/head_stats.h).
// Means run over the queries t >= 1: query 0 can only attend to itself, so it says nothing
// about the head.
struct HeadStats {
  int layer = 0;
  int head = 0;
  float entropy = 0;        // mean over queries of the row entropy, nats
  float mean_distance = 0;  // mean over queries of sum_u p[t,u] (t - u)
  float previous_token = 0; // mean attention on the previous token
  float induction = 0;      // mean attention on the token after the previous occurrence
  float sink = 0;           // mean attention on the first token
  float self = 0;           // mean attention on the diagonal
  std::string role;         // previous-token, induction, sink, local, diffuse
};

// A cross-head matrix of an interaction module and its summary numbers.
struct ModuleMatrix {
  int layer = 0;
  std::string module;  // "kha", "mea", "talking_heads"
  std::string name;    // "t_q", "t_k", "t_v", "v_up", "v_gate", "v_down", "mix_k", "mix_v", "pre", "post"
  PlainMatrix matrix;
  float distance_from_identity = 0;  // Frobenius norm of (M - I) (I truncated for non-square)
  float off_diagonal_mass = 0;       // sum |off-diagonal| / sum |all|
  float effective_rank = 0;          // exp(entropy of normalized singular values)
  std::string state;                 // the module's state: "active", "frozen", "bypassed"
};

// What removing one part of the model does to the loss on scored positions (probe/ablation.h):
// delta = loss_bypassed - loss_live, paired per sample, with its standard error.
struct Ablation {
  int layer = 0;
  double loss_bypassed = 0;
  double loss_live = 0;
  double delta = 0;
  double standard_error = 0;    // NaN when there were too few samples
  long long samples = 0;        // rows (or tokens of the probe text) the delta is a mean over
  std::string measured_on;      // "validation" or "probe text"
  // The sign is resolved when the delta is more than two standard errors away from 0.
  bool resolved() const { return standard_error == standard_error && (delta > 2 * standard_error || delta < -2 * standard_error); }
};
// One interaction module bypassed.
struct ModuleAblation : Ablation {
  std::string module;
};
// One head's output zeroed.
struct HeadAblation : Ablation {
  int head = 0;
};

struct ProbeSnapshot {
  int64_t step = 0;
  int n_layers = 0;
  int n_heads = 0;
  int seq_len = 0;
  std::vector<std::string> token_labels;   // seq_len labels of the probe input
  std::vector<float> attention;            // [n_layers, n_heads, seq_len, seq_len]
  std::vector<HeadStats> heads;            // n_layers * n_heads, layer-major
  std::vector<PlainMatrix> head_similarity;  // one n_heads x n_heads matrix per layer
  std::vector<ModuleMatrix> matrices;
  std::vector<ModuleAblation> ablations;
  std::vector<HeadAblation> head_ablations;  // layer-major

  // The [seq_len, seq_len] attention map of one head, row = query, column = key.
  PlainMatrix attention_map(int layer, int head) const {
    PlainMatrix m{seq_len, seq_len, {}};
    const size_t n = static_cast<size_t>(seq_len) * seq_len;
    const size_t offset = (static_cast<size_t>(layer) * n_heads + head) * n;
    m.values.assign(attention.begin() + offset, attention.begin() + offset + n);
    return m;
  }
};

}  // namespace headlab
