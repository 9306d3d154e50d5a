#include "io/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "common/errors.h"

namespace headlab::io {
namespace fs = std::filesystem;

namespace {

// A full disk, a read-only or forbidden place is the user's to fix (exit 2, the path and the
// system's reason); anything else is a fault of ours or of the machine (exit 1).
[[noreturn]] void throw_errno(const std::string& what, const fs::path& path, int err) {
  const std::string message = what + " '" + path.string() + "': " + std::strerror(err);
  switch (err) {
    case ENOSPC: case EDQUOT: case EROFS: case EACCES: case EPERM: case ENAMETOOLONG: case ENOTDIR: case ELOOP:
      throw InputError(message);
    default:
      throw std::runtime_error(message);
  }
}

// Durability of a rename needs the directory entry itself on disk. Best effort: some file
// systems refuse fsync on directories, and the data is already safe by then.
void fsync_directory(const fs::path& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

void fsync_file(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw_errno("cannot open for fsync", path, errno);
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    throw_errno("cannot flush to disk", path, err);
  }
  ::close(fd);
}

void write_all(int fd, std::string_view bytes, const fs::path& path) {
  const char* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("cannot write", path, errno);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
}

void remove_quietly(const fs::path& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
}

bool all_digits(std::string_view s) {
  if (s.empty() || s.size() > 18) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

// Splits "<base>.<tag>-<pid>-<n>" into base and pid; false if the name is not ours.
bool parse_temp_name(const std::string& name, const std::string& tag, std::string* base, long long* pid) {
  const std::string marker = "." + tag + "-";
  const size_t at = name.rfind(marker);
  if (at == std::string::npos || at == 0) return false;
  const std::string rest = name.substr(at + marker.size());
  const size_t dash = rest.find('-');
  if (dash == std::string::npos) return false;
  const std::string pid_text = rest.substr(0, dash);
  if (!all_digits(pid_text) || !all_digits(rest.substr(dash + 1))) return false;
  *base = name.substr(0, at);
  *pid = std::stoll(pid_text);
  return true;
}

bool process_alive(long long pid) {
  if (pid <= 0 || pid > 0x7fffffff) return false;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

}  // namespace

fs::path sibling_temp_name(const fs::path& path, std::string_view tag) {
  static std::atomic<unsigned long long> counter{0};
  fs::path clean = path;
  if (!clean.has_filename()) clean = clean.parent_path();  // "dir/" names "dir"
  return fs::path(clean.string() + "." + std::string(tag) + "-" + std::to_string(::getpid()) + "-" +
                  std::to_string(counter.fetch_add(1)));
}

void write_file_atomic(const fs::path& path, std::string_view bytes) {
  const fs::path temp = sibling_temp_name(path, "tmp");
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) throw_errno("cannot create a temporary file to write", path, errno);
  try {
    write_all(fd, bytes, path);
    // A full disk may only show up here (delayed allocation), so fsync is not optional.
    if (::fsync(fd) != 0) throw_errno("cannot flush to disk", path, errno);
  } catch (...) {
    ::close(fd);
    ::unlink(temp.c_str());
    throw;
  }
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    throw_errno("cannot close", path, err);
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    throw_errno("cannot rename the temporary file onto", path, err);
  }
  fsync_directory(path.parent_path());
}

AtomicDirectory::AtomicDirectory(fs::path final_path) : final_path_(std::move(final_path)) {
  if (!final_path_.has_filename()) final_path_ = final_path_.parent_path();
  std::error_code ec;
  const fs::path parent = final_path_.parent_path();
  if (!parent.empty()) fs::create_directories(parent, ec);
  if (ec) throw_errno("cannot create directory", parent, ec.value());
  temp_path_ = sibling_temp_name(final_path_, "tmp");
  if (::mkdir(temp_path_.c_str(), 0777) != 0)
    throw_errno("cannot create a temporary directory to save", final_path_, errno);
}

AtomicDirectory::~AtomicDirectory() {
  if (!committed_) remove_quietly(temp_path_);
}

void AtomicDirectory::commit() {
  if (committed_) throw std::logic_error("AtomicDirectory::commit called twice for " + final_path_.string());
  // Everything inside must be on disk before the rename makes it the checkpoint.
  std::error_code ec;
  for (fs::recursive_directory_iterator it(temp_path_, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec)) fsync_file(it->path());
    if (it->is_directory(ec)) fsync_directory(it->path());
  }
  if (ec) throw std::runtime_error("cannot list '" + temp_path_.string() + "': " + ec.message());
  fsync_directory(temp_path_);

  fs::path old;
  if (fs::symlink_status(final_path_, ec).type() != fs::file_type::not_found) {
    old = sibling_temp_name(final_path_, "old");
    if (::rename(final_path_.c_str(), old.c_str()) != 0)
      throw_errno("cannot move the previous version aside", final_path_, errno);
  }
  if (::rename(temp_path_.c_str(), final_path_.c_str()) != 0) {
    const int err = errno;
    if (!old.empty()) ::rename(old.c_str(), final_path_.c_str());  // put the previous one back
    throw_errno("cannot move the new version into place", final_path_, err);
  }
  committed_ = true;
  fsync_directory(final_path_.parent_path());
  if (!old.empty()) remove_quietly(old);
}

int remove_stale_temporaries(const fs::path& parent) {
  std::error_code ec;
  std::vector<fs::path> entries;
  for (fs::directory_iterator it(parent, ec), end; !ec && it != end; it.increment(ec))
    entries.push_back(it->path());
  if (ec) throw std::runtime_error("cannot list '" + parent.string() + "': " + ec.message());

  int cleaned = 0;
  for (const fs::path& entry : entries) {
    const std::string name = entry.filename().string();
    std::string base;
    long long pid = 0;
    if (parse_temp_name(name, "tmp", &base, &pid)) {
      if (process_alive(pid)) continue;
      remove_quietly(entry);
      ++cleaned;
    } else if (parse_temp_name(name, "old", &base, &pid)) {
      if (process_alive(pid)) continue;
      const fs::path original = parent / base;
      if (fs::symlink_status(original, ec).type() == fs::file_type::not_found) {
        if (::rename(entry.c_str(), original.c_str()) == 0) ++cleaned;
      } else {
        remove_quietly(entry);
        ++cleaned;
      }
    }
  }
  return cleaned;
}

}  // namespace headlab::io
