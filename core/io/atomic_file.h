#pragma once
// Crash-safe writes. A save interrupted by a crash, a kill or a full disk must leave the
// previous file or checkpoint directory exactly as it was: everything is written to a
// temporary sibling first and renamed over the final name only when complete.
#include <cstdint>
#include <filesystem>
#include <string_view>

namespace headlab::io {

// Writes `bytes` to a temporary file in the same directory as `path`, fsyncs it and renames it
// over `path` (rename within one file system is atomic on POSIX). Throws std::runtime_error
// naming the path and the system error (e.g. "No space left on device") and removes the
// temporary on any failure. The parent directory must exist.
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);

// A checkpoint directory under construction. Write everything into temp_path(), then call
// commit(). Without commit() (an exception, a crash) the destructor removes the temporary and
// the previous directory at final_path() is untouched.
class AtomicDirectory {
 public:
  // Creates the temporary sibling `<final>.tmp-<pid>-<n>`, and the parent directories of
  // `final_path` if missing. Throws std::runtime_error if it cannot.
  explicit AtomicDirectory(std::filesystem::path final_path);
  ~AtomicDirectory();
  AtomicDirectory(const AtomicDirectory&) = delete;
  AtomicDirectory& operator=(const AtomicDirectory&) = delete;

  const std::filesystem::path& final_path() const { return final_path_; }
  const std::filesystem::path& temp_path() const { return temp_path_; }
  bool committed() const { return committed_; }

  // Flushes the temporary directory's files to disk and puts it in place of final_path(): an
  // existing final directory is renamed aside to `<final>.old-<pid>-<n>`, the temporary is
  // renamed to the final name, then the old one is removed. Between the two renames the final
  // name is briefly absent; remove_stale_temporaries() repairs a crash in that window.
  // Throws std::runtime_error (the previous directory is restored when possible).
  void commit();

 private:
  std::filesystem::path final_path_;
  std::filesystem::path temp_path_;
  bool committed_ = false;
};

// Cleans up after a crashed save in `parent` (not recursive): removes `<name>.tmp-<pid>-<n>`
// files and directories whose process is gone, removes `<name>.old-<pid>-<n>` leftovers when
// `<name>` exists, and renames such a leftover back to `<name>` when `<name>` is missing (a
// crash between the two renames of commit()). Entries of a live process are left alone, since
// it may be saving right now. Returns how many entries it removed or restored.
int remove_stale_temporaries(const std::filesystem::path& parent);

// The name of the next temporary sibling of `path` with the given tag ("tmp" or "old"):
// `<path>.<tag>-<pid>-<n>`, unique within this process.
std::filesystem::path sibling_temp_name(const std::filesystem::path& path, std::string_view tag);

}  // namespace headlab::io
