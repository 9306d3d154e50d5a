#pragma once
// The gradient allreduce overlapped with the backward: c10d's Reducer, the engine under
// PyTorch's DistributedDataParallel. It hooks each parameter's gradient accumulator, packs the
// gradients into buckets (in the order the loss's graph reaches the parameters, nearest the
// loss first, which is about the order the backward produces their gradients) and starts a
// bucket's allreduce as soon as its last gradient is ready, while the backward goes on with the
// layers below. The backward returns once every bucket is reduced.
//
// The parameters are taken from the loss's graph, not from the model: a frozen or bypassed
// module's parameters get no gradient, and c10d's own way to skip those
// (find_unused_parameters) costs a collective a step and warns on every run that has none.
//
// Why not one allreduce after the backward (DataParallel::allreduce_sum, still used when a
// step's backward runs in row shards, whose per-shard autograd::grad passes never reach the
// accumulators' hooks): on a model whose communication is a real share of the step, the
// buckets of the upper layers travel while the lower layers' gradients are computed.
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace c10d {
class Reducer;
}

namespace headlab::dist {

class DataParallel;

// Bucket caps as PyTorch's DDP has them (bucket_cap_mb=25, a 1 MiB first bucket), the cap
// overridable with HEADLAB_DIST_BUCKET_MB (InputError for a value that is not a positive
// number).
int64_t bucket_bytes_cap();

// HEADLAB_DIST_OVERLAP=0 turns the overlap off (one allreduce after the backward), for the
// benchmark's comparison; anything else but unset or 1 is an InputError.
bool overlap_enabled();

class GradientReducer {
 public:
  // No collective runs here or in expect_backward: only the backward's allreduces.
  explicit GradientReducer(DataParallel& group);
  ~GradientReducer();
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  // Call after the forward whose backward ends the step, before that backward. It finds the
  // parameters `loss` reaches (a frozen or bypassed module's are not), builds c10d's Reducer
  // for them if they are not the set it has (a module inserted, folded, frozen or bypassed
  // changes it), and arms it: the backward then leaves in each of them .grad's mean over the
  // ranks, as DDP does (c10d divides the sum by the world size). The backwards of earlier
  // micro-batches, without this call, accumulate locally, as under DDP's no_sync().
  // Returns false, and arms nothing, when the loss reaches no parameter that takes a gradient.
  // Every rank must call it at the same point with the same model and graph.
  bool expect_backward(const torch::Tensor& loss);

  // Of the Reducer built last: how many buckets, and how many times one was built.
  int buckets() const { return static_cast<int>(bucket_count_); }
  int builds() const { return builds_; }

 private:
  DataParallel& group_;
  std::vector<torch::Tensor> params_;  // what reducer_ was built for, in gradient order
  std::shared_ptr<c10d::Reducer> reducer_;
  size_t bucket_count_ = 0;
  int builds_ = 0;
};

}  // namespace headlab::dist
