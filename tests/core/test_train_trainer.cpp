// The trainer: learning, determinism, exact resume, atomic checkpoints, schedule actions,
// anomaly handling and the rejection of bad configs.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <fstream>

#include "common/errors.h"
#include "common/json_file.h"
#include "io/model_io.h"
#include "io/run_directory.h"
#include "train/anomaly_detector.h"
#include "train/lr_schedule.h"
#include "train/trainer.h"
#include "train_test_util.h"

using namespace headlab;
using namespace headlab::train;
namespace tu = headlab::testutil;
namespace fs = std::filesystem;

namespace {

std::vector<MetricPoint> train_to_end(Trainer& t) {
  while (!t.finished()) t.step();
  return t.metrics();
}

void expect_same_metrics(const std::vector<MetricPoint>& a, const std::vector<MetricPoint>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].step, b[i].step);
    EXPECT_EQ(a[i].loss, b[i].loss) << "step " << a[i].step;  // bit-identical
    EXPECT_EQ(a[i].lr, b[i].lr);
    EXPECT_EQ(a[i].tokens, b[i].tokens);
    EXPECT_EQ(a[i].val_loss.has_value(), b[i].val_loss.has_value());
    if (a[i].val_loss && b[i].val_loss) EXPECT_EQ(*a[i].val_loss, *b[i].val_loss);
  }
}

TEST(TrainerLearning, LossFallsOnEveryOtherTask) {
  // Budget per task and the bound on the final loss, in nats: well under guessing and above
  // what these tiny runs reach. Modular addition is checked on its training split, since its
  // validation pairs generalize only much later (grokking).
  struct Case { std::string task; std::string option; int64_t value; int64_t steps; double bound; bool train_split; };
  for (const auto& c : {Case{"grammar", "", 0, 120, 2.0, false}, Case{"sort", "", 0, 150, 1.3, false},
                        Case{"associative_recall", "n_pairs", 4, 300, 2.2, false},
                        Case{"modular_addition", "p", 11, 300, 1.0, true}}) {
    auto j = tu::tiny_experiment(c.task, c.steps);
    j["train"]["eval_every"] = c.steps;
    j["train"]["batch_size"] = 16;
    if (!c.option.empty()) j["data"][c.option] = c.value;
    Trainer t(tu::experiment(j));
    const double initial = t.evaluate().loss;
    train_to_end(t);
    const auto& last = t.metrics().back();
    const double final_loss = c.train_split ? last.loss : *last.val_loss;
    EXPECT_LT(final_loss, c.bound) << c.task << " from " << initial;
    EXPECT_LT(final_loss, 0.75 * initial) << c.task;
  }
}

TEST(TrainerDeterminism, SameSeedGivesBitIdenticalLosses) {
  Trainer a(tu::experiment(tu::tiny_experiment("grammar", 12))), b(tu::experiment(tu::tiny_experiment("grammar", 12)));
  expect_same_metrics(train_to_end(a), train_to_end(b));
  auto j = tu::tiny_experiment("grammar", 12);
  j["train"]["seed"] = 8;
  Trainer c(tu::experiment(j));
  EXPECT_NE(train_to_end(c).back().loss, a.metrics().back().loss);
}

