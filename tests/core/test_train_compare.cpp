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
  CompareOptions options;
  options.interleave = true;
  auto summary = run_comparison(base, variants, dir, options);
  ASSERT_EQ(summary.size(), 3u);
  for (const auto& s : summary) {
    ASSERT_EQ(s.runs.size(), 1u);
    EXPECT_EQ(s.runs[0].run_dir, (dir / s.name).string());  // one seed: NAME/, as before
    EXPECT_EQ(io::RunDirectory::read_metrics(s.runs[0].run_dir).size(), 6u) << s.name;
    EXPECT_TRUE(fs::exists(fs::path(s.runs[0].run_dir) / "model" / "model.safetensors"));
    EXPECT_EQ(s.runs[0].first_batch_hash, summary[0].runs[0].first_batch_hash);  // identical data order
    EXPECT_GT(s.tokens_per_second, 0);
    // One seed: a mean but no interval, and no verdict.
    EXPECT_FALSE(s.final_val_loss.has_interval());
    if (s.vs_baseline) EXPECT_EQ(s.vs_baseline->verdict, stats::Verdict::TooFewSeeds);
  }
  // The variants differ only in their modules: KHA adds 3 dh x dh matrices per layer.
  EXPECT_EQ(summary[1].parameters - summary[0].parameters, 2 * 3 * 8 * 8);
  EXPECT_EQ(summary[2].parameters - summary[0].parameters, 2 * 2 * 4 * 4);
  // Same seed, same data: the first step's loss is identical (modules start at identity).
  const auto m0 = io::RunDirectory::read_metrics(summary[0].runs[0].run_dir),
             m1 = io::RunDirectory::read_metrics(summary[1].runs[0].run_dir);
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
  options.on_progress = [&](const CompareProgress& p) {
    ++calls;
    if (p.run == 0 && p.step == 3) cancel = true;  // as if the user pressed Cancel during step 3
  };
  EXPECT_THROW(run_comparison(base, {builtin_variant("baseline"), builtin_variant("kha-linear")}, dir, options),
               CompareCancelled);
  EXPECT_EQ(calls, 3);  // no step after the flag was seen
  EXPECT_FALSE(fs::exists(dir / "summary.json"));
  EXPECT_EQ(io::RunDirectory::read_metrics((dir / "baseline").string()).size(), 3u);
  EXPECT_TRUE(io::RunDirectory::read_metrics((dir / "kha-linear").string()).empty());
  fs::remove_all(dir);
}

// Several seeds: every variant runs on each, runs with one seed see the same batches, and the
// summary's statistics are the ones computed by hand from the runs' final validation losses.
TEST(Compare, SeedsPairVariantsAndTheSummaryHoldsTheirStatistics) {
  const auto dir = tu::scratch_dir("compare-seeds");
  auto base = tu::tiny_experiment("sort", 5);
  CompareOptions options;
  options.seeds = 3;
  std::vector<std::string> finished;
  options.on_run_finished = [&](const VariantSummary& row, const RunSummary& run) {
    finished.push_back(row.name + "/" + std::to_string(run.seed));
  };
  int64_t last_done = 0, total = 0;
  options.on_progress = [&](const CompareProgress& p) {
    EXPECT_EQ(p.done_steps, last_done + 1);
    last_done = p.done_steps;
    total = p.total_steps;
  };
  auto rows = run_comparison(base, {builtin_variant("baseline"), builtin_variant("kha-linear")}, dir, options);
  EXPECT_EQ(total, 2 * 3 * 5);
  EXPECT_EQ(last_done, total);
  // Seed-major: both variants of seed 7 finish before seed 8 starts.
  EXPECT_EQ(finished, (std::vector<std::string>{"baseline/7", "kha-linear/7", "baseline/8", "kha-linear/8",
                                                "baseline/9", "kha-linear/9"}));
  ASSERT_EQ(rows.size(), 2u);
  std::vector<double> base_losses, kha_losses;
  for (size_t k = 0; k < 3; ++k) {
    const auto& b = rows[0].runs[k];
    const auto& v = rows[1].runs[k];
    EXPECT_EQ(b.seed, 7u + k);
    EXPECT_EQ(b.run_dir, (dir / "baseline" / ("seed-" + std::to_string(7 + k))).string());
    EXPECT_EQ(b.first_batch_hash, v.first_batch_hash);  // same seed, same batches
    if (k > 0) EXPECT_NE(b.first_batch_hash, rows[0].runs[0].first_batch_hash);  // other seed, other batches
    EXPECT_TRUE(std::isfinite(b.final_val_loss_se));
    base_losses.push_back(b.final_val_loss);
    kha_losses.push_back(v.final_val_loss);
  }
  const auto expected = stats::estimate_mean(base_losses);
  EXPECT_DOUBLE_EQ(rows[0].final_val_loss.mean, expected.mean);
  EXPECT_DOUBLE_EQ(rows[0].final_val_loss.ci_low, expected.ci_low);
  ASSERT_TRUE(rows[1].vs_baseline.has_value());
  EXPECT_FALSE(rows[0].vs_baseline.has_value());
  EXPECT_EQ(rows[1].baseline, "baseline");
  const auto paired = stats::compare_paired(kha_losses, base_losses);
  EXPECT_DOUBLE_EQ(rows[1].vs_baseline->difference.mean, paired.difference.mean);
  EXPECT_EQ(rows[1].vs_baseline->verdict, paired.verdict);
  // The files: summary.json reads back to the same rows; one CSV row per variant, one per run.
  auto json = nlohmann::json::parse(std::ifstream(dir / "summary.json"));
  const auto back = summary_from_json(json);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_DOUBLE_EQ(back[1].vs_baseline->difference.ci_high, rows[1].vs_baseline->difference.ci_high);
  EXPECT_EQ(back[1].runs[2].run_dir, rows[1].runs[2].run_dir);
  auto count_lines = [](const fs::path& p) {
    std::ifstream in(p);
    int n = 0;
    for (std::string line; std::getline(in, line);) ++n;
    return n;
  };
  EXPECT_EQ(count_lines(dir / "summary.csv"), 3);
  EXPECT_EQ(count_lines(dir / "runs.csv"), 7);
  fs::remove_all(dir);
}

