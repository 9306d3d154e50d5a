// The probe finds what training built: on the default preset, trained briefly on the
// induction task, a previous-token head in layer 0 and induction heads in layer 1.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "probe/head_stats.h"
#include "probe/probe_runner.h"
#include "train/trainer.h"
#include "train_test_util.h"

using namespace headlab;
namespace tu = headlab::testutil;

TEST(ProbeInduction, TrainedModelHasInductionAndPreviousTokenHeads) {
  // Training is deterministic; the smaller alphabet puts the induction phase change near
  // step 250, and by step 600 the circuit is clean.
  auto j = train::load_preset("induction-kha");
  j["data"]["n_symbols"] = 12;
  j["data"]["distinct"] = false;         // the conditions this test was calibrated on
  j["train"]["min_lr_fraction"] = 0.1;
  j["train"]["steps"] = 600;
  j["train"]["eval_every"] = 600;
  j["train"]["device"] = "cpu";
  train::Trainer t(tu::experiment(j));
  const double initial = t.evaluate().loss;
  EXPECT_GT(initial, 2.3);  // about ln 12 = 2.48 before training
  while (!t.finished()) t.step();
  EXPECT_LT(*t.metrics().back().val_loss, 0.5) << "from " << initial;

  const auto tokens = t.data().probe_tokens(48);
  std::vector<std::string> labels;
  for (auto id : tokens) labels.push_back(t.data().tokenizer().token_label(id));
  auto snapshot = probe::run_probe(t.model(), tokens, labels, t.step_count());
  const HeadStats* best_induction = nullptr;
  const HeadStats* best_previous = nullptr;
  for (const auto& h : snapshot.heads) {
    if (h.role == "induction" && (!best_induction || h.induction > best_induction->induction)) best_induction = &h;
    if (h.role == "previous-token" && (!best_previous || h.previous_token > best_previous->previous_token))
      best_previous = &h;
  }
  ASSERT_NE(best_induction, nullptr) << "no induction head";
  ASSERT_NE(best_previous, nullptr) << "no previous-token head";
  EXPECT_GE(best_induction->induction, probe::kInductionMin);
  EXPECT_GE(best_previous->previous_token, probe::kPreviousTokenMin);
  EXPECT_EQ(best_previous->layer, 0);   // the circuit: previous-token in layer 0 ...
  EXPECT_EQ(best_induction->layer, 1);  // ... feeding induction heads in layer 1
}
