#pragma once
// An exclusive lock on a run directory for as long as one writer (a CLI run, a GUI session,
// a compare variant) holds it: a second writer of the same directory is refused, naming the
// process that holds it. It is an advisory flock(2) on `<run>/.lock`, so the kernel releases
// it when its holder exits or is killed: there are no stale locks to clean up.
#include <filesystem>

namespace headlab::io {

class RunLock {
 public:
  // Takes the lock without waiting; throws InputError when another writer holds it.
  explicit RunLock(const std::filesystem::path& run_dir);
  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

  static constexpr const char* kFileName = ".lock";

 private:
  int fd_ = -1;
};

}  // namespace headlab::io
