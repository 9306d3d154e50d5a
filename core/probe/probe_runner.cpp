#include "probe/probe_runner.h"

#include <torch/torch.h>

#include "common/errors.h"
#include "probe/attention_view.h"
#include "probe/head_similarity.h"
#include "probe/head_stats.h"
#include "probe/matrix_summary.h"
#include "probe/plain_copy.h"

namespace headlab::probe {
namespace {

void check_input(const model::Transformer& model, const std::vector<int64_t>& tokens,
                 const std::vector<std::string>& labels) {
  const auto& c = model->config();
  if (tokens.size() < 2) throw InputError("a probe needs at least 2 tokens, got " + std::to_string(tokens.size()));
  if (static_cast<int64_t>(tokens.size()) > c.max_seq_len)
    throw InputError("the probe's " + std::to_string(tokens.size()) + " tokens exceed max_seq_len (" +
                     std::to_string(c.max_seq_len) + ")");
  for (size_t i = 0; i < tokens.size(); ++i)
    if (tokens[i] < 0 || tokens[i] >= c.vocab_size)
      throw InputError("probe token " + std::to_string(i) + " has id " + std::to_string(tokens[i]) +
                       ", outside the vocabulary [0, " + std::to_string(c.vocab_size) + ")");
  if (!labels.empty() && labels.size() != tokens.size())
    throw InputError("the probe has " + std::to_string(tokens.size()) + " tokens but " +
                     std::to_string(labels.size()) + " token labels");
}

void fill_attention(ProbeSnapshot& snap, const std::vector<torch::Tensor>& per_layer,
                    const std::vector<int64_t>& tokens) {
  // Each layer is [1, H, T, T]: stacked and copied to the CPU in one transfer.
  auto all = torch::cat(per_layer, 0);  // [L, H, T, T]
  snap.n_layers = static_cast<int>(all.size(0));
  snap.n_heads = static_cast<int>(all.size(1));
  snap.attention = to_plain_vector(all);
  const AttentionView view{snap.attention.data(), snap.n_layers, snap.n_heads, snap.seq_len};
  snap.heads = all_head_stats(view, tokens);
  snap.head_similarity = all_head_similarity(view);
}

// 10 TFLOP: above what HeadLab's own models take (a 10M-parameter model with 32 heads on 8192
// validation tokens is 5 TFLOP), below a 135M pretrained model on a 256-token probe (19 TFLOP).
constexpr double kHeadAblationBudgetFlops = 1e13;

}  // namespace

ProbeSnapshot run_probe(model::Transformer& model, const std::vector<int64_t>& tokens,
                        const std::vector<std::string>& token_labels, int64_t step, const ProbeOptions& options) {
  check_input(model, tokens, token_labels);
  torch::NoGradGuard no_grad;
  ProbeSnapshot snap;
  snap.step = step;
  snap.seq_len = static_cast<int>(tokens.size());
  snap.n_layers = static_cast<int>(model->config().n_layers);
  snap.n_heads = static_cast<int>(model->config().n_heads);
  snap.token_labels = token_labels;
  if (snap.token_labels.empty())
    for (int64_t id : tokens) snap.token_labels.push_back(std::to_string(id));

  const auto input = torch::tensor(tokens, torch::kLong).view({1, snap.seq_len}).to(model->device());
  if (options.attention) {
    model::ForwardOptions forward_options;
    forward_options.return_attention = true;
    auto result = model->forward(input, forward_options);
    fill_attention(snap, result.attention, tokens);
  }
  snap.matrices = collect_module_matrices(model);

  if (options.ablations || options.head_ablations) {
    const ScoredRows fallback = options.scored_rows ? ScoredRows{} : probe_text_rows(tokens);
    const ScoredRows& rows = options.scored_rows ? *options.scored_rows : fallback;
    // Head ablations cost one forward per head: on a pretrained model (30 layers x 9 heads of a
    // 135M model, 70 GFLOP a forward at 256 tokens) that is minutes on a laptop, for a probe
    // that must take seconds. Past a budget they are left out (the views then show none).
    double parameters = 0;
    for (const auto& p : model->parameters()) parameters += static_cast<double>(p.numel());
    const double head_forward_flops = 2.0 * parameters * static_cast<double>(rows.inputs.numel()) *
                                      static_cast<double>(snap.n_layers) * static_cast<double>(snap.n_heads);
    const bool heads = options.head_ablations && head_forward_flops <= kHeadAblationBudgetFlops;
    auto measured = measure_ablations(model, rows, {options.ablations, heads});
    snap.ablations = std::move(measured.modules);
    snap.head_ablations = std::move(measured.heads);
  }
  return snap;
}

}  // namespace headlab::probe
