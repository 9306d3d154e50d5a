// The fixed validation set, fine-tuning from a model (init_from) and honest ablations.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "common/errors.h"
#include "data/data_source.h"
#include "io/model_io.h"
#include "io/run_directory.h"
#include "probe/ablation.h"
#include "run/run_driver.h"
#include "train/trainer.h"
#include "train_test_util.h"

using namespace headlab;
using namespace headlab::train;
namespace tu = headlab::testutil;
namespace fs = std::filesystem;

TEST(FixedValidation, ValidationRowsDoNotDependOnTheSeed) {
  for (const char* task : {"induction", "sort", "associative_recall", "modular_addition", "grammar"}) {
    const auto a = data::make_data_source({{"task", task}}, 1), b = data::make_data_source({{"task", task}}, 99);
    EXPECT_EQ(data::batch_hash(a->batch(data::Split::Validation, 0, 8, 48)),
              data::batch_hash(b->batch(data::Split::Validation, 0, 8, 48)))
        << task;
    EXPECT_NE(data::batch_hash(a->batch(data::Split::Train, 0, 8, 48)),
              data::batch_hash(b->batch(data::Split::Train, 0, 8, 48)))
        << task << ": the training order still follows the seed";
  }
  // modular_addition's pair split has its own seed: a different split_seed, other pairs.
  const auto s0 = data::make_data_source({{"task", "modular_addition"}}, 1);
  const auto s1 = data::make_data_source({{"task", "modular_addition"}, {"split_seed", 5}}, 1);
  EXPECT_NE(data::batch_hash(s0->batch(data::Split::Validation, 0, 8, 48)),
            data::batch_hash(s1->batch(data::Split::Validation, 0, 8, 48)));
}

// One model, two runs that differ only in their seed: the same validation loss.
TEST(FixedValidation, SameModelSameValidationLossWhateverTheSeed) {
  const auto dir = tu::scratch_dir("fixed-val");
  auto j = tu::tiny_experiment("induction", 4);
  Trainer first(tu::experiment(j));
  while (!first.finished()) first.step();
  io::save_model(first.model(), dir / "model");

  std::vector<ValidationResult> results;
  for (int64_t seed : {3, 11}) {
    auto k = tu::tiny_experiment("induction", 4);
    k.erase("model");
    k["init_from"] = (dir / "model").string();
    k["train"]["seed"] = seed;
    Trainer t(tu::experiment(k));
    results.push_back(t.evaluate());
  }
  EXPECT_EQ(results[0].loss, results[1].loss);
  EXPECT_EQ(results[0].standard_error, results[1].standard_error);
  EXPECT_EQ(results[0].rows, 2 * 8);  // eval_batches x batch_size
  EXPECT_GT(results[0].standard_error, 0);
  EXPECT_LT(results[0].standard_error, 0.2 * results[0].loss);
  // The step-4 validation of the first run is that model's loss too.
  EXPECT_NEAR(*first.metrics().back().val_loss, results[0].loss, 1e-9);
  EXPECT_EQ(*first.metrics().back().val_loss_se, results[0].standard_error);
  // And it is in metrics.jsonl.
  fs::remove_all(dir);
}

TEST(InitFrom, StartsFromTheModelAndKeepsTraining) {
  const auto dir = tu::scratch_dir("init-from");
  auto j = tu::tiny_experiment("sort", 30);
  Trainer source(tu::experiment(j));
  while (!source.finished()) source.step();
  io::save_model(source.model(), dir / "model");
  const double source_loss = source.evaluate().loss;

  auto k = tu::tiny_experiment("sort", 10);
  k.erase("model");
  k["init_from"] = (dir / "model").string();
  // Insert talking heads at identity before the first step: the function does not change.
  k["schedule"] = {{{"step", 0}, {"action", "insert"}, {"module", "talking_heads"}}};
  {
    run::RunDriver driver(tu::experiment(k), dir / "run");
    EXPECT_NEAR(driver.trainer().evaluate().loss, source_loss, 1e-9);  // the weights came along
    driver.run();
    EXPECT_LT(driver.trainer().metrics().back().loss, 1.5 * source_loss + 0.5);
    EXPECT_TRUE(driver.trainer().model()->config().interaction.talking_heads);
  }
  const auto stored = io::RunDirectory::read_config(dir / "run");
  EXPECT_FALSE(stored.contains("init_from"));
  EXPECT_EQ(stored["initialized_from"], fs::absolute(dir / "model").lexically_normal().string());
  EXPECT_EQ(stored["model"]["d_model"], 32);
  // The run directory resumes like any other.
  EXPECT_NO_THROW(run::RunDriver::resume(dir / "run", 12));
  fs::remove_all(dir);
}

