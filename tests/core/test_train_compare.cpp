#include <gtest/gtest.h>

#include <atomic>
#include <fstream>

#include "common/errors.h"
#include "io/run_directory.h"
#include "run/compare.h"
#include "train_test_util.h"

using namespace headlab;
using namespace headlab::train;
using namespace headlab::run;
namespace tu = headlab::testutil;
namespace fs = std::filesystem;

TEST(Compare, OneRunPerVariantWithTheSameDataOrder) {
  const auto dir = tu::scratch_dir("compare");
  auto base = tu::tiny_experiment("sort", 6);
  std::vector<Variant> variants{builtin_variant("baseline"), builtin_variant("kha-linear"), builtin_variant("talking-heads")};
  auto summary = run_comparison(base, variants, dir, {true});
  ASSERT_EQ(summary.size(), 3u);
  for (const auto& s : summary) {
    EXPECT_EQ(io::RunDirectory::read_metrics(s.run_dir).size(), 6u) << s.name;
    EXPECT_TRUE(fs::exists(fs::path(s.run_dir) / "model" / "model.safetensors"));
    EXPECT_EQ(s.first_batch_hash, summary[0].first_batch_hash);  // identical data order
    EXPECT_GT(s.tokens_per_second, 0);
  }
  // The variants differ only in their modules: KHA adds 3 dh x dh matrices per layer.
  EXPECT_EQ(summary[1].parameters - summary[0].parameters, 2 * 3 * 8 * 8);
  EXPECT_EQ(summary[2].parameters - summary[0].parameters, 2 * 2 * 4 * 4);
  // Same seed, same data: the first step's loss is identical (modules start at identity).
  const auto m0 = io::RunDirectory::read_metrics(summary[0].run_dir), m1 = io::RunDirectory::read_metrics(summary[1].run_dir);
  EXPECT_DOUBLE_EQ(m0[0].loss, m1[0].loss);
  auto json = nlohmann::json::parse(std::ifstream(dir / "summary.json"));
  EXPECT_EQ(json["variants"].size(), 3u);
  std::ifstream csv(dir / "summary.csv");
  std::string line;
  int lines = 0;
  while (std::getline(csv, line)) ++lines;
  EXPECT_EQ(lines, 4);
  fs::remove_all(dir);
}

TEST(Compare, ABadVariantWritesNothing) {
  const auto dir = tu::scratch_dir("compare-bad");
  auto base = tu::tiny_experiment("sort", 3);
  Variant broken{"broken", {{"n_heads", 3}}};
  EXPECT_THROW(run_comparison(base, {builtin_variant("mha"), broken}, dir), InputError);
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_THROW(builtin_variant("gpt5"), InputError);
  EXPECT_THROW(run_comparison(base, {builtin_variant("mha"), builtin_variant("mha")}, dir), InputError);
}

TEST(Compare, CancelStopsBeforeTheNextStepAndWritesNoSummary) {
  const auto dir = tu::scratch_dir("compare-cancel");
  auto base = tu::tiny_experiment("sort", 50);
  std::atomic<bool> cancel{false};
  CompareOptions options;
  options.cancel = &cancel;
  int calls = 0;
  options.on_progress = [&](size_t i, int64_t step, int64_t) {
    ++calls;
    if (i == 0 && step == 3) cancel = true;  // as if the user pressed Cancel during step 3
  };
  EXPECT_THROW(run_comparison(base, {builtin_variant("baseline"), builtin_variant("kha-linear")}, dir, options),
               CompareCancelled);
  EXPECT_EQ(calls, 3);  // no step after the flag was seen
  EXPECT_FALSE(fs::exists(dir / "summary.json"));
  EXPECT_EQ(io::RunDirectory::read_metrics((dir / "baseline").string()).size(), 3u);
  EXPECT_TRUE(io::RunDirectory::read_metrics((dir / "kha-linear").string()).empty());
  fs::remove_all(dir);
}
