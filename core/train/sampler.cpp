#include "train/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/errors.h"
#include "data/rng.h"

namespace headlab::train {

std::vector<SampledToken> sample(model::Transformer& model, const std::vector<int64_t>& prompt,
                                 const SampleOptions& options) {
  if (prompt.empty()) throw InputError("sample: the prompt is empty");
  if (!(options.temperature >= 0) || !std::isfinite(options.temperature))  // NaN fails every comparison
    throw InputError("sample: temperature must be a finite number >= 0");
  if (options.top_k < 0) throw InputError("sample: top-k must be >= 0");
  torch::NoGradGuard no_grad;
  const auto device = model->device();
  const int64_t max_len = model->config().max_seq_len;
  data::Rng rng(options.seed);
  std::vector<int64_t> context = prompt;
  if (static_cast<int64_t>(context.size()) > max_len) context.erase(context.begin(), context.end() - max_len);
  std::vector<SampledToken> out;
  model::KVCache cache;
  torch::Tensor logits =
      model->forward(torch::tensor(context, torch::kLong).view({1, -1}).to(device), {false, &cache}).logits;
  for (int64_t i = 0; i < options.max_tokens; ++i) {
    auto last = logits[0][-1].to(torch::kCPU, torch::kFloat64);
    auto probs = torch::softmax(last, -1);
    const int64_t V = probs.size(0);
    std::vector<double> p(probs.data_ptr<double>(), probs.data_ptr<double>() + V);
    std::vector<double> logit(last.data_ptr<double>(), last.data_ptr<double>() + V);
    int64_t chosen = 0;
    if (options.temperature == 0) {
      chosen = std::max_element(p.begin(), p.end()) - p.begin();
    } else {
      std::vector<int64_t> order(V);
      std::iota(order.begin(), order.end(), 0);
      // Ties broken by id so that the candidate set is the same on every platform.
      std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return logit[a] > logit[b]; });
      const int64_t k = options.top_k > 0 ? std::min(options.top_k, V) : V;
      std::vector<double> weights(k);
      double total = 0;
      for (int64_t j = 0; j < k; ++j) total += weights[j] = std::exp((logit[order[j]] - logit[order[0]]) / options.temperature);
      double r = rng.uniform() * total;
      chosen = order[k - 1];
      for (int64_t j = 0; j < k; ++j) {
        if ((r -= weights[j]) < 0) {
          chosen = order[j];
          break;
        }
      }
    }
    out.push_back({chosen, static_cast<float>(p[chosen])});
    context.push_back(chosen);
    if (cache.length() + 1 > max_len) {
      // Slide: restart the cache from the newest half of the context.
      cache = model::KVCache();
      std::vector<int64_t> window(context.end() - std::max<int64_t>(1, max_len / 2), context.end());
      logits = model->forward(torch::tensor(window, torch::kLong).view({1, -1}).to(device), {false, &cache}).logits;
    } else {
      logits = model->forward(torch::tensor({chosen}, torch::kLong).view({1, 1}).to(device), {false, &cache}).logits;
    }
  }
  return out;
}

}  // namespace headlab::train
