// Data-parallel shards inside a CPU training step: the pool, the row split, the gradients
// against the unsharded step, determinism, and the trainer's cpu_shards setting.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <atomic>
#include <set>
#include <stdexcept>
#include <thread>

#include "common/errors.h"
#include "common/runtime.h"
#include "model_test_utils.h"
#include "train/sharded_backward.h"
#include "train/trainer.h"
#include "train_test_util.h"

using namespace headlab;
using namespace headlab::train;
namespace tu = headlab::testutil;

namespace {

// Restores the process's intra-op threads (the tests run with OMP_NUM_THREADS=1).
struct ThreadsRestorer {
  int before = at::get_num_threads();
  ~ThreadsRestorer() { at::set_num_threads(before); }
};

torch::Tensor rows_loss(model::Transformer& m, const torch::Tensor& tokens, int64_t begin, int64_t count,
                        double total_tokens) {
  auto part = tokens.narrow(0, begin, count);
  auto logits = m->logits(part.narrow(1, 0, part.size(1) - 1));
  auto ce = torch::nn::functional::cross_entropy(
      logits.reshape({-1, logits.size(-1)}), part.narrow(1, 1, part.size(1) - 1).reshape({-1}),
      torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
  return ce / total_tokens;
}

std::vector<torch::Tensor> params_of(model::Transformer& m) {
  std::vector<torch::Tensor> out;
  for (const auto& [name, p] : m->named_tensors()) out.push_back(p);
  return out;
}

void clear_grads(const std::vector<torch::Tensor>& params) {
  for (auto p : params)
    if (p.grad().defined()) p.mutable_grad().reset();
}

}  // namespace

TEST(ShardRows, SplitsContiguouslyWithTheRemainderFirst) {
  using Parts = std::vector<std::pair<int64_t, int64_t>>;
  EXPECT_EQ(shard_rows(16, 2), (Parts{{0, 8}, {8, 8}}));
  EXPECT_EQ(shard_rows(5, 3), (Parts{{0, 2}, {2, 2}, {4, 1}}));
  EXPECT_EQ(shard_rows(3, 8), (Parts{{0, 1}, {1, 1}, {2, 1}}));
  EXPECT_EQ(shard_rows(7, 1), (Parts{{0, 7}}));
}

TEST(ShardCount, AutomaticIsOnePerThreadAndAnExplicitCountIsCappedByTheRows) {
  EXPECT_EQ(shard_count(0, 1, 16), 1);   // one thread: nothing to split over
  EXPECT_EQ(shard_count(0, 2, 16), 2);   // LibTorch's OpenMP takes per-thread counts
  EXPECT_EQ(shard_count(0, 8, 3), 3);    // never more shards than rows
  EXPECT_EQ(shard_count(0, 4, 1), 1);
  EXPECT_EQ(shard_count(3, 1, 16), 3);   // asked for: taken even on one thread
  EXPECT_EQ(shard_count(5, 2, 2), 2);
  EXPECT_EQ(shard_count(1, 8, 16), 1);   // 1 turns sharding off
}

TEST(ShardPool, RunsEveryShardOnceOnItsOwnThreadWithItsThreadCount) {
  ThreadsRestorer restore;
  at::set_num_threads(2);
  ASSERT_EQ(at::get_num_threads(), 2);
  ShardPool pool(3, 1);
  std::mutex m;
  std::set<std::thread::id> threads;
  std::vector<int> runs(3, 0), counts(3, 0);
  for (int round = 0; round < 4; ++round) {
    pool.run([&](int i) {
      std::lock_guard<std::mutex> lock(m);
      threads.insert(std::this_thread::get_id());
      ++runs[static_cast<size_t>(i)];
      counts[static_cast<size_t>(i)] = at::get_num_threads();
    });
  }
  EXPECT_EQ(runs, (std::vector<int>{4, 4, 4}));
  EXPECT_EQ(counts, (std::vector<int>{1, 1, 1}));  // every shard single-threaded, shard 0 too
  EXPECT_EQ(threads.size(), 3u);                   // persistent workers, not one thread per run
  EXPECT_TRUE(threads.count(std::this_thread::get_id()));  // shard 0 is the caller
  EXPECT_EQ(at::get_num_threads(), 2);             // the caller's count is restored
}

TEST(ShardPool, ForEachInShardsVisitsEveryIndexOnce) {
  ShardPool pool(3, 1);
  std::vector<std::atomic<int>> seen(7);
  for_each_in_shards(pool, 7, [&](int64_t i) { ++seen[static_cast<size_t>(i)]; });
  for (size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i].load(), 1) << i;
  for_each_in_shards(pool, 0, [&](int64_t) { ADD_FAILURE() << "called for an empty range"; });
}

