// The live session: commands from another thread, pause/step/resume equivalence, module
// toggles, inspection mode, the probe timeline and budget, and a concurrency stress test
// (run it under ThreadSanitizer with `make tsan`).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <atomic>
#include <thread>

#include "common/errors.h"
#include "io/model_io.h"
#include "run/probe_budget.h"
#include "session/probe_timeline.h"
#include "session/session.h"
#include "train/trainer.h"
#include "train_test_util.h"

using namespace headlab;
using namespace headlab::session;
using headlab::model::ModuleAction;
using headlab::model::ModuleKind;
using headlab::run::ProbeBudget;
namespace tu = headlab::testutil;
namespace fs = std::filesystem;

namespace {

nlohmann::json experiment(int64_t steps) {
  auto j = tu::tiny_experiment("sort", steps);
  j["train"]["eval_every"] = 0;
  j["probe"]["every"] = 3;
  return j;
}

bool state_is(const Session& s, RunState state, double timeout = 60) {
  return s.wait_until([&](const Snapshot& snap) { return snap.status.state == state; }, timeout);
}

std::vector<double> losses(const Session& s) {
  std::vector<double> out;
  for (const auto& m : s.metrics_since(0)) out.push_back(m.loss);
  return out;
}

TEST(Session, RunsToTheEndAndPublishesEverything) {
  auto s = Session::create_training(experiment(12), "");
  ASSERT_TRUE(s->latest());
  EXPECT_EQ(s->latest()->status.state, RunState::Idle);
  ASSERT_TRUE(s->latest()->probe);  // a probe of the fresh model is there before Start
  s->post(Command::start());
  ASSERT_TRUE(state_is(*s, RunState::Finished));
  auto snap = s->latest();
  EXPECT_EQ(snap->status.step, 12);
  EXPECT_EQ(snap->status.total_steps, 12);
  EXPECT_GT(snap->status.tokens_per_second, 0);
  EXPECT_EQ(snap->probe->step, 12);
  EXPECT_EQ(s->metrics_since(0).size(), 12u);
  EXPECT_EQ(s->metrics_since(10).size(), 2u);
  EXPECT_TRUE(s->metrics_since(99).empty());
  EXPECT_EQ(snap->status.modules.size(), 2u * 3u);
  EXPECT_GE(s->probe_history().size(), 4u);  // every 3 steps, plus the initial and final probes
}

TEST(Session, PauseStepResumeGiveTheSameMetricsAsAnUninterruptedRun) {
  auto straight = Session::create_training(experiment(10), "");
  straight->post(Command::start());
  ASSERT_TRUE(state_is(*straight, RunState::Finished));

  auto s = Session::create_training(experiment(10), "");
  s->post(Command::step());
  s->post(Command::step());
  ASSERT_TRUE(s->wait_until([](const Snapshot& x) { return x.status.step == 2; }, 60));
  EXPECT_EQ(s->latest()->status.state, RunState::Paused);
  // One batch, so the pause applies before the next step: the run waits at step 2.
  s->post_all({Command::start(), Command::pause(), Command::probe_now()});
  auto pause_seen = [](const Session& x) {
    for (const auto& e : x.events_since(0))
      if (e.message == "pause") return true;
    return false;
  };
  ASSERT_TRUE(s->wait_until([&](const Snapshot& x) { return x.status.state == RunState::Paused && pause_seen(*s); }, 60));
  // A barrier instead of a sleep: once this probe's echo is in, the worker has applied every
  // command before it, so a step after the pause would have shown by now.
  s->post(Command::probe_now());
  auto probes_echoed = [&] {
    int n = 0;
    for (const auto& e : s->events_since(0)) n += e.message == "probe now";
    return n;
  };
  ASSERT_TRUE(s->wait_until([&](const Snapshot&) { return probes_echoed() == 2; }, 60));
  EXPECT_EQ(s->latest()->status.step, 2);
  s->post(Command::resume());
  ASSERT_TRUE(state_is(*s, RunState::Finished));
  EXPECT_EQ(losses(*s), losses(*straight));  // bit-identical
}

TEST(Session, CommandsApplyAtStepBoundariesInOrder) {
  auto s = Session::create_training(experiment(40), "");
  s->post(Command::start());
  ASSERT_TRUE(s->wait_until([](const Snapshot& x) { return x.status.step >= 3; }, 60));
  // From another thread, while training runs.
  // As one batch: separate posts may straddle a step (see post_all).
  std::thread poster([&] {
    s->post_all({Command::set_lr(1e-3), Command::module_action(ModuleAction::Bypass, ModuleKind::Kha, {1}),
                 Command::module_action(ModuleAction::Freeze, ModuleKind::Mea, {0}), Command::set_lr(5e-4)});
  });
  poster.join();
  ASSERT_TRUE(state_is(*s, RunState::Finished));
  std::vector<EventRecord> user;
  for (const auto& e : s->events_since(0))
    if (e.message.find("(user)") != std::string::npos) user.push_back(e);
  ASSERT_EQ(user.size(), 4u);
  EXPECT_NE(user[0].message.find("set lr to 0.001"), std::string::npos);
  EXPECT_NE(user[1].message.find("bypass kha"), std::string::npos);
  EXPECT_NE(user[2].message.find("freeze mea"), std::string::npos);
  EXPECT_NE(user[3].message.find("0.0005"), std::string::npos);
  for (size_t i = 1; i < user.size(); ++i) EXPECT_EQ(user[i].step, user[0].step);  // all between the same two steps
  // The lr of every later step is the last one set.
  for (const auto& m : s->metrics_since(0))
    if (m.step > user[0].step) EXPECT_EQ(m.lr, 5e-4);
  const auto& modules = s->latest()->status.modules;
  auto state_of = [&](int layer, ModuleKind module) {
    for (const auto& c : modules)
      if (c.layer == layer && c.module == module) return c.state;
    return model::ModuleState::Absent;
  };
  EXPECT_EQ(state_of(1, ModuleKind::Kha), model::ModuleState::Bypassed);
  EXPECT_EQ(state_of(0, ModuleKind::Mea), model::ModuleState::Frozen);
  EXPECT_EQ(state_of(0, ModuleKind::TalkingHeads), model::ModuleState::Absent);
}

TEST(Session, BypassThenActivateRestoresTheExactFunctionAndFoldKeepsTheLoss) {
  auto s = Session::create_training(experiment(30), "");
  for (int i = 0; i < 6; ++i) s->post(Command::step());
  ASSERT_TRUE(s->wait_until([](const Snapshot& x) { return x.status.step == 6; }, 60));
  s->post(Command::probe_now());
  ASSERT_TRUE(s->wait_until([](const Snapshot& x) { return x.probe && x.probe->step == 6; }, 60));
  const auto before = s->latest()->probe;
  s->post(Command::module_action(ModuleAction::Bypass, ModuleKind::Kha));
  s->post(Command::module_action(ModuleAction::Activate, ModuleKind::Kha));
  s->post(Command::probe_now());
  ASSERT_TRUE(s->wait_until([&](const Snapshot& x) { return x.probe && x.probe != before && x.status.modules[0].state == model::ModuleState::Active; }, 60));
  // The first snapshot showing kha active again carries a probe taken after the activate.
  auto after = s->latest()->probe;
  ASSERT_FALSE(before->ablations.empty());
  EXPECT_EQ(after->ablations[0].loss_live, before->ablations[0].loss_live);
  EXPECT_EQ(after->attention, before->attention);
  // Fold: the probe batch's loss is unchanged up to rounding.
  s->post(Command::module_action(ModuleAction::Fold, ModuleKind::Kha));
  s->post(Command::module_action(ModuleAction::Fold, ModuleKind::Mea));
  ASSERT_TRUE(s->wait_until([&](const Snapshot& x) { return x.probe != after; }, 60));
  auto folded = s->latest()->probe;
  EXPECT_NEAR(folded->ablations[0].loss_live, before->ablations[0].loss_live, 1e-5 * before->ablations[0].loss_live);
}

TEST(Session, InspectionModeProbesALoadedModel) {
  const auto dir = tu::scratch_dir("inspect");
  {
    train::Trainer t(tu::experiment(tu::tiny_experiment("sort", 3)), dir);
    while (!t.finished()) t.step();
    t.save_final_model();
  }
  auto s = Session::create_inspection((dir / "model").string());
  auto snap = s->latest();
  ASSERT_TRUE(snap->probe);
  EXPECT_FALSE(snap->status.training);
  EXPECT_EQ(snap->probe->n_layers, 2);
  EXPECT_GE(snap->probe->seq_len, 2);
  s->post(Command::set_probe_input("3142>1234;"));
  ASSERT_TRUE(s->wait_until([](const Snapshot& x) { return x.probe && x.probe->seq_len == 10; }, 30));
  EXPECT_EQ(s->latest()->probe->token_labels[4], ">");
  s->post(Command::start());  // impossible here: an error event, not a crash
  s->post(Command::set_probe_input("XYZ not in the alphabet"));
  s->post(Command::module_action(ModuleAction::Bypass, ModuleKind::Kha, {0}));
  ASSERT_TRUE(s->wait_until([](const Snapshot& x) { return x.status.modules[0].state == model::ModuleState::Bypassed; }, 30));
  int errors = 0;
  for (const auto& e : s->events_since(0)) errors += e.kind == EventKind::Error;
  EXPECT_EQ(errors, 2);
  std::vector<std::string> commands;
  for (const auto& e : s->events_since(0))
    if (e.kind == EventKind::Command) commands.push_back(e.message);
  EXPECT_EQ(commands, (std::vector<std::string>{"probe input: 3142>1234;"}));  // each applied command is echoed
  fs::remove_all(dir);
}

TEST(Session, BadConfigThrowsBeforeAnythingStarts) {
  auto j = experiment(5);
  j["train"]["lr"] = -1;
  const auto dir = tu::scratch_dir("badsession");
  EXPECT_THROW(Session::create_training(j, dir.string()), InputError);
  EXPECT_FALSE(fs::exists(dir));
}

TEST(ProbeTimeline, StaysBoundedAndSpansTheWholeRun) {
  ProbeTimeline timeline(16);
  for (int64_t step = 0; step <= 100000; step += 10) {
    auto snap = std::make_shared<ProbeSnapshot>();
    snap->step = step;
    timeline.add(snap);
  }
  auto entries = timeline.entries();
  EXPECT_LE(entries.size(), 17u);
  EXPECT_EQ(entries.front()->step, 0);
  EXPECT_EQ(entries.back()->step, 100000);
  for (size_t i = 1; i < entries.size(); ++i) EXPECT_LT(entries[i - 1]->step, entries[i]->step);
  auto mid = timeline.at(50000);
  ASSERT_TRUE(mid);
  EXPECT_LE(mid->step, 50000);
  EXPECT_GT(mid->step, 50000 - 2 * timeline.stride() * 10);
  EXPECT_FALSE(ProbeTimeline().at(5));
}

TEST(ProbeBudget, IntervalKeepsProbesWithinTheBudget) {
  ProbeBudget b(0.05);
  EXPECT_EQ(b.interval(), 1);
  b.record_step(0.010);
  b.record_probe(0.019);
  // n = ceil(0.019 * 0.95 / (0.05 * 0.010)) = ceil(36.1) = 37, and 0.019 / (37 * 0.01 + 0.019) <= 5%.
  EXPECT_EQ(b.interval(), 37);
  EXPECT_LE(0.019 / (37 * 0.010 + 0.019), 0.05);
  b.set_fixed_interval(7);
  EXPECT_EQ(b.interval(), 7);
}

// One thread hammers commands and snapshot reads while the worker trains. Under TSan
// (`make tsan`) this must report no race; without it, it checks nothing is lost.
TEST(SessionStress, CommandsAndReadsWhileTraining) {
  auto j = experiment(200);
  j["probe"]["every"] = 1;
  auto s = Session::create_training(j, "");
  s->post(Command::start());
  std::atomic<bool> done{false};
  std::thread reader([&] {
    size_t seen_metrics = 0, seen_events = 0;
    while (!done) {
      auto snap = s->latest();
      if (snap->probe) EXPECT_EQ(snap->probe->attention.size(), static_cast<size_t>(2 * 4 * snap->probe->seq_len * snap->probe->seq_len));
      seen_metrics += s->metrics_since(seen_metrics).size();
      seen_events += s->events_since(seen_events).size();
      (void)s->probe_history();
      (void)s->probe_at(snap->status.step);
    }
    // `done` may come between the last steps and this thread's last read: read the rest, then
    // the incremental reads must add up to the whole series (nothing lost, nothing twice).
    seen_metrics += s->metrics_since(seen_metrics).size();
    EXPECT_EQ(seen_metrics, s->metrics_since(0).size());
  });
  std::thread writer([&] {
    for (int i = 0; i < 50; ++i) {
      s->post(i % 2 ? Command::module_action(ModuleAction::Bypass, ModuleKind::Kha, {0}) : Command::module_action(ModuleAction::Activate, ModuleKind::Kha, {0}));
      s->post(Command::set_probe_interval(i % 3));
      s->post(Command::probe_now());
      if (i % 10 == 0) {
        s->post(Command::pause());
        s->post(Command::resume());
      }
    }
  });
  writer.join();
  EXPECT_TRUE(state_is(*s, RunState::Finished, 300));
  done = true;
  reader.join();
  EXPECT_EQ(s->latest()->status.step, 200);
}

}  // namespace
