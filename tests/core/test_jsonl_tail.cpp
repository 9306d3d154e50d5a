// io/jsonl_tail.h: following a log another process appends to (File > Follow run directory).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "common/errors.h"
#include "io/jsonl_tail.h"
#include "io_test_util.h"

using headlab::InputError;
using headlab::io::JsonlTail;
using headlab::test::ScratchDir;

namespace {
void append(const std::filesystem::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::binary | std::ios::app);
  out << text;
}
}  // namespace

TEST(JsonlTail, ReturnsEachCompleteLineOnceAndWaitsForATornOne) {
  ScratchDir dir;
  const auto log = dir / "metrics.jsonl";
  JsonlTail tail(log);
  EXPECT_TRUE(tail.poll().records.empty()) << "no file yet: nothing, no error";

  append(log, "{\"step\": 1, \"loss\": 3.5}\n{\"step\": 2, \"lo");
  auto u = tail.poll();
  ASSERT_EQ(u.records.size(), 1u);
  EXPECT_EQ(u.records[0]["step"], 1);
  EXPECT_FALSE(u.restarted);
  EXPECT_TRUE(tail.poll().records.empty()) << "the torn line is not read twice, nor early";

  append(log, "ss\": 3.25}\n\n{\"step\": 3, \"loss\": 3.0}\n");
  u = tail.poll();
  ASSERT_EQ(u.records.size(), 2u);
  EXPECT_EQ(u.records[0]["loss"], 3.25);
  EXPECT_EQ(u.records[1]["step"], 3);
}

TEST(JsonlTail, AShorterFileWasRewrittenAndIsReadAgainWhole) {
  ScratchDir dir;
  const auto log = dir / "events.jsonl";
  headlab::test::write_bytes(log, "{\"step\": 1}\n{\"step\": 2}\n{\"step\": 3}\n");
  JsonlTail tail(log);
  EXPECT_EQ(tail.poll().records.size(), 3u);
  headlab::test::write_bytes(log, "{\"step\": 1}\n");  // a resume cut it back to a checkpoint
  const auto u = tail.poll();
  EXPECT_TRUE(u.restarted);
  ASSERT_EQ(u.records.size(), 1u);
  EXPECT_EQ(u.records[0]["step"], 1);
}

TEST(JsonlTail, RefusesNonObjectLinesAndFifosByName) {
  ScratchDir dir;
  const auto log = dir / "metrics.jsonl";
  headlab::test::write_bytes(log, "{\"step\": 1}\n[1, 2]\n");
  JsonlTail tail(log);
  try {
    tail.poll();
    FAIL() << "a non-object line was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("metrics.jsonl:2: a line must be a JSON object"), std::string::npos) << e.what();
  }
  const auto fifo = dir / "fifo.jsonl";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  JsonlTail pipe(fifo);
  EXPECT_THROW(pipe.poll(), InputError);  // refused at once, never opened (it would block)
}