TEST(ShardPool, CarriesGradModeAndRethrowsTheLowestShardsError) {
  ShardPool pool(2, 1);
  std::atomic<int> grad_enabled{0};
  {
    torch::NoGradGuard no_grad;
    pool.run([&](int) { grad_enabled += torch::GradMode::is_enabled() ? 1 : 0; });
  }
  EXPECT_EQ(grad_enabled.load(), 0);
  pool.run([&](int) { grad_enabled += torch::GradMode::is_enabled() ? 1 : 0; });
  EXPECT_EQ(grad_enabled.load(), 2);

  try {
    pool.run([&](int i) { throw std::runtime_error("shard " + std::to_string(i)); });
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "shard 0");
  }
  try {
    pool.run([&](int i) {
      if (i == 1) throw InputError("bad rows in shard 1");
    });
    FAIL() << "no exception";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "bad rows in shard 1");
  }
  int after = 0;
  pool.run([&](int i) {
    if (i == 0) after = 1;
  });
  EXPECT_EQ(after, 1);  // still usable after errors
}

TEST(ShardedBackward, GradientsAndLossMatchTheWholeBatchAndAreDeterministic) {
  auto c = tu::tiny_config();
  tu::enable_all_modules(c, model::KhaMode::Mlp);
  auto m = tu::make_model(c);
  // Non-identity modules, so that every parameter gets a gradient worth comparing.
  {
    torch::NoGradGuard g;
    for (auto p : params_of(m)) p.add_(torch::randn_like(p) * 0.05);
  }
  torch::manual_seed(3);
  auto tokens = torch::randint(c.vocab_size, {5, 17}, torch::kLong);
  const double total = 5.0 * 16.0;
  const auto params = params_of(m);

  clear_grads(params);
  auto whole = rows_loss(m, tokens, 0, 5, total);
  (whole * 0.5).backward();
  std::vector<torch::Tensor> expected;
  for (const auto& p : params) expected.push_back(p.grad().clone());

  std::vector<torch::Tensor> first;
  for (int round = 0; round < 2; ++round) {
    ShardPool pool(3, 1);  // 5 rows: 2 + 2 + 1
    clear_grads(params);
    const double loss = sharded_backward(
        pool, 5, [&](int64_t b, int64_t n) { return rows_loss(m, tokens, b, n, total); }, 0.5, params);
    EXPECT_NEAR(loss, whole.item<double>(), 1e-6);
    for (size_t j = 0; j < params.size(); ++j) {
      ASSERT_TRUE(params[j].grad().defined()) << j;
      const double scale = expected[j].abs().max().item<double>() + 1e-12;
      EXPECT_LT((params[j].grad() - expected[j]).abs().max().item<double>() / scale, 1e-4) << j;
      if (round == 0) first.push_back(params[j].grad().clone());
      else EXPECT_TRUE(torch::equal(params[j].grad(), first[j])) << "not bit-identical: " << j;
    }
  }

  // Accumulates onto gradients already there (gradient accumulation over micro-batches), and
  // a frozen parameter gets none.
  ShardPool pool(2, 1);
  params[0].set_requires_grad(false);
  params[0].mutable_grad().reset();
  sharded_backward(pool, 5, [&](int64_t b, int64_t n) { return rows_loss(m, tokens, b, n, total); }, 0.5, params);
  EXPECT_FALSE(params[0].grad().defined());
  for (size_t j = 1; j < params.size(); ++j) {
    const double scale = expected[j].abs().max().item<double>() + 1e-12;
    EXPECT_LT((params[j].grad() - 2 * expected[j]).abs().max().item<double>() / scale, 1e-4) << j;
  }
}