TEST(TrainerResume, HalfThenResumeIsBitIdenticalToOneRun) {
  auto j = tu::tiny_experiment("induction", 24);
  j["train"]["grad_accum"] = 2;
  // A schedule that freezes and inserts modules in the first half: the resumed run must
  // rebuild them from the checkpoint and keep their optimizer state.
  j["schedule"] = nlohmann::json::parse(R"([{"step": 4, "action": "freeze", "module": "mea", "layers": [0]},
                                            {"step": 6, "action": "insert", "module": "talking_heads", "layers": [1]},
                                            {"step": 16, "action": "set_lr", "value": 0.001}])");
  const auto whole_dir = tu::scratch_dir("whole"), half_dir = tu::scratch_dir("half");
  Trainer whole(tu::experiment(j), whole_dir);
  const auto expected = train_to_end(whole);
  {
    Trainer half(tu::experiment(j), half_dir);
    while (half.step_count() < 12) half.step();
    half.save_checkpoint();
    half.step();  // a step after the checkpoint that the resumed run must forget
  }
  auto resumed = Trainer::resume(half_dir);
  EXPECT_EQ(resumed->step_count(), 12);
  EXPECT_EQ(resumed->model()->module_state(0, model::ModuleKind::Mea), model::ModuleState::Frozen);
  train_to_end(*resumed);
  expect_same_metrics(resumed->metrics(), expected);
  expect_same_metrics(io::RunDirectory::read_metrics(half_dir), io::RunDirectory::read_metrics(whole_dir));
  fs::remove_all(whole_dir);
  fs::remove_all(half_dir);
}

TEST(TrainerCheckpoint, CrashMidSaveLeavesThePreviousCheckpointLoadable) {
  const auto dir = tu::scratch_dir("crash");
  fs::path good;
  size_t tensors = 0;
  {
    Trainer t(tu::experiment(tu::tiny_experiment("sort", 20)), dir);
    while (t.step_count() < 5) t.step();
    good = t.save_checkpoint();
    while (t.step_count() < 10) t.step();
    t.before_checkpoint_commit = [](const fs::path&) { throw std::runtime_error("simulated crash"); };
    EXPECT_THROW(t.save_checkpoint(), std::runtime_error);
    EXPECT_EQ(io::RunDirectory::checkpoint_steps(dir), std::vector<int64_t>{5});
    for (const auto& entry : fs::directory_iterator(dir / "checkpoints"))  // no half-written leftovers
      EXPECT_EQ(entry.path().filename(), "step-5");
    tensors = t.model()->named_tensors().size();
  }  // the crashed writer is gone (and with it its lock on the run directory)
  auto resumed = Trainer::resume(dir);
  EXPECT_EQ(resumed->step_count(), 5);
  auto model = io::load_model(good);
  EXPECT_EQ(model->named_tensors().size(), tensors);
  fs::remove_all(dir);
}

TEST(TrainerCheckpoint, KeepsTheLastK) {
  const auto dir = tu::scratch_dir("keep");
  auto j = tu::tiny_experiment("sort", 10);
  j["train"]["checkpoint_every"] = 2;
  j["train"]["keep_checkpoints"] = 2;
  Trainer t(tu::experiment(j), dir);
  train_to_end(t);
  EXPECT_EQ(io::RunDirectory::checkpoint_steps(dir), (std::vector<int64_t>{8, 10}));
  fs::remove_all(dir);
}

TEST(TrainerSchedule, ActionsFireAtTheirStepAndFoldKeepsThatStepsLoss) {
  auto base = tu::tiny_experiment("induction", 10);
  base["model"]["interaction"] = {{"kha", {{"q", "linear"}, {"k", "linear"}, {"v", "linear"}}},
                                  {"mea", {{"enabled", true}, {"group_norm", false}}}};
  auto folded = base;
  folded["schedule"] = nlohmann::json::parse(R"([{"step": 6, "action": "fold", "module": "kha"},
                                                 {"step": 6, "action": "fold", "module": "mea"},
                                                 {"step": 8, "action": "bypass", "module": "kha", "layers": [1]}])");
  Trainer a(tu::experiment(base)), b(tu::experiment(folded));
  train_to_end(a);
  train_to_end(b);
  // Steps 1..6 are identical; step 7 runs right after the fold: same loss up to rounding.
  for (int i = 0; i < 6; ++i) EXPECT_EQ(a.metrics()[i].loss, b.metrics()[i].loss);
  EXPECT_NEAR(b.metrics()[6].loss, a.metrics()[6].loss, 1e-5 * a.metrics()[6].loss);
  int folds = 0, bypasses = 0;
  for (const auto& e : b.events()) {
    if (e.kind == EventKind::Fold) {
      EXPECT_EQ(e.step, 6);
      ++folds;
    }
    if (e.kind == EventKind::Module && e.message.find("bypass kha") != std::string::npos) {
      EXPECT_EQ(e.step, 8);
      ++bypasses;
    }
  }
  EXPECT_EQ(folds, 2);
  EXPECT_EQ(bypasses, 1);
  EXPECT_EQ(b.model()->module_state(1, model::ModuleKind::Kha), model::ModuleState::Bypassed);
  EXPECT_EQ(b.model()->module_state(0, model::ModuleKind::Kha), model::ModuleState::Active);
}

