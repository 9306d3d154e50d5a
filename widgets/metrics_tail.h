#pragma once
// Follows a run's metrics.jsonl while the run writes it: each read() returns only the records
// that landed since the previous one. Re-reading the whole file every second would cost
// time in proportion to the steps done, on the GUI thread, for every running run of a
// comparison; this costs only the new lines. Plain C++ (no Qt): io::JsonlTail's lines as
// metric records.
#include <cstdint>
#include <filesystem>
#include <vector>

#include "common/records.h"
#include "io/jsonl_tail.h"

namespace headlab {

class MetricsTail {
 public:
  explicit MetricsTail(std::filesystem::path run_dir);

  struct Update {
    bool restarted = false;  // the file got shorter (a run started over): forget what came before
    std::vector<MetricPoint> points;
  };
  // The complete lines written since the last call. A line still being written (no newline
  // yet) waits for the next call. No file yet: nothing. A malformed complete line is an
  // InputError naming the file and line.
  Update read();

 private:
  io::JsonlTail tail_;
  int64_t records_ = 0;  // records read, for messages
};

}  // namespace headlab
