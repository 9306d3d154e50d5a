#pragma once
// Following a jsonl log that another process is appending to (a run that a CLI, a cluster job
// or another window writes; File > Follow run directory). Each poll() returns the records
// completed since the last one. A last line without its '\n' is a write in progress: it is
// kept and read once complete, never parsed torn. A file that became shorter was rewritten
// (a resume cuts its logs back to the checkpoint): it is read again from the start, and the
// update says so. Torch-free, so the app's widgets side can use it.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace headlab::io {

class JsonlTail {
 public:
  explicit JsonlTail(std::filesystem::path file) : file_(std::move(file)) {}

  struct Update {
    std::vector<nlohmann::json> records;  // the new complete lines, in file order
    bool restarted = false;               // the file was rewritten: these are all its records
  };
  // Reads what was appended. A missing file is no records (yet). InputError for a complete
  // line that is not a JSON object, naming the file and the line; a FIFO or device in place of
  // the log is refused, never read (it would block).
  Update poll();

  const std::filesystem::path& file() const { return file_; }

 private:
  std::filesystem::path file_;
  std::uintmax_t offset_ = 0;  // bytes consumed, up to the end of the last complete line
  std::size_t line_ = 0;       // complete lines consumed (for messages)
};

}  // namespace headlab::io