TEST(TrainerSchedule, SetLrOverridesTheSchedule) {
  auto j = tu::tiny_experiment("sort", 6);
  j["schedule"] = nlohmann::json::parse(R"([{"step": 3, "action": "set_lr", "value": 0.0005}])");
  Trainer t(tu::experiment(j));
  train_to_end(t);
  EXPECT_NE(t.metrics()[2].lr, 0.0005);
  EXPECT_EQ(t.metrics()[3].lr, 0.0005);
  EXPECT_EQ(t.metrics()[5].lr, 0.0005);
}

TEST(TrainerSchedule, ImpossibleActionsAreRefusedBeforeTraining) {
  auto expect_refused = [](const char* schedule, const std::string& phrase) {
    auto j = tu::tiny_experiment("sort", 3);
    j["schedule"] = nlohmann::json::parse(schedule);
    const auto dir = tu::scratch_dir("bad-schedule");
    try {
      Trainer t(tu::experiment(j), dir);
      ADD_FAILURE() << "accepted " << schedule;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(phrase), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(dir)) << "a refused schedule wrote " << dir;
  };
  // The model has KHA and MEA in both layers, no talking heads.
  expect_refused(R"([{"step": 1, "action": "bypass", "module": "talking_heads", "layers": [0]}])",
                 "schedule[0] (bypass talking_heads in layer 0): talking_heads in layer 0 is absent");
  expect_refused(R"([{"step": 1, "action": "bypass", "module": "kha", "layers": [99]}])",
                 "layer 99 does not exist (the model has 2)");
  expect_refused(R"([{"step": 7, "action": "set_lr", "value": 0.001}])", "step 7 is never reached (train.steps is 3)");
  // States follow the earlier actions: bypass twice is refused, bypass then activate is fine.
  expect_refused(R"([{"step": 0, "action": "bypass", "module": "kha"}, {"step": 1, "action": "bypass", "module": "kha"}])",
                 "schedule[1] (bypass kha): no layer has kha in a state that allows bypass then");
  auto j = tu::tiny_experiment("sort", 3);
  j["schedule"] = nlohmann::json::parse(
      R"([{"step": 0, "action": "bypass", "module": "kha"}, {"step": 1, "action": "activate", "module": "kha", "layers": [1]},
          {"step": 2, "action": "insert", "module": "talking_heads", "layers": [0]}])");
  Trainer t(tu::experiment(j));
  train_to_end(t);
  for (const auto& e : t.events()) EXPECT_NE(e.kind, EventKind::Error) << e.message;
}

TEST(TrainerAnomalies, NonFiniteStepsAreSkippedThenThePausePreservesTheWeights) {
  Trainer t(tu::experiment(tu::tiny_experiment("sort", 20)));
  t.step();
  t.step();
  {
    torch::NoGradGuard g;
    t.model()->norm.fill_(std::nan(""));  // every loss is NaN from here on
  }
  auto wq = t.model()->blocks[0]->attn->wq->weight.clone();
  EXPECT_EQ(t.step().outcome, StepOutcome::Skipped);
  EXPECT_EQ(t.step().outcome, StepOutcome::Skipped);
  EXPECT_EQ(t.step().outcome, StepOutcome::Paused);
  EXPECT_TRUE(t.paused());
  EXPECT_EQ(t.step().outcome, StepOutcome::Paused);
  EXPECT_TRUE(torch::equal(t.model()->blocks[0]->attn->wq->weight, wq));
  int skips = 0;
  for (const auto& e : t.events()) skips += e.kind == EventKind::Skip;
  EXPECT_EQ(skips, 3);
  EXPECT_EQ(t.events().back().kind, EventKind::Pause);
  EXPECT_EQ(t.metrics().size(), 2u);  // skipped steps log no metric
}

