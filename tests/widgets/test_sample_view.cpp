// The sample view draws a hand-made result: token backgrounds by probability, tooltips, the
// request it sends, and errors.
#include <gtest/gtest.h>

#include <QDoubleSpinBox>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>

#include "sample_view.h"

using headlab::SampleView;
using headlab::session::Command;
using headlab::session::SampleResult;

namespace {

SampleResult result(uint64_t id) {
  SampleResult r;
  r.request_id = id;
  r.step = 120;
  r.prompt = "abc";
  r.tokens = {"d", "e", " ", "f"};
  r.ids = {3, 4, 8, 5};
  r.probabilities = {0.9f, 0.05f, 0.5f, 1.0f};
  return r;
}

}  // namespace

TEST(SampleView, ColourScaleRunsFromRedOverYellowToGreen) {
  const QColor low = SampleView::colorForProbability(0.0), mid = SampleView::colorForProbability(0.5),
               high = SampleView::colorForProbability(1.0);
  EXPECT_EQ(low, QColor(244, 165, 130));
  EXPECT_EQ(mid, QColor(254, 235, 160));
  EXPECT_EQ(high, QColor(166, 217, 150));
  EXPECT_EQ(SampleView::colorForProbability(-3), low);  // clamped
  EXPECT_EQ(SampleView::colorForProbability(7), high);
  EXPECT_GT(SampleView::colorForProbability(0.9).green(), SampleView::colorForProbability(0.1).green());
}

TEST(SampleView, ColoursEachGeneratedTokenByItsProbability) {
  SampleView view;
  view.setAvailable(true);
  view.setResult(result(1));
  ASSERT_EQ(view.tokenCount(), 4);
  EXPECT_EQ(view.outputText(), "abcde f");
  EXPECT_EQ(view.tokenText(1), "e");
  EXPECT_EQ(view.tokenBackground(0), SampleView::colorForProbability(0.9));
  EXPECT_EQ(view.tokenBackground(1), SampleView::colorForProbability(0.05));
  EXPECT_EQ(view.tokenBackground(2), SampleView::colorForProbability(0.5));
  EXPECT_EQ(view.tokenBackground(3), SampleView::colorForProbability(1.0));
  EXPECT_EQ(view.tokenToolTip(1), "token 2: p = 0.0500");
  EXPECT_TRUE(view.statusLabel()->text().contains("step 120"));
  EXPECT_TRUE(view.statusLabel()->text().contains("mean probability 0.61")) << view.statusLabel()->text().toStdString();

  // The feed hands the same result again at every tick: nothing is redrawn.
  SampleResult same = result(1);
  same.tokens = {"x"};
  same.probabilities = {0.1f};
  view.setResult(same);
  EXPECT_EQ(view.tokenCount(), 4);
}

TEST(SampleView, ShowsTheEngineErrorInsteadOfText) {
  SampleView view;
  view.setAvailable(true);
  view.setResult(result(1));
  SampleResult bad;
  bad.request_id = 2;
  bad.prompt = "xyz";
  bad.error = "tokenizer: 'x' at byte 0 is not in the alphabet";
  view.setResult(bad);
  EXPECT_EQ(view.tokenCount(), 0);
  EXPECT_TRUE(view.outputText().isEmpty());
  EXPECT_TRUE(view.statusLabel()->text().contains("not in the alphabet"));
}

TEST(SampleView, GenerateSendsTheFormAsASampleCommand) {
  SampleView view;
  QSignalSpy spy(&view, &SampleView::sampleRequested);
  view.promptEdit()->setText("abab");
  view.temperatureBox()->setValue(0.7);
  view.topKBox()->setValue(5);
  view.seedBox()->setValue(99);
  view.maxTokensBox()->setValue(30);
  view.requestSample();
  EXPECT_EQ(spy.count(), 0);  // no session: nothing to sample from
  EXPECT_FALSE(view.generateButton()->isEnabled());

  view.setAvailable(true);
  view.generateButton()->click();
  view.generateButton()->click();
  ASSERT_EQ(spy.count(), 2);
  const auto first = spy.at(0).at(0).value<Command>();
  const auto second = spy.at(1).at(0).value<Command>();
  ASSERT_TRUE(first.is<headlab::session::cmd::Sample>());
  const auto& a = *first.get<headlab::session::cmd::Sample>();
  const auto& b = *second.get<headlab::session::cmd::Sample>();
  EXPECT_EQ(a.prompt, "abab");
  EXPECT_DOUBLE_EQ(a.options.temperature, 0.7);
  EXPECT_EQ(a.options.top_k, 5);
  EXPECT_EQ(a.options.seed, 99u);
  EXPECT_EQ(a.options.max_tokens, 30);
  EXPECT_NE(a.options.id, b.options.id);  // each request is told apart

  view.promptEdit()->clear();
  view.requestSample();
  EXPECT_EQ(spy.count(), 2);
  EXPECT_TRUE(view.statusLabel()->text().contains("prompt"));
}
