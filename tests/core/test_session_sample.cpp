// The Sample command: text from the live model through the session, reproducible with a
// seed, identical to train::sample on the same weights, and bad prompts reported in the
// result instead of stopping the run.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "data/tokenizer.h"
#include "io/model_io.h"
#include "session/session.h"
#include "train/sampler.h"
#include "train/trainer.h"
#include "train_test_util.h"

using namespace headlab;
using namespace headlab::session;
namespace tu = headlab::testutil;
namespace fs = std::filesystem;

namespace {

nlohmann::json experiment(int64_t steps) {
  auto j = tu::tiny_experiment("induction", steps);
  j["data"]["n_symbols"] = 8;  // symbols a..h
  j["train"]["eval_every"] = 0;
  return j;
}

std::shared_ptr<const SampleResult> sample_and_wait(Session& s, const std::string& prompt,
                                                    Command::SampleRequest request) {
  s.post(Command::sample_text(prompt, request));
  const bool arrived = s.wait_until(
      [&](const Snapshot& snap) { return snap.sample && snap.sample->request_id == request.id; }, 60);
  return arrived ? s.latest()->sample : nullptr;
}

}  // namespace

TEST(SessionSample, ASeededRequestGivesTheSameTokensTwice) {
  auto s = Session::create_training(experiment(6), "");
  s->post(Command::start());
  ASSERT_TRUE(s->wait_until([](const Snapshot& snap) { return snap.status.state == RunState::Finished; }, 60));

  Command::SampleRequest request;
  request.id = 1;
  request.max_tokens = 16;
  request.temperature = 1.0;
  request.seed = 42;
  const auto first = sample_and_wait(*s, "abcab", request);
  request.id = 2;
  const auto second = sample_and_wait(*s, "abcab", request);
  request.id = 3;
  request.seed = 43;
  const auto other_seed = sample_and_wait(*s, "abcab", request);
  ASSERT_TRUE(first && second && other_seed);

  EXPECT_TRUE(first->error.empty()) << first->error;
  EXPECT_EQ(first->step, 6);
  EXPECT_EQ(first->prompt, "abcab");
  ASSERT_EQ(first->ids.size(), 16u);
  ASSERT_EQ(first->tokens.size(), 16u);
  ASSERT_EQ(first->probabilities.size(), 16u);
  EXPECT_EQ(first->ids, second->ids);
  EXPECT_EQ(first->tokens, second->tokens);
  EXPECT_EQ(first->probabilities, second->probabilities);
  EXPECT_NE(first->ids, other_seed->ids);  // the seed really drives the choice
  for (size_t i = 0; i < first->ids.size(); ++i) {
    EXPECT_GT(first->probabilities[i], 0.0f);
    EXPECT_LE(first->probabilities[i], 1.0f);
    // Every token is one of the task's symbols or its separators, drawn as its own text.
    EXPECT_FALSE(first->tokens[i].empty());
  }
}

TEST(SessionSample, MatchesTheSamplerOnTheSameWeightsInInspectionMode) {
  const auto dir = tu::scratch_dir("session-sample");
  train::Trainer trainer(tu::experiment(experiment(4)));
  while (!trainer.finished()) trainer.step();
  io::save_model(trainer.model(), dir);

  auto s = Session::create_inspection(dir.string());
  Command::SampleRequest request;
  request.id = 7;
  request.max_tokens = 12;
  request.temperature = 0.8;
  request.top_k = 3;
  request.seed = 5;
  const auto result = sample_and_wait(*s, "abcd", request);
  ASSERT_TRUE(result);
  ASSERT_TRUE(result->error.empty()) << result->error;

  auto model = io::load_model(dir);
  const auto tokenizer = data::Tokenizer::from_json(model->config().tokenizer);
  const auto expected = train::sample(model, tokenizer->encode("abcd"), {12, 0.8, 3, 5});
  ASSERT_EQ(result->ids.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(result->ids[i], expected[i].id) << i;
    EXPECT_FLOAT_EQ(result->probabilities[i], expected[i].probability) << i;
    EXPECT_EQ(result->tokens[i], tokenizer->decode({expected[i].id})) << i;
  }
  fs::remove_all(dir);
}

TEST(SessionSample, ABadPromptIsReportedInTheResultAndTheSessionGoesOn) {
  auto s = Session::create_training(experiment(3), "");
  Command::SampleRequest request;
  request.id = 11;
  const auto bad = sample_and_wait(*s, "xyz!", request);  // outside the a..h alphabet
  ASSERT_TRUE(bad);
  EXPECT_FALSE(bad->error.empty());
  EXPECT_TRUE(bad->ids.empty());
  request.id = 12;
  const auto empty = sample_and_wait(*s, "", request);
  ASSERT_TRUE(empty);
  EXPECT_NE(empty->error.find("empty"), std::string::npos) << empty->error;

  s->post(Command::start());
  EXPECT_TRUE(s->wait_until([](const Snapshot& snap) { return snap.status.state == RunState::Finished; }, 60));
}

TEST(SessionSample, SamplingBetweenStepsLeavesTheRunUnchanged) {
  // The same 6 steps, once with a sample after step 3: the losses must agree exactly, so a
  // student's curiosity never changes the experiment.
  auto run = [](bool with_sample) {
    auto s = Session::create_training(experiment(6), "");
    std::vector<Command> commands{Command::step(), Command::step(), Command::step()};
    if (with_sample) {
      Command::SampleRequest request;
      request.id = 1;
      request.max_tokens = 20;
      request.seed = 3;
      commands.push_back(Command::sample_text("abcab", request));
    }
    for (int i = 0; i < 3; ++i) commands.push_back(Command::step());
    s->post_all(commands);
    EXPECT_TRUE(s->wait_until([](const Snapshot& snap) { return snap.status.step == 6; }, 60));
    std::vector<double> losses;
    for (const auto& m : s->metrics_since(0)) losses.push_back(m.loss);
    if (with_sample) EXPECT_EQ(s->latest()->sample->ids.size(), 20u);
    return losses;
  };
  const auto plain = run(false), sampled = run(true);
  ASSERT_EQ(plain.size(), 6u);
  EXPECT_EQ(plain, sampled);
}