TEST(TrainerAnomalies, SpikeDetectorFlagsOneEpisodeAboveTheRunningMedian) {
  AnomalyDetector d(6.0, 20, 3);
  for (int i = 0; i < 25; ++i) EXPECT_FALSE(d.observe_loss(1.0 + 0.01 * (i % 3)));
  EXPECT_TRUE(d.observe_loss(1.5));
  EXPECT_DOUBLE_EQ(d.median(), 1.01);  // spikes do not enter the window
  EXPECT_FALSE(d.observe_loss(1.6));   // the same episode
  EXPECT_FALSE(d.observe_loss(1.0));   // back to normal
  EXPECT_TRUE(d.observe_loss(1.4));    // a new episode
  AnomalyDetector early(6.0, 20, 3);
  EXPECT_FALSE(early.observe_loss(1.0));
  EXPECT_FALSE(early.observe_loss(10.0));  // not armed during the first steps
}

TEST(TrainerSchedule, WarmupThenCosineToTheFloor) {
  EXPECT_DOUBLE_EQ(scheduled_lr(0, 100, 10, 1.0, 0.1), 0.1);
  EXPECT_DOUBLE_EQ(scheduled_lr(9, 100, 10, 1.0, 0.1), 1.0);
  EXPECT_DOUBLE_EQ(scheduled_lr(10, 100, 10, 1.0, 0.1), 1.0);
  EXPECT_NEAR(scheduled_lr(55, 100, 10, 1.0, 0.1), 0.55, 1e-12);  // halfway: mean of peak and floor
  EXPECT_DOUBLE_EQ(scheduled_lr(100, 100, 10, 1.0, 0.1), 0.1);
  EXPECT_DOUBLE_EQ(scheduled_lr(500, 100, 10, 1.0, 0.1), 0.1);
}

TEST(TrainerConfig, BadInputIsRejectedBeforeAnyFileIsWritten) {
  auto expect_error = [](nlohmann::json j, const std::string& phrase) {
    const auto dir = tu::scratch_dir("bad");
    try {
      Trainer t(tu::experiment(j), dir);
      ADD_FAILURE() << "no error for " << phrase;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(phrase), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(dir)) << phrase;
  };
  auto j = tu::tiny_experiment("sort");
  j["train"]["lr"] = 0;
  expect_error(j, "train.lr (0");
  j = tu::tiny_experiment("sort");
  j["train"]["batch_size"] = 0;
  expect_error(j, "train.batch_size (0)");
  j = tu::tiny_experiment("sort");
  j["train"]["seq_len"] = 65;
  expect_error(j, "train.seq_len (65) exceeds model.max_seq_len (64)");
  j = tu::tiny_experiment("sort");
  j["train"]["learning_rate"] = 0.1;
  expect_error(j, "unknown field 'train.learning_rate'");
  j = tu::tiny_experiment("sort");
  j["bogus"] = 1;
  expect_error(j, "unknown field 'bogus'");
  j = tu::tiny_experiment("sort");
  j["model"]["vocab_size"] = 999;
  expect_error(j, "model.vocab_size (999) does not match");
  j = tu::tiny_experiment("sort");
  j["schedule"] = nlohmann::json::parse(R"([{"step": 1, "action": "explode", "module": "kha"}])");
  expect_error(j, "schedule[0].action 'explode'");
  j = tu::tiny_experiment("sort");
  j["data"] = {{"task", "text"}, {"path", "/nonexistent/corpus.txt"}};
  expect_error(j, "/nonexistent/corpus.txt");
}