TEST(InitFrom, RefusesAnotherTokenizerAModelSectionAndAMissingModel) {
  const auto dir = tu::scratch_dir("init-from-bad");
  Trainer source(tu::experiment(tu::tiny_experiment("sort", 1)));
  io::save_model(source.model(), dir / "model");
  auto k = tu::tiny_experiment("grammar", 2);  // another alphabet
  k.erase("model");
  k["init_from"] = (dir / "model").string();
  try {
    Trainer t(tu::experiment(k));
    ADD_FAILURE() << "a model with another tokenizer was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer"), std::string::npos) << e.what();
  }
  auto both = tu::tiny_experiment("sort", 2);
  both["init_from"] = (dir / "model").string();
  EXPECT_THROW(tu::experiment(both), InputError);  // model and init_from together
  auto missing = tu::tiny_experiment("sort", 2);
  missing.erase("model");
  missing["init_from"] = (dir / "nothing").string();
  try {
    Trainer t(tu::experiment(missing));
    ADD_FAILURE();
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("init_from: ", 0), 0u) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir / "run"));
  fs::remove_all(dir);
}

// Zeroing a head by hand (its output-projection columns) gives the ablation's loss; bypass and
// zeroing leave the model as it was.
TEST(Ablation, HeadDeltaIsTheLossWithThatHeadsOutputZeroed) {
  auto j = tu::tiny_experiment("induction", 3);
  Trainer t(tu::experiment(j));
  while (!t.finished()) t.step();
  const auto batches = t.validation_batches();
  probe::ScoredRows rows{batches[0].inputs, batches[0].targets, batches[0].loss_mask, "validation"};
  auto& m = t.model();
  const auto before = m->blocks[1]->attn->wo->weight.clone();
  const auto result = probe::measure_ablations(m, rows);
  EXPECT_TRUE(torch::equal(before, m->blocks[1]->attn->wo->weight));
  ASSERT_EQ(result.heads.size(), 2u * 4u);
  const int64_t dh = m->config().head_dim;
  {
    torch::NoGradGuard no_grad;
    auto w = m->blocks[1]->attn->wo->weight;
    const auto saved = w.clone();
    w.narrow(1, 2 * dh, dh).zero_();
    const auto rows_by_hand = t.row_losses(batches[0]);
    w.copy_(saved);
    double sum = 0, count = 0;
    for (size_t i = 0; i < rows_by_hand.sums.size(); ++i) {
      sum += rows_by_hand.sums[i];
      count += rows_by_hand.counts[i];
    }
    const auto& a = result.heads[4 + 2];
    EXPECT_EQ(a.layer, 1);
    EXPECT_EQ(a.head, 2);
    EXPECT_NEAR(a.loss_bypassed, sum / count, 1e-6);
    EXPECT_NEAR(a.delta, sum / count - result.loss_live, 1e-6);
    EXPECT_TRUE(std::isfinite(a.standard_error));
    EXPECT_EQ(a.samples, 8);
    EXPECT_EQ(a.measured_on, "validation");
  }
  EXPECT_EQ(result.modules.size(), 4u);  // kha and mea in both layers
}

// The default demo, trained: bypassing KHA must raise the loss on the scored positions (the
// Δ once averaged over the unscored random half too and came out negative).
TEST(Ablation, OnTheTrainedDemoBypassingKhaRaisesTheScoredLoss) {
  auto j = train::load_preset("induction-kha");
  j["train"]["steps"] = 600;  // the induction circuit is in place by then
  j["train"]["eval_every"] = 0;
  j["probe"]["every"] = 0;
  run::RunDriver driver(tu::experiment(j), fs::path());
  driver.run();
  const auto snapshot = driver.probe();
  ASSERT_EQ(snapshot->ablations.size(), 2u);
  for (const auto& a : snapshot->ablations) {
    EXPECT_EQ(a.module, "kha");
    EXPECT_EQ(a.measured_on, "validation");
    EXPECT_GT(a.delta, 0) << "layer " << a.layer;
    EXPECT_GT(a.samples, 16);
  }
  EXPECT_TRUE(snapshot->ablations[0].resolved()) << snapshot->ablations[0].delta << " +- " << snapshot->ablations[0].standard_error;
  ASSERT_EQ(snapshot->head_ablations.size(), 8u);
}
