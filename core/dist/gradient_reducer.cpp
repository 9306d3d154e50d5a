#include "dist/gradient_reducer.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <deque>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>

#include "common/errors.h"
#include "dist/data_parallel.h"

#if defined(HEADLAB_HAVE_GLOO)
#include <torch/csrc/autograd/functions/accumulate_grad.h>
#include <torch/csrc/distributed/c10d/reducer.hpp>

#include "dist/process_group.h"
#endif

namespace headlab::dist {
namespace {

constexpr int64_t kMiB = 1024 * 1024;
constexpr int64_t kFirstBucketBytes = 1 * kMiB;  // torch.distributed's _DEFAULT_FIRST_BUCKET_BYTES

}  // namespace

int64_t bucket_bytes_cap() {
  const char* text = std::getenv("HEADLAB_DIST_BUCKET_MB");
  if (!text) return 25 * kMiB;
  errno = 0;
  char* end = nullptr;
  const double mb = std::strtod(text, &end);
  if (*text == '\0' || *end != '\0' || errno == ERANGE || !std::isfinite(mb) || mb <= 0 || mb > 1e6)
    throw InputError(std::string("HEADLAB_DIST_BUCKET_MB='") + text +
                     "' must be a positive number of MiB (PyTorch's DDP uses 25)");
  return std::max<int64_t>(1, static_cast<int64_t>(mb * static_cast<double>(kMiB)));
}

bool overlap_enabled() {
  const char* text = std::getenv("HEADLAB_DIST_OVERLAP");
  if (!text || std::string(text) == "1") return true;
  if (std::string(text) == "0") return false;
  throw InputError(std::string("HEADLAB_DIST_OVERLAP='") + text +
                   "' must be 1 (allreduce buckets during the backward) or 0 (one allreduce after it)");
}

#if defined(HEADLAB_HAVE_GLOO)

namespace {

// c10d's Reducer constructor as of LibTorch 1.13 to 2.6; later releases append flags with
// defaults that this call leaves as they are.
template <typename R, typename... Args>
std::shared_ptr<R> make_reducer(Args&&... args) {
  static_assert(std::is_constructible_v<R, Args...>, "c10d::Reducer's constructor changed: see gradient_reducer.cpp");
  return std::make_shared<R>(std::forward<Args>(args)...);
}

// The leaf tensors whose gradient accumulators `loss`'s graph reaches, breadth first from the
// loss: the parameters the backward will give a gradient, about in the order it does.
std::vector<torch::Tensor> parameters_reached(const torch::Tensor& loss) {
  std::vector<torch::Tensor> reached;
  if (!loss.grad_fn()) return reached;
  std::unordered_set<const torch::autograd::Node*> seen{loss.grad_fn().get()};
  std::deque<const torch::autograd::Node*> queue{loss.grad_fn().get()};
  while (!queue.empty()) {
    const auto* node = queue.front();
    queue.pop_front();
    for (const auto& edge : node->next_edges()) {
      const auto* next = edge.function.get();
      if (!next || !seen.insert(next).second) continue;
      if (const auto* accumulate = dynamic_cast<const torch::autograd::AccumulateGrad*>(next))
        reached.push_back(accumulate->variable);
      else
        queue.push_back(next);
    }
  }
  return reached;
}

bool same_tensors(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](const torch::Tensor& x, const torch::Tensor& y) { return x.is_same(y); });
}

}  // namespace

GradientReducer::GradientReducer(DataParallel& group) : group_(group) {}
GradientReducer::~GradientReducer() = default;

bool GradientReducer::expect_backward(const torch::Tensor& loss) {
  auto params = parameters_reached(loss);
  if (params.empty()) return false;
  if (!reducer_ || !same_tensors(params, params_)) {
    reducer_.reset();  // its hooks leave the old accumulators before the new ones get theirs
    params_ = std::move(params);
    const std::vector<bool> dense(params_.size(), false);
    const int64_t cap = bucket_bytes_cap(), first = std::min(kFirstBucketBytes, cap);
    // The first bucket small, as in DDP, so that communication starts early in the backward.
    auto [bucket_indices, size_limits] = c10d::compute_bucket_assignment_by_size(
        params_, {static_cast<size_t>(first), static_cast<size_t>(cap)}, dense);
    bucket_count_ = bucket_indices.size();
    reducer_ = make_reducer<c10d::Reducer>(params_, std::move(bucket_indices), std::move(size_limits),
                                           group_.impl_->process_group, dense, cap,
                                           /*find_unused_parameters=*/false, /*gradient_as_bucket_view=*/false,
                                           std::unordered_map<size_t, std::string>{}, first);
    ++builds_;
  }
  reducer_->prepare_for_forward();
  reducer_->prepare_for_backward({loss});
  return true;
}

#else  // without Gloo there is no DataParallel to build this on (DataParallel::connect refuses)

GradientReducer::GradientReducer(DataParallel& group) : group_(group) {}
GradientReducer::~GradientReducer() = default;
bool GradientReducer::expect_backward(const torch::Tensor&) {
  throw std::logic_error("GradientReducer needs a build with Gloo");
}

#endif

}  // namespace headlab::dist
