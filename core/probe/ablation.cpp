#include "probe/ablation.h"

#include <cmath>

#include "common/errors.h"
#include "probe/scoped_bypass.h"
#include "stats/estimate.h"
#include "train/row_losses.h"

namespace headlab::probe {
namespace {

// Zeroes one head's slice of a layer's output projection for the guard's lifetime. Only the
// values change (under no-grad, in place), never the tensor, so optimizer state and any
// gradient the parameter holds stay attached to it.
class ScopedHeadZero {
 public:
  ScopedHeadZero(model::Transformer& model, int64_t layer, int64_t head) {
    const int64_t dh = model->config().head_dim;
    weight_ = model->blocks[static_cast<size_t>(layer)]->attn->wo->weight;
    slice_ = weight_.narrow(1, head * dh, dh);
    saved_ = slice_.clone();
    slice_.zero_();
  }
  ~ScopedHeadZero() { slice_.copy_(saved_); }
  ScopedHeadZero(const ScopedHeadZero&) = delete;
  ScopedHeadZero& operator=(const ScopedHeadZero&) = delete;

 private:
  torch::Tensor weight_, slice_, saved_;
};

struct Measured {
  std::vector<double> sums, counts;
};

Measured measure(model::Transformer& model, const ScoredRows& rows) {
  auto logits = model->logits(rows.inputs.to(model->device()));
  auto r = train::masked_row_losses(logits, rows.targets, rows.mask);
  Measured m{std::move(r.sums), std::move(r.counts)};
  // One row (the probe text): its tokens are the samples, or there would be no error bar.
  if (m.sums.size() == 1) {
    auto ce = torch::nn::functional::cross_entropy(
        logits.to(torch::kFloat32).reshape({-1, logits.size(-1)}), rows.targets.to(model->device()).reshape({-1}),
        torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
    auto mask = rows.mask.reshape({-1}).to(torch::kCPU, torch::kFloat64).contiguous();
    auto per_token = (ce.to(torch::kCPU, torch::kFloat64) * mask).contiguous();
    m.sums.assign(per_token.data_ptr<double>(), per_token.data_ptr<double>() + per_token.numel());
    m.counts.assign(mask.data_ptr<double>(), mask.data_ptr<double>() + mask.numel());
  }
  return m;
}

// The paired difference (removed - live) per sample, as a clustered mean over samples.
stats::ClusteredMean delta(const Measured& removed, const Measured& live) {
  std::vector<double> diffs(live.sums.size());
  for (size_t i = 0; i < diffs.size(); ++i) diffs[i] = removed.sums[i] - live.sums[i];
  return stats::clustered_mean(diffs, live.counts);
}

}  // namespace

ScoredRows probe_text_rows(const std::vector<int64_t>& tokens) {
  if (tokens.size() < 2) throw InputError("an ablation needs at least 2 tokens");
  const int64_t T = static_cast<int64_t>(tokens.size()) - 1;
  auto all = torch::tensor(tokens, torch::kLong).view({1, T + 1});
  return {all.narrow(1, 0, T).contiguous(), all.narrow(1, 1, T).contiguous(), torch::ones({1, T}), "probe text"};
}

Ablations measure_ablations(model::Transformer& model, const ScoredRows& rows, const AblationOptions& options) {
  torch::NoGradGuard no_grad;
  Ablations out;
  const Measured live = measure(model, rows);
  const auto live_mean = stats::clustered_mean(live.sums, live.counts);
  out.loss_live = live_mean.mean;
  auto fill = [&](auto& a, const Measured& removed) {
    const auto d = delta(removed, live);
    a.delta = d.mean;
    a.standard_error = d.standard_error;
    a.loss_live = live_mean.mean;
    a.loss_bypassed = live_mean.mean + d.mean;
    a.samples = d.clusters;
    a.measured_on = rows.source;
  };
  const auto& c = model->config();
  if (options.modules) {
    for (int64_t l = 0; l < c.n_layers; ++l)
      for (model::ModuleKind kind : model::kAllModuleKinds) {
        const auto state = model->module_state(l, kind);
        if (state != model::ModuleState::Active && state != model::ModuleState::Frozen) continue;
        ModuleAblation a;
        a.layer = static_cast<int>(l);
        a.module = model::to_string(kind);
        {
          ScopedBypass bypass(model, l, kind);
          const Measured removed = measure(model, rows);
          bypass.restore();  // here rather than in the destructor, so a failure is reported
          fill(a, removed);
        }
        out.modules.push_back(a);
      }
  }
  if (options.heads) {
    for (int64_t l = 0; l < c.n_layers; ++l)
      for (int64_t h = 0; h < c.n_heads; ++h) {
        HeadAblation a;
        a.layer = static_cast<int>(l);
        a.head = static_cast<int>(h);
        Measured removed;
        {
          ScopedHeadZero zero(model, l, h);
          removed = measure(model, rows);
        }
        fill(a, removed);
        out.heads.push_back(a);
      }
  }
  return out;
}

}  // namespace headlab::probe
