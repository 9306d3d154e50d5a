// The run driver: every front end's training goes through it, so these tests pin down what a
// run directory holds whoever drove it (probes.jsonl with probe.text, end-of-run saves, stop),
// and that the CLI and the live session write the same run.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <fstream>

#include "common/errors.h"
#include "common/json_file.h"
#include "io/run_directory.h"
#include "run/run_driver.h"
#include "session/session.h"
#include "train_test_util.h"

using namespace headlab;
namespace tu = headlab::testutil;
namespace fs = std::filesystem;

namespace {

nlohmann::json experiment(int64_t steps, int64_t probe_every) {
  auto j = tu::tiny_experiment("sort", steps);
  j["train"]["eval_every"] = 0;
  j["probe"]["every"] = probe_every;
  return j;
}

std::vector<nlohmann::json> probe_lines(const fs::path& run) {
  std::vector<nlohmann::json> out;
  std::ifstream in(run / "probes.jsonl");
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

}  // namespace

TEST(RunDriver, ProbesOnItsCadenceIntoProbesJsonlAndSavesAtTheEnd) {
  const auto dir = tu::scratch_dir("driver-end");
  {
    run::RunDriver driver(tu::experiment(experiment(10, 4)), dir);
    EXPECT_TRUE(driver.probing());
    EXPECT_EQ(driver.run(), run::RunEnd::Finished);
    ASSERT_TRUE(driver.last_checkpoint());
    ASSERT_TRUE(driver.final_model());
    EXPECT_TRUE(fs::exists(*driver.last_checkpoint() / "model.safetensors"));
    EXPECT_TRUE(fs::exists(dir / "model" / "model.safetensors"));
    ASSERT_TRUE(driver.newest_probe());
    EXPECT_EQ(driver.newest_probe()->step, 10);
  }
  std::vector<int64_t> steps;
  for (const auto& line : probe_lines(dir)) steps.push_back(line.at("step").get<int64_t>());
  EXPECT_EQ(steps, (std::vector<int64_t>{4, 8, 10}));  // every 4 steps, and the last step
  fs::remove_all(dir);
}

TEST(RunDriver, HonoursProbeTextAndRejectsOneTheModelCannotRead) {
  auto j = experiment(3, 1);
  j["probe"]["text"] = "3142>1234;";
  run::RunDriver driver(tu::experiment(j), fs::path());
  EXPECT_EQ(driver.probe_input().tokens.size(), 10u);
  EXPECT_EQ(driver.probe_input().labels[4], ">");
  driver.step();
  ASSERT_TRUE(driver.newest_probe());
  EXPECT_EQ(driver.newest_probe()->seq_len, 10);

  j["probe"]["text"] = "XYZ not in the sort alphabet";
  const auto dir = tu::scratch_dir("driver-bad-probe");
  try {
    run::RunDriver bad(tu::experiment(j), dir);
    FAIL() << "a probe text the tokenizer cannot encode was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("probe.text"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir / "probes.jsonl"));
  fs::remove_all(dir);
}

TEST(RunDriver, NoProbesWithoutACadenceUnlessAdaptive) {
  run::RunDriver off(tu::experiment(experiment(4, 0)), fs::path());
  EXPECT_FALSE(off.probing());
  off.run();
  EXPECT_FALSE(off.newest_probe());
  run::RunDriver adaptive(tu::experiment(experiment(4, 0)), fs::path(), {run::ProbeCadence::Adaptive});
  EXPECT_TRUE(adaptive.probing());
  adaptive.run();
  ASSERT_TRUE(adaptive.newest_probe());
  EXPECT_EQ(adaptive.newest_probe()->step, 4);
}

TEST(RunDriver, StopRequestEndsAfterTheStepWithACheckpointAndResumes) {
  const auto dir = tu::scratch_dir("driver-stop");
  {
    run::RunDriver driver(tu::experiment(experiment(20, 0)), dir);
    const auto end = driver.run(0, [&](const train::StepReport&) {
      if (driver.step_count() == 6) driver.request_stop();
    });
    EXPECT_EQ(end, run::RunEnd::Stopped);
    EXPECT_EQ(driver.step_count(), 6);
    ASSERT_TRUE(driver.last_checkpoint());
    EXPECT_EQ(driver.last_checkpoint()->filename(), "step-6");
    EXPECT_FALSE(driver.final_model());
  }
  auto resumed = run::RunDriver::resume(dir);
  EXPECT_EQ(resumed->step_count(), 6);
  EXPECT_EQ(resumed->run(5), run::RunEnd::StepLimit);
  EXPECT_EQ(resumed->step_count(), 11);
  fs::remove_all(dir);
}

TEST(RunDriver, UserModuleActionsFollowCoresRulesAndAreEchoed) {
  run::RunDriver driver(tu::experiment(experiment(5, 0)), fs::path());
  driver.step();
  const auto result = driver.apply({model::ModuleAction::Bypass, model::ModuleKind::Kha, {}});
  EXPECT_EQ(result.layers, (std::vector<int64_t>{0, 1}));  // every layer where bypass is allowed
  ASSERT_FALSE(driver.trainer().events().empty());
  const auto& e = driver.trainer().events().back();
  EXPECT_EQ(e.kind, EventKind::Module);
  EXPECT_EQ(e.message, "bypass kha in layers 0,1 (user)");
  // Bypassing again: nothing allows it now; an error, and nothing changes.
  const auto events = driver.trainer().events().size();
  EXPECT_THROW(driver.apply({model::ModuleAction::Bypass, model::ModuleKind::Kha, {0}}), InputError);
  EXPECT_EQ(driver.trainer().events().size(), events);
}

// The live session drives the same run driver as the CLI: same run directory contents,
// probes.jsonl included, for the same config.
TEST(RunDriver, SessionAndCliWriteTheSameRunDirectory) {
  const auto cli_dir = tu::scratch_dir("driver-cli"), gui_dir = tu::scratch_dir("driver-gui");
  auto j = experiment(8, 4);
  j["probe"]["text"] = "3142>1234;";
  {
    run::RunDriver cli(tu::experiment(j), cli_dir);
    cli.run();
  }
  {
    auto s = session::Session::create_training(j, gui_dir.string());
    s->post(session::Command::start());
    ASSERT_TRUE(s->wait_until([](const session::Snapshot& x) { return x.status.state == session::RunState::Finished; }, 60));
  }
  for (const char* f : {"config.json", "metrics.jsonl", "events.jsonl", "probes.jsonl", "model/model.safetensors",
                        "checkpoints/step-8/model.safetensors"}) {
    EXPECT_TRUE(fs::exists(cli_dir / f)) << f;
    EXPECT_TRUE(fs::exists(gui_dir / f)) << f;
  }
  const auto cli_metrics = io::RunDirectory::read_metrics(cli_dir), gui_metrics = io::RunDirectory::read_metrics(gui_dir);
  ASSERT_EQ(cli_metrics.size(), gui_metrics.size());
  for (size_t i = 0; i < cli_metrics.size(); ++i) EXPECT_EQ(cli_metrics[i].loss, gui_metrics[i].loss) << i;
  // The session also probes the fresh model (step 0) for its first picture; after that the
  // probes are the same records at the same steps, on the config's probe text.
  auto cli_probes = probe_lines(cli_dir), gui_probes = probe_lines(gui_dir);
  ASSERT_FALSE(gui_probes.empty());
  EXPECT_EQ(gui_probes.front().at("step"), 0);
  gui_probes.erase(gui_probes.begin());
  ASSERT_EQ(cli_probes.size(), gui_probes.size());
  for (size_t i = 0; i < cli_probes.size(); ++i) {
    EXPECT_EQ(cli_probes[i].at("step"), gui_probes[i].at("step"));
    EXPECT_EQ(cli_probes[i].at("heads"), gui_probes[i].at("heads"));
  }
  fs::remove_all(cli_dir);
  fs::remove_all(gui_dir);
}

TEST(RunDriver, ASecondWriterOfARunDirectoryIsRefused) {
  const auto dir = tu::scratch_dir("driver-lock");
  {
    run::RunDriver first(tu::experiment(experiment(4, 0)), dir);
    first.run(2);
    // A resume of the same directory while the first writer lives: refused, nothing changed.
    const auto metrics_before = io::RunDirectory::read_metrics(dir).size();
    try {
      run::RunDriver::resume(dir);
      FAIL() << "a second writer was let in";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("is being written by another HeadLab process"), std::string::npos) << e.what();
    }
    EXPECT_EQ(io::RunDirectory::read_metrics(dir).size(), metrics_before);
    EXPECT_THROW(run::RunDriver(tu::experiment(experiment(4, 0)), dir), InputError);  // "already holds a run"
  }
  // The lock goes with its writer; a checkpoint write that a kill interrupted is cleaned up.
  const auto stale = dir / "checkpoints" / "step-9.tmp-999999999-0";
  fs::create_directories(stale);
  auto resumed = run::RunDriver::resume(dir);
  EXPECT_EQ(resumed->step_count(), 2);
  EXPECT_FALSE(fs::exists(stale));
  resumed.reset();
  fs::remove_all(dir);
}

TEST(RunDirectoryInput, FifosNonObjectLinesAndMistypedRecordsAreInputErrors) {
  const auto dir = tu::scratch_dir("bad-logs");
  fs::create_directories(dir);
  // A FIFO where a log or a config should be: refused at once, never a blocked read.
  const auto fifo = dir / "metrics.jsonl";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  try {
    io::RunDirectory::read_metrics(dir);
    FAIL() << "read a FIFO";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("is a FIFO"), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_json_file(fifo), InputError);
  fs::remove(fifo);
  std::ofstream(dir / "metrics.jsonl") << "{\"step\": 1, \"loss\": 2.0}\n[1, 2]\n{\"step\": 3, \"loss\": 1.0}\n";
  try {
    io::RunDirectory::read_metrics(dir);
    FAIL() << "a non-object line was read";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("metrics.jsonl:2: a line must be a JSON object"), std::string::npos) << e.what();
  }
  std::ofstream(dir / "metrics.jsonl") << "{\"step\": \"one\", \"loss\": 2.0}\n";
  EXPECT_THROW(io::RunDirectory::read_metrics(dir), InputError);
  std::ofstream(dir / "events.jsonl") << "{\"step\": 1, \"kind\": 7, \"message\": \"x\"}\n";
  EXPECT_THROW(io::RunDirectory::read_events(dir), InputError);
  EXPECT_THROW(require_regular_file("/dev/zero"), InputError);
  EXPECT_THROW(require_regular_file(dir), InputError);
  fs::remove_all(dir);
}

TEST(RunDriver, ARunKilledBeforeItsFirstCheckpointCanStartOver) {
  const auto dir = tu::scratch_dir("driver-restart");
  {
    run::RunDriver killed(tu::experiment(experiment(20, 0)), dir);
    for (int i = 0; i < 3; ++i) killed.step();  // no checkpoint yet; then the process "dies"
  }
  try {
    run::RunDriver::resume(dir);
    FAIL() << "resumed without a checkpoint";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("starts it over"), std::string::npos) << e.what();
  }
  run::RunDriver again(tu::experiment(experiment(4, 0)), dir);
  EXPECT_EQ(io::RunDirectory::read_metrics(dir / "attempt-1").size(), 3u);  // the logged steps are kept
  ASSERT_FALSE(again.trainer().events().empty());
  EXPECT_NE(again.trainer().events().front().message.find("started over"), std::string::npos);
  again.run();
  EXPECT_EQ(io::RunDirectory::read_metrics(dir).size(), 4u);
  // A run with a checkpoint is never started over.
  EXPECT_THROW(run::RunDriver(tu::experiment(experiment(4, 0)), dir), InputError);
  fs::remove_all(dir);
}
