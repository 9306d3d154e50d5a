#pragma once
// Data parallelism inside one CPU training step: the batch's rows are split into one shard per
// core, and each shard's forward and backward run on its own thread with a single intra-op
// thread.
//
// Why: a small model's step is hundreds of short ops. With ATen's intra-op parallelism every
// op forks and joins the OpenMP team and every GEMM synchronizes OpenBLAS's threads. On the
// 2-core VM the benchmarks ran on, those wake-ups and yields were 31% of the tiny config's
// step (perf: futex and sched_yield in the kernel). Shards share nothing until their
// gradients are summed, so each core stays busy without waiting on the other.
//
// Deterministic for a given shard count: each shard runs single-threaded and the shard
// gradients are added in shard order. Against the unsharded step the values differ only by
// float summation order.
#include <ATen/ThreadLocalState.h>
#include <torch/torch.h>

#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace headlab::train {

// Persistent worker threads for the shards; shard 0 runs on the calling thread.
class ShardPool {
 public:
  // shards >= 1; threads_per_shard: the intra-op threads inside each shard.
  ShardPool(int shards, int threads_per_shard);
  ~ShardPool();
  ShardPool(const ShardPool&) = delete;
  ShardPool& operator=(const ShardPool&) = delete;

  int shards() const { return shards_; }
  int threads_per_shard() const { return threads_per_shard_; }
  // Runs task(i) for every shard i and returns when all are done. The caller's thread-local
  // state (grad mode, profiler) carries over to the workers. Rethrows the exception of the
  // lowest shard that threw.
  void run(const std::function<void(int)>& task);

 private:
  void worker_main(int shard);

  const int shards_;
  const int threads_per_shard_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable start_, done_;
  uint64_t generation_ = 0;
  int pending_ = 0;
  bool stop_ = false;
  const std::function<void(int)>* task_ = nullptr;
  std::vector<std::exception_ptr>* errors_ = nullptr;
  const at::ThreadLocalState* thread_state_ = nullptr;  // the caller's, during run()
};

// Runs fn(i) for i in [0, n), the indices dealt round-robin over the pool's shards.
void for_each_in_shards(ShardPool& pool, int64_t n, const std::function<void(int64_t)>& fn);

// `rows` split into `shards` contiguous, near-equal parts (the first ones get one row more):
// {begin, count} per shard. Never more parts than rows.
std::vector<std::pair<int64_t, int64_t>> shard_rows(int64_t rows, int shards);

// How many shards a CPU step over `rows` batch rows uses with `threads` intra-op threads.
// requested > 0 is taken as asked (at most `rows`); 0 means automatic: one per thread (at most
// `rows`) when there is more than one thread and the parallel backend lets each thread have
// its own count (OpenMP), else 1.
int shard_count(int requested, int threads, int64_t rows);

// Forward and backward of one batch in shards. loss_of(begin, count) builds the loss of rows
// [begin, begin + count): its share of the whole batch's loss, so the shard losses add up to
// it. Each shard backpropagates loss * scale; the gradients of `params` (those that require
// grad) are added to their .grad in shard order. Returns the sum of the shard losses.
double sharded_backward(ShardPool& pool, int64_t rows, const std::function<torch::Tensor(int64_t, int64_t)>& loss_of,
                        double scale, const std::vector<torch::Tensor>& params);

}  // namespace headlab::train
