// dist::GradientReducer (c10d's Reducer on HeadLab's Gloo group): two ranks in two threads of
// this process, over loopback. Each rank's backward must leave in .grad the mean of the ranks'
// gradients, bucketed or not, with micro-batches accumulated locally first, and a parameter
// the loss does not reach must not hold the buckets up.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <thread>

#include "common/errors.h"
#include "dist/data_parallel.h"
#include "dist/gradient_reducer.h"

namespace headlab::dist {
namespace {

int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// A small model: two linear layers and a parameter no loss uses (a bypassed module's).
struct Params {
  torch::Tensor w1, w2, unused;
};

// Made before the ranks' threads start: torch's default generator is one for the process.
Params make_params() {
  static const Params made = [] {
    torch::manual_seed(7);
    return Params{torch::randn({64, 32}), torch::randn({32, 16}), torch::randn({8})};
  }();
  return {made.w1.clone().requires_grad_(), made.w2.clone().requires_grad_(), made.unused.clone().requires_grad_()};
}

// The input of (rank, micro-batch), also drawn once, before the threads.
torch::Tensor input_of(int rank, int micro) {
  static const std::vector<torch::Tensor> inputs = [] {
    torch::manual_seed(100);
    std::vector<torch::Tensor> all;
    for (int i = 0; i < 2 * 3; ++i) all.push_back(torch::randn({5, 64}));
    return all;
  }();
  return inputs.at(static_cast<size_t>(3 * rank + micro));
}

torch::Tensor loss_of(const Params& p, int rank, int micro) {
  return torch::tanh(input_of(rank, micro).matmul(p.w1)).matmul(p.w2).pow(2).mean();
}

// Runs `body(rank, group)` on two connected ranks, one thread each.
void on_two_ranks(const std::function<void(int, DataParallel&)>& body) {
  make_params();
  input_of(0, 0);
  const int port = free_port();
  std::vector<std::exception_ptr> errors(2);
  std::vector<std::thread> threads;
  for (int rank = 0; rank < 2; ++rank)
    threads.emplace_back([&, rank] {
      try {
        RankEnvironment env;
        env.rank = rank;
        env.world_size = 2;
        env.master_port = port;
        auto group = DataParallel::connect(env, std::chrono::seconds(30));
        body(rank, *group);
      } catch (...) {
        errors[rank] = std::current_exception();
      }
    });
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

// The ranks' mean gradient of (micro-batches 0..micros-1 of both ranks), computed here alone.
std::vector<torch::Tensor> expected_mean(int micros) {
  Params p = make_params();
  for (int rank = 0; rank < 2; ++rank)
    for (int micro = 0; micro < micros; ++micro) loss_of(p, rank, micro).backward();
  return {p.w1.grad() / 2, p.w2.grad() / 2};
}

void check_mean_gradients(int micros, const char* bucket_mb, int min_buckets) {
  if (!data_parallel_available()) GTEST_SKIP() << "this build has no Gloo";
  setenv("HEADLAB_DIST_BUCKET_MB", bucket_mb, 1);
  const auto expected = expected_mean(micros);
  std::vector<Params> results(2);
  std::vector<int> buckets(2);
  on_two_ranks([&](int rank, DataParallel& group) {
    Params p = make_params();
    GradientReducer reducer(group);
    for (int step = 0; step < 2; ++step) {  // the second step reuses the Reducer
      for (auto* t : {&p.w1, &p.w2}) t->mutable_grad() = torch::Tensor();
      for (int micro = 0; micro < micros; ++micro) {
        auto loss = loss_of(p, rank, micro);
        if (micro == micros - 1) EXPECT_TRUE(reducer.expect_backward(loss));
        loss.backward();
      }
    }
    EXPECT_EQ(reducer.builds(), 1);
    buckets[rank] = reducer.buckets();
    results[rank] = p;
  });
  unsetenv("HEADLAB_DIST_BUCKET_MB");
  for (int rank = 0; rank < 2; ++rank) {
    SCOPED_TRACE("rank " + std::to_string(rank));
    EXPECT_GE(buckets[rank], min_buckets);
    EXPECT_TRUE(torch::allclose(results[rank].w1.grad(), expected[0], 1e-5, 1e-6));
    EXPECT_TRUE(torch::allclose(results[rank].w2.grad(), expected[1], 1e-5, 1e-6));
    // Not reached by the loss on any rank: left without a gradient, and nothing waited for it.
    EXPECT_FALSE(results[rank].unused.grad().defined());
  }
  // Both ranks hold the same reduced gradients, bit for bit.
  EXPECT_TRUE(torch::equal(results[0].w1.grad(), results[1].w1.grad()));
}

TEST(GradientReducer, OneBucketLeavesTheRanksMeanGradient) { check_mean_gradients(1, "25", 1); }

TEST(GradientReducer, SmallBucketsGiveTheSameMean) {
  // 1 KiB buckets: w2 (2 KiB, reached first) and w1 (8 KiB) land in different buckets.
  check_mean_gradients(1, "0.001", 2);
}

TEST(GradientReducer, EarlierMicroBatchesAccumulateLocallyAndTheLastBackwardReducesTheirSum) {
  check_mean_gradients(3, "0.001", 2);
}

TEST(GradientReducer, IsRebuiltWhenTheLossReachesOtherParameters) {
  if (!data_parallel_available()) GTEST_SKIP() << "this build has no Gloo";
  std::vector<Params> results(2);
  std::vector<int> builds(2);
  on_two_ranks([&](int rank, DataParallel& group) {
    Params p = make_params();
    GradientReducer reducer(group);
    auto step = [&] {
      auto loss = loss_of(p, rank, 0);
      reducer.expect_backward(loss);
      loss.backward();
    };
    step();
    p.w1.requires_grad_(false);  // w1 frozen: only w2 is reduced now
    p.w2.mutable_grad() = torch::Tensor();
    step();
    // A frozen loss has nothing to reduce: nothing is armed, nothing waits.
    p.w2.requires_grad_(false);
    EXPECT_FALSE(reducer.expect_backward(loss_of(p, rank, 0)));
    builds[rank] = reducer.builds();
    results[rank] = p;
  });
  Params p = make_params();
  p.w1.requires_grad_(false);
  for (int rank = 0; rank < 2; ++rank) loss_of(p, rank, 0).backward();
  for (int rank = 0; rank < 2; ++rank) {
    EXPECT_EQ(builds[rank], 2);
    EXPECT_TRUE(torch::allclose(results[rank].w2.grad(), p.w2.grad() / 2, 1e-5, 1e-6));
  }
}

TEST(GradientReducer, BadEnvironmentValuesAreInputErrors) {
  setenv("HEADLAB_DIST_BUCKET_MB", "lots", 1);
  EXPECT_THROW(bucket_bytes_cap(), InputError);
  setenv("HEADLAB_DIST_BUCKET_MB", "0.5", 1);
  EXPECT_EQ(bucket_bytes_cap(), 512 * 1024);
  unsetenv("HEADLAB_DIST_BUCKET_MB");
  EXPECT_EQ(bucket_bytes_cap(), 25 * 1024 * 1024);
  setenv("HEADLAB_DIST_OVERLAP", "yes", 1);
  EXPECT_THROW(overlap_enabled(), InputError);
  setenv("HEADLAB_DIST_OVERLAP", "0", 1);
  EXPECT_FALSE(overlap_enabled());
  unsetenv("HEADLAB_DIST_OVERLAP");
  EXPECT_TRUE(overlap_enabled());
}

}  // namespace
}  // namespace headlab::dist