TEST(TrainerRun, WritesTheRunDirectory) {
  const auto dir = tu::scratch_dir("rundir");
  Trainer t(tu::experiment(tu::tiny_experiment("sort", 6)), dir);
  train_to_end(t);
  t.save_checkpoint();
  t.save_final_model();
  auto config = io::RunDirectory::read_config(dir);
  EXPECT_EQ(config["model"]["vocab_size"], t.model()->config().vocab_size);  // fully resolved
  EXPECT_EQ(config["data"]["task"], "sort");
  auto metrics = io::RunDirectory::read_metrics(dir);
  ASSERT_EQ(metrics.size(), 6u);
  EXPECT_EQ(metrics.back().step, 6);
  EXPECT_EQ(metrics.back().tokens, 6 * 8 * 32);
  EXPECT_TRUE(metrics.back().val_loss.has_value());
  EXPECT_EQ(io::RunDirectory::read_events(dir).back().kind, EventKind::Checkpoint);
  auto loaded = io::load_model(dir / "model");
  auto tokens = torch::randint(loaded->config().vocab_size, {1, 8}, torch::kLong);
  torch::NoGradGuard g;
  EXPECT_TRUE(torch::equal(loaded->logits(tokens), t.model()->logits(tokens)));
  EXPECT_THROW(Trainer(tu::experiment(tu::tiny_experiment("sort", 6)), dir), InputError);  // already a run
  fs::remove_all(dir);
}

// A sort run of 20 steps with one checkpoint, at step 3: what the resume tests edit.
fs::path run_with_checkpoint_at_step_3(const std::string& name) {
  const auto dir = tu::scratch_dir(name);
  Trainer t(tu::experiment(tu::tiny_experiment("sort", 20)), dir);
  while (t.step_count() < 3) t.step();
  t.save_checkpoint();
  return dir;
}

}  // namespace

TEST(TrainerCheckpoint, CraftedStateIsRefusedWithTheFileNamed) {
  const auto dir = run_with_checkpoint_at_step_3("crafted");
  const auto state_file = dir / "checkpoints" / "step-3" / "trainer_state.json";
  const auto original = read_json_file(state_file);
  for (const int64_t step : {int64_t{-100}, int64_t{1} << 62, int64_t{4}}) {
    auto crafted = original;
    crafted["step"] = step;
    std::ofstream(state_file) << crafted.dump();
    try {
      Trainer::resume(dir);
      FAIL() << "resumed from a trainer state with step " << step;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("trainer_state.json: step " + std::to_string(step)), std::string::npos) << e.what();
    }
  }
  std::ofstream(state_file) << original.dump();
  fs::create_directories(dir / "checkpoints" / "step-99999999999999999999");
  try {
    Trainer::resume(dir);
    FAIL() << "an out-of-range checkpoint name was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("step-99999999999999999999"), std::string::npos) << e.what();
  }
  fs::remove_all(dir / "checkpoints" / "step-99999999999999999999");
  EXPECT_EQ(Trainer::resume(dir)->step_count(), 3);
  fs::remove_all(dir);
}

