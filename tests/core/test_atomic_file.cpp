#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>

#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "io_test_util.h"

namespace fs = std::filesystem;
using headlab::io::AtomicDirectory;
using headlab::io::remove_stale_temporaries;
using headlab::io::write_file_atomic;
using headlab::test::read_bytes;
using headlab::test::ScratchDir;
using headlab::test::write_bytes;

namespace {

// A pid above Linux's pid_max limit (2^22): never a live process.
constexpr const char* kDeadPid = "99999999";

int count_entries(const fs::path& dir) {
  int n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "<no exception>";
}

}  // namespace

TEST(AtomicFile, WritesAndReplacesContentWithoutLeavingTemporaries) {
  ScratchDir dir;
  const fs::path file = dir / "a.bin";
  const std::string first("first\0with nul", 14);
  write_file_atomic(file, first);
  EXPECT_EQ(read_bytes(file), first);
  write_file_atomic(file, "second");
  EXPECT_EQ(read_bytes(file), "second");
  write_file_atomic(file, "");
  EXPECT_EQ(read_bytes(file), "");
  EXPECT_EQ(count_entries(dir.path()), 1);
}

TEST(AtomicFile, MissingDirectoryThrowsNamingThePath) {
  ScratchDir dir;
  const fs::path file = dir / "no-such-dir" / "x.safetensors";
  const std::string msg = message_of([&] { write_file_atomic(file, "data"); });
  EXPECT_NE(msg.find(file.string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("No such file or directory"), std::string::npos) << msg;
}

TEST(AtomicFile, ReadOnlyDirectoryThrowsNamingThePath) {
  ScratchDir dir;
  const fs::path ro = dir / "ro";
  fs::create_directory(ro);
  fs::permissions(ro, fs::perms::owner_read | fs::perms::owner_exec);
  const fs::path file = ro / "x.bin";
  // Permissions do not bind root: act as "nobody" for the attempt (seteuid(0) restores).
  const bool root = ::geteuid() == 0;
  if (root) ASSERT_EQ(::seteuid(65534), 0);
  const std::string msg = message_of([&] { write_file_atomic(file, "data"); });
  if (root) ASSERT_EQ(::seteuid(0), 0);
  EXPECT_NE(msg.find(file.string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("Permission denied"), std::string::npos) << msg;
}

// A full disk shows up as a failing write(); RLIMIT_FSIZE produces the same failure (EFBIG)
// without needing a small file system. The old content must survive and no temporary remain.
TEST(AtomicFile, FailedWriteKeepsOldContentAndRemovesTemporary) {
  ScratchDir dir;
  const fs::path file = dir / "model.safetensors";
  write_file_atomic(file, "old content");

  struct rlimit saved;
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  auto old_handler = ::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = saved;
  small.rlim_cur = 4096;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  const std::string msg = message_of([&] { write_file_atomic(file, std::string(100000, 'x')); });
  ::setrlimit(RLIMIT_FSIZE, &saved);
  ::signal(SIGXFSZ, old_handler);

  EXPECT_NE(msg.find(file.string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("File too large"), std::string::npos) << msg;
  EXPECT_EQ(read_bytes(file), "old content");
  EXPECT_EQ(count_entries(dir.path()), 1);
}

TEST(AtomicDirectory, CommitReplacesPreviousContent) {
  ScratchDir dir;
  const fs::path final_dir = dir / "ckpt";
  {
    AtomicDirectory save(final_dir);
    EXPECT_EQ(save.temp_path().parent_path(), dir.path());
    EXPECT_NE(save.temp_path().filename().string().find("ckpt.tmp-" + std::to_string(::getpid()) + "-"),
              std::string::npos);
    write_file_atomic(save.temp_path() / "a.txt", "one");
    write_file_atomic(save.temp_path() / "stale.txt", "only in the first save");
    save.commit();
    EXPECT_TRUE(save.committed());
  }
  EXPECT_EQ(read_bytes(final_dir / "a.txt"), "one");
  {
    AtomicDirectory save(final_dir);
    write_file_atomic(save.temp_path() / "a.txt", "two");
    save.commit();
  }
  EXPECT_EQ(read_bytes(final_dir / "a.txt"), "two");
  EXPECT_FALSE(fs::exists(final_dir / "stale.txt")) << "the old directory is replaced, not merged";
  EXPECT_EQ(count_entries(dir.path()), 1) << "no .tmp- or .old- sibling is left behind";
}

TEST(AtomicDirectory, CreatesMissingParents) {
  ScratchDir dir;
  const fs::path final_dir = dir / "runs" / "r1" / "step-10";
  AtomicDirectory save(final_dir);
  write_file_atomic(save.temp_path() / "x", "x");
  save.commit();
  EXPECT_EQ(read_bytes(final_dir / "x"), "x");
}

TEST(AtomicDirectory, CrashMidSaveLeavesPreviousCheckpointLoadable) {
  ScratchDir dir;
  const fs::path final_dir = dir / "model";
  const torch::Tensor w = torch::arange(6, torch::kFloat32).reshape({2, 3});
  {
    AtomicDirectory save(final_dir);
    headlab::io::write_safetensors(save.temp_path() / "model.safetensors", {{"w", w}}, {{"step", "1"}});
    save.commit();
  }
  fs::path temp;
  try {
    AtomicDirectory save(final_dir);
    temp = save.temp_path();
    headlab::io::write_safetensors(save.temp_path() / "model.safetensors", {{"w", w * 2}}, {{"step", "2"}});
    write_bytes(save.temp_path() / "config.json", "{\"half\":");  // half-written when it "crashed"
    throw std::runtime_error("simulated crash");
  } catch (const std::runtime_error&) {
  }
  EXPECT_FALSE(fs::exists(temp)) << "the destructor removes the uncommitted temporary";
  const auto loaded = headlab::io::read_safetensors(final_dir / "model.safetensors");
  ASSERT_EQ(loaded.tensors.size(), 1u);
  EXPECT_TRUE(torch::equal(loaded.tensors[0].second, w));
  EXPECT_EQ(loaded.metadata.at("step"), "1");
}

TEST(AtomicDirectory, RemoveStaleTemporariesCleansAndRecoversAfterACrash) {
  ScratchDir dir;
  const std::string dead = kDeadPid;
  const std::string self = std::to_string(::getpid());
  fs::create_directory(dir / "model");
  write_bytes(dir / "model" / "w", "current");
  fs::create_directory(dir / ("model.tmp-" + dead + "-0"));  // crashed save of a dead process
  write_bytes(dir / ("model.tmp-" + dead + "-0") / "w", "partial");
  write_bytes(dir / ("metrics.jsonl.tmp-" + dead + "-7"), "partial file");
  fs::create_directory(dir / ("model.old-" + dead + "-1"));  // crash after the swap: stale
  // A crash between commit()'s two renames: only the old copy is left, and it is restored.
  fs::create_directory(dir / ("other.old-" + dead + "-2"));
  write_bytes(dir / ("other.old-" + dead + "-2") / "w", "previous");
  // Not ours to delete: a save in progress in a live process, and a user's file.
  fs::create_directory(dir / ("busy.tmp-" + self + "-3"));
  write_bytes(dir / "notes.tmp-draft", "user file");

  EXPECT_EQ(remove_stale_temporaries(dir.path()), 4);
  EXPECT_EQ(read_bytes(dir / "model" / "w"), "current");
  EXPECT_EQ(read_bytes(dir / "other" / "w"), "previous");
  EXPECT_FALSE(fs::exists(dir / ("model.tmp-" + dead + "-0")));
  EXPECT_FALSE(fs::exists(dir / ("metrics.jsonl.tmp-" + dead + "-7")));
  EXPECT_FALSE(fs::exists(dir / ("model.old-" + dead + "-1")));
  EXPECT_TRUE(fs::exists(dir / ("busy.tmp-" + self + "-3")));
  EXPECT_TRUE(fs::exists(dir / "notes.tmp-draft"));
  EXPECT_EQ(count_entries(dir.path()), 4);
}
