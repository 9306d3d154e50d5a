#pragma once
// Data-parallel training over PyTorch's own distributed engine (c10d): a Gloo process group
// on a TCPStore rendezvous, the same pieces PyTorch's DistributedDataParallel uses on CPUs.
//
// The ranks are found the way torchrun and Slurm launch PyTorch jobs: RANK, WORLD_SIZE,
// LOCAL_RANK, MASTER_ADDR and MASTER_PORT in the environment (headlab-cli train --nproc N
// sets them for N local ranks). Each rank trains on its share of every global batch; the
// trainer sums the shares' gradients here (train/trainer.h), so every rank takes the same
// optimizer step and holds the same weights, and rank 0 alone writes the run directory.
#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace headlab::dist {

class DataParallelError;

struct RankEnvironment {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
};

// The launch environment, checked (exit-2 InputErrors naming the variable); nullopt when
// WORLD_SIZE is unset: a one-process run.
std::optional<RankEnvironment> rank_environment_from_env();

// How long a rank waits for the others (the rendezvous, each collective) before it gives up
// with an error: HEADLAB_DIST_TIMEOUT_S, default 60 s.
std::chrono::seconds collective_timeout();

// Whether this build has the Gloo process group (libgloo-dev's headers at build time).
bool data_parallel_available();

class DataParallel {
 public:
  // Joins the process group: rank 0 serves the TCPStore at MASTER_ADDR:MASTER_PORT, the others
  // connect to it. InputError (exit 2) for an address that cannot be served or reached, a port
  // in use, or ranks that do not all arrive within `timeout`.
  static std::unique_ptr<DataParallel> connect(const RankEnvironment& env, std::chrono::seconds timeout);
  ~DataParallel();
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  int rank() const { return env_.rank; }
  int world_size() const { return env_.world_size; }

  // Sums each tensor over the ranks, in place. All tensors go in one flat buffer per dtype,
  // so a model's gradients cost one allreduce, not one per parameter. A rank that died or
  // hangs makes this throw (DataParallelError) within the timeout.
  void allreduce_sum(const std::vector<torch::Tensor>& tensors);
  // Wall time spent in allreduce_sum so far (waiting for the slowest rank included): the
  // benchmark's "allreduce share of the step".
  double allreduce_seconds() const { return allreduce_seconds_; }

  // The rows [begin, begin + count) of a global batch of `rows` rows that this rank trains on:
  // contiguous, in rank order, sizes differing by at most one.
  std::pair<int64_t, int64_t> share_of(int64_t rows) const;

  // The error a failed collective becomes: it names this rank and says that the run directory
  // keeps its last checkpoint.
  DataParallelError collective_failure(const std::exception& e) const;

 private:
  friend class GradientReducer;  // builds c10d's Reducer on this process group
  struct Impl;
  DataParallel(RankEnvironment env, std::unique_ptr<Impl> impl);
  RankEnvironment env_;
  std::unique_ptr<Impl> impl_;
  double allreduce_seconds_ = 0;
};

// A collective that failed: another rank is gone or stuck. Not an input error (exit 1), but
// worded for the user: it says which rank saw it and that the last checkpoint is intact.
class DataParallelError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace headlab::dist