TEST(Compare, ASweepCrossesTheVariantsAndPairsEachPointWithItsBaseline) {
  const auto dir = tu::scratch_dir("compare-sweep");
  auto base = tu::tiny_experiment("sort", 3);
  CompareOptions options;
  options.seeds = 2;
  options.sweeps = {parse_sweep("train.lr=1e-3,1e-2")};
  auto rows = run_comparison(base, {builtin_variant("baseline"), builtin_variant("mea")}, dir, options);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].name, "baseline@train.lr=0.001");
  EXPECT_EQ(rows[3].name, "mea@train.lr=0.01");
  EXPECT_EQ(rows[3].baseline, "baseline@train.lr=0.01");
  EXPECT_EQ(rows[1].baseline, "baseline@train.lr=0.001");
  const auto config = io::RunDirectory::read_config(rows[3].runs[1].run_dir);
  EXPECT_DOUBLE_EQ(config["train"]["lr"].get<double>(), 1e-2);
  EXPECT_EQ(config["train"]["seed"].get<int64_t>(), 8);
  EXPECT_TRUE(config["model"]["interaction"].contains("mea"));
  fs::remove_all(dir);
}

TEST(Compare, SweepsAndSeedsAreChecked) {
  EXPECT_THROW(parse_sweep("train.lr"), InputError);
  EXPECT_THROW(parse_sweep("train.lr=1,,2"), InputError);
  EXPECT_THROW(parse_sweep("train.lr=1,1"), InputError);
  EXPECT_EQ(parse_sweep("data.task=sort,induction").values[1], "induction");
  const auto dir = tu::scratch_dir("compare-bad-sweep");
  CompareOptions options;
  options.sweeps = {parse_sweep("train.lr=1e-3,-1")};
  EXPECT_THROW(run_comparison(tu::tiny_experiment("sort", 3), {builtin_variant("baseline")}, dir, options), InputError);
  EXPECT_FALSE(fs::exists(dir));  // the bad point was found before anything was written
  options.sweeps.clear();
  options.seeds = 0;
  EXPECT_THROW(run_comparison(tu::tiny_experiment("sort", 3), {builtin_variant("baseline")}, dir, options), InputError);
}

// Spikes the baseline had at the same step (the same batch) are not counted against a variant.
TEST(Compare, SpikesAreCountedAgainstTheBaselineRunOfTheSameSeed) {
  std::vector<VariantSummary> rows(2);
  rows[0].name = rows[0].variant = "baseline";
  rows[1].name = rows[1].variant = "mea";
  for (auto& r : rows)
    for (uint64_t seed : {1, 2}) {
      RunSummary run;
      run.seed = seed;
      run.final_val_loss = r.variant == "mea" ? 1.0 + 0.01 * seed : 1.1 + 0.01 * seed;
      r.runs.push_back(run);
    }
  rows[0].runs[0].spike_steps = {10, 50};
  rows[1].runs[0].spike_steps = {10, 70, 90};  // 10 is shared
  rows[1].runs[1].spike_steps = {50};          // the baseline's 50 was on seed 1, not 2
  summarize(rows);
  EXPECT_EQ(rows[1].spikes, 4);
  EXPECT_EQ(rows[1].spikes_not_in_baseline, 3);
  EXPECT_NEAR(rows[1].vs_baseline->difference.mean, -0.1, 1e-12);
  EXPECT_EQ(rows[1].vs_baseline->verdict, stats::Verdict::Lower);  // both seeds exactly -0.1: sd 0
}
