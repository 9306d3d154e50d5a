#include "train/sharded_backward.h"

#include <algorithm>

#include "common/runtime.h"

namespace headlab::train {
namespace {

// Sets the calling thread's intra-op threads for a scope and restores them after.
class ThreadCountScope {
 public:
  explicit ThreadCountScope(int threads) : before_(at::get_num_threads()) {
    changed_ = before_ != threads && set_thread_intra_op_threads(threads);
  }
  ~ThreadCountScope() {
    if (changed_) set_thread_intra_op_threads(before_);
  }
  ThreadCountScope(const ThreadCountScope&) = delete;
  ThreadCountScope& operator=(const ThreadCountScope&) = delete;

 private:
  int before_;
  bool changed_ = false;
};

// Whether each thread can have its own intra-op count (OpenMP): asked once, on a scratch
// thread so that no real thread's setting is touched.
bool per_thread_counts_work() {
  static const bool works = [] {
    bool ok = false;
    std::thread probe([&] { ok = set_thread_intra_op_threads(1) && at::get_num_threads() == 1; });
    probe.join();
    return ok;
  }();
  return works;
}

}  // namespace

ShardPool::ShardPool(int shards, int threads_per_shard)
    : shards_(std::max(1, shards)), threads_per_shard_(std::max(1, threads_per_shard)) {
  for (int i = 1; i < shards_; ++i) workers_.emplace_back([this, i] { worker_main(i); });
}

ShardPool::~ShardPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  start_.notify_all();
  for (auto& w : workers_) w.join();
}

void ShardPool::worker_main(int shard) {
  set_thread_intra_op_threads(threads_per_shard_);
  uint64_t seen = 0;
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    start_.wait(lock, [&] { return stop_ || generation_ != seen; });
    if (stop_) return;
    seen = generation_;
    const auto* task = task_;
    auto* errors = errors_;
    const auto* state = thread_state_;
    lock.unlock();
    try {
      at::ThreadLocalStateGuard guard(*state);
      (*task)(shard);
    } catch (...) {
      (*errors)[static_cast<size_t>(shard)] = std::current_exception();
    }
    lock.lock();
    if (--pending_ == 0) done_.notify_one();
  }
}

void ShardPool::run(const std::function<void(int)>& task) {
  std::vector<std::exception_ptr> errors(static_cast<size_t>(shards_));
  const at::ThreadLocalState state;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    task_ = &task;
    errors_ = &errors;
    thread_state_ = &state;
    pending_ = shards_ - 1;
    ++generation_;
  }
  start_.notify_all();
  try {
    ThreadCountScope scope(threads_per_shard_);
    task(0);
  } catch (...) {
    errors[0] = std::current_exception();
  }
  {
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return pending_ == 0; });
    task_ = nullptr;
    errors_ = nullptr;
    thread_state_ = nullptr;
  }
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

void for_each_in_shards(ShardPool& pool, int64_t n, const std::function<void(int64_t)>& fn) {
  pool.run([&](int shard) {
    for (int64_t i = shard; i < n; i += pool.shards()) fn(i);
  });
}

std::vector<std::pair<int64_t, int64_t>> shard_rows(int64_t rows, int shards) {
  const int64_t n = std::max<int64_t>(1, std::min<int64_t>(rows, shards));
  std::vector<std::pair<int64_t, int64_t>> out;
  int64_t begin = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t count = rows / n + (i < rows % n ? 1 : 0);
    out.emplace_back(begin, count);
    begin += count;
  }
  return out;
}

int shard_count(int requested, int threads, int64_t rows) {
  if (rows <= 1) return 1;
  if (requested > 0) return static_cast<int>(std::min<int64_t>(requested, rows));
  if (threads <= 1 || !per_thread_counts_work()) return 1;
  return static_cast<int>(std::min<int64_t>(threads, rows));
}

double sharded_backward(ShardPool& pool, int64_t rows, const std::function<torch::Tensor(int64_t, int64_t)>& loss_of,
                        double scale, const std::vector<torch::Tensor>& params) {
  std::vector<torch::Tensor> trainable;
  for (const auto& p : params)
    if (p.requires_grad()) trainable.push_back(p);
  const auto parts = shard_rows(rows, pool.shards());
  std::vector<double> losses(parts.size(), 0.0);
  // Shard 0 accumulates straight into .grad; the others hand their gradients back, to be
  // added in shard order below (concurrent accumulation would add in arrival order).
  std::vector<std::vector<torch::Tensor>> grads(parts.size());
  pool.run([&](int shard) {
    const auto i = static_cast<size_t>(shard);
    if (i >= parts.size()) return;
    auto loss = loss_of(parts[i].first, parts[i].second);
    losses[i] = loss.item<double>();
    auto scaled = loss * scale;
    if (i == 0) {
      scaled.backward();
    } else if (!trainable.empty()) {
      grads[i] = torch::autograd::grad({scaled}, trainable, /*grad_outputs=*/{}, /*retain_graph=*/false,
                                       /*create_graph=*/false, /*allow_unused=*/true);
    }
  });
  torch::NoGradGuard no_grad;
  double total = losses[0];
  for (size_t i = 1; i < parts.size(); ++i) {
    total += losses[i];
    for (size_t j = 0; j < grads[i].size(); ++j) {
      const auto& g = grads[i][j];
      if (!g.defined()) continue;
      auto& p = trainable[j];
      if (p.grad().defined())
        p.mutable_grad().add_(g);
      else
        p.mutable_grad() = g;
    }
  }
  return total;
}

}  // namespace headlab::train