TEST(ShardedBackward, SharedQkvWeightsCarryTheShardsGradientsIntoTheParameters) {
  for (auto v_mode : {model::KhaMode::Linear, model::KhaMode::Mlp}) {  // mlp: mix_v stays on the rows
    auto c = tu::tiny_config();
    tu::enable_all_modules(c, v_mode);
    auto m = tu::make_model(c);
    {
      torch::NoGradGuard g;
      for (auto p : params_of(m)) p.add_(torch::randn_like(p) * 0.05);
    }
    torch::manual_seed(4);
    auto tokens = torch::randint(c.vocab_size, {4, 33}, torch::kLong);  // 2 shards x 64 rows: fused path
    const double total = 4.0 * 32.0;
    auto params = params_of(m);
    clear_grads(params);
    rows_loss(m, tokens, 0, 4, total).backward();
    std::vector<torch::Tensor> expected;
    for (const auto& p : params) expected.push_back(p.grad().clone());

    clear_grads(params);
    auto leaves = m->share_qkv_weights();
    ASSERT_EQ(leaves.size(), static_cast<size_t>(c.n_layers));
    auto all = leaves;
    all.insert(all.end(), params.begin(), params.end());
    ShardPool pool(2, 1);
    sharded_backward(pool, 4, [&](int64_t b, int64_t n) { return rows_loss(m, tokens, b, n, total); }, 1.0, all);
    // The shards' forwards read the shared leaf, so the projections have no gradient yet.
    EXPECT_FALSE(m->blocks[0]->attn->wq->weight.grad().defined());
    EXPECT_TRUE(leaves[0].grad().defined());
    m->release_shared_qkv_weights(true);
    for (size_t j = 0; j < params.size(); ++j) {
      ASSERT_TRUE(params[j].grad().defined()) << j;
      const double scale = expected[j].abs().max().item<double>() + 1e-12;
      EXPECT_LT((params[j].grad() - expected[j]).abs().max().item<double>() / scale, 1e-4) << j;
    }
    // Released: the next forward builds its own weight again.
    clear_grads(params);
    rows_loss(m, tokens, 0, 4, total).backward();
    const auto& wq = m->blocks[0]->attn->wq->weight;
    ASSERT_TRUE(wq.grad().defined());
    for (size_t j = 0; j < params.size(); ++j)
      if (params[j].is_same(wq)) EXPECT_TRUE(torch::allclose(wq.grad(), expected[j], 1e-5, 1e-7));
  }
}

TEST(TrainerShards, ShardedTrainingFollowsTheUnshardedRunAndRepeatsBitForBit) {
  for (int64_t accum : {1, 2}) {  // 2: shards inside each micro-batch
    auto run = [accum](int64_t shards) {
      auto j = tu::tiny_experiment("induction", 6);
      j["train"]["cpu_shards"] = shards;
      j["train"]["grad_accum"] = accum;
      j["train"]["eval_every"] = 0;
      Trainer t(tu::experiment(j));
      std::vector<double> losses;
      while (!t.finished()) losses.push_back(t.step().metric->loss);
      return losses;
    };
    const auto plain = run(1), sharded = run(3), again = run(3);
    ASSERT_EQ(plain.size(), 6u);
    ASSERT_EQ(sharded.size(), 6u);
    for (size_t i = 0; i < plain.size(); ++i) {
      EXPECT_NEAR(sharded[i], plain[i], 1e-4 * std::abs(plain[i])) << "accum " << accum << " step " << i;
      EXPECT_EQ(sharded[i], again[i]) << "accum " << accum << " step " << i;  // bit-identical
    }
    EXPECT_LT(sharded.back(), sharded.front());  // it trains
  }
}

TEST(TrainerShards, NegativeShardCountIsRejected) {
  auto j = tu::tiny_experiment("induction", 6);
  j["train"]["cpu_shards"] = -1;
  try {
    tu::experiment(j);
    FAIL() << "accepted cpu_shards -1";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("train.cpu_shards"), std::string::npos) << e.what();
  }
}