// Every field of trainer_state.json is typed and named when wrong; the JSON library's and
// torch's own text never reaches the user, and nothing is half-applied.
TEST(TrainerCheckpoint, MistypedStateFieldsAreNamed) {
  const auto dir = run_with_checkpoint_at_step_3("mistyped");
  const auto state_file = dir / "checkpoints" / "step-3" / "trainer_state.json";
  const auto original = read_json_file(state_file);
  const std::string first_param = original["optimizer"]["steps"].begin().key();
  const std::vector<std::tuple<std::string, nlohmann::json, std::string>> cases = {
      {"/step", "four", "step must be an integer"},
      {"/tokens", nullptr, "missing required field 'tokens'"},
      {"/rng_state", "zz", "rng_state is not hex"},
      {"/rng_state", "0000", "rng_state is not a CPU generator state"},
      {"/frozen", {{"kha@x", "frozen"}}, "frozen entry 'kha@x'"},
      {"/frozen", {{"talking_heads@0", "frozen"}}, "'talking_heads@0' names a module"},
      {"/optimizer/steps/" + first_param, "x", "optimizer.steps." + first_param + " must be an integer"},
      {"/anomalies/recent", "x", "anomalies.recent must be an array"},
      {"/lr_override", -1.0, "lr_override must not be negative"},
  };
  for (const auto& [pointer, value, phrase] : cases) {
    auto crafted = original;
    crafted[nlohmann::json::json_pointer(pointer)] = value;
    std::ofstream(state_file) << crafted.dump();
    try {
      Trainer::resume(dir);
      FAIL() << "resumed with " << pointer << " = " << value.dump();
    } catch (const InputError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("trainer_state.json: "), std::string::npos) << what;
      EXPECT_NE(what.find(phrase), std::string::npos) << pointer << ": " << what;
      EXPECT_EQ(what.find("json.exception"), std::string::npos) << what;
    }
  }
  std::ofstream(state_file) << "[1, 2]";
  EXPECT_THROW(Trainer::resume(dir), InputError);
  std::ofstream(state_file) << original.dump();
  EXPECT_EQ(Trainer::resume(dir)->step_count(), 3);
  fs::remove_all(dir);
}

// An edited run config.json: training values apply from the resumed step and the resume event
// says so; a model edit is refused, since the checkpoint's weights define the model.
TEST(TrainerResume, EditedConfigIsSaidOrRefused) {
  const auto dir = run_with_checkpoint_at_step_3("edited");
  const auto config_file = dir / "config.json";
  const auto original = read_json_file(config_file);
  {
    auto resumed = Trainer::resume(dir);  // unedited: nothing to say
    EXPECT_EQ(resumed->events().back().message, "resumed from checkpoint step-3");
  }
  auto edited = original;
  edited["train"]["lr"] = 1e-3;
  std::ofstream(config_file) << edited.dump();
  {
    auto resumed = Trainer::resume(dir);
    EXPECT_NE(resumed->events().back().message.find("train.lr 0.003 -> 0.001"), std::string::npos)
        << resumed->events().back().message;
    EXPECT_DOUBLE_EQ(resumed->config().train.lr, 1e-3);
  }
  edited = original;
  edited["model"]["d_ff"] = 128;
  std::ofstream(config_file) << edited.dump();
  try {
    Trainer::resume(dir);
    FAIL() << "a resumed run took an edited model section";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("model.d_ff 64 -> 128"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

// A warmup longer than the run is said in the run's events; the default warmup is cut to a
// short run.
TEST(TrainerConfig, WarmupLongerThanTheRunIsSaid) {
  auto j = tu::tiny_experiment("sort", 4);
  j["train"]["warmup_steps"] = 10;
  const auto dir = tu::scratch_dir("warmup");
  {
    Trainer t(tu::experiment(j), dir);
    ASSERT_FALSE(t.events().empty());
    EXPECT_EQ(t.events().back().kind, EventKind::Lr);
    EXPECT_EQ(t.events().back().message,
              "train.warmup_steps (10) exceeds train.steps (4): the learning rate peaks at 40% of train.lr");
  }
  fs::remove_all(dir);
  j["train"]["warmup_steps"] = 4;
  EXPECT_EQ(warmup_note(tu::experiment(j).train), "");
  j["train"].erase("warmup_steps");
  EXPECT_EQ(tu::experiment(j).train.warmup_steps, 4);
  j["train"]["steps"] = 500;
  EXPECT_EQ(tu::experiment(j).train.warmup_steps, 50);
}
