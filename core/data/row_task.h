#pragma once
// What every data source really is: a rule that writes one row of tokens plus the positions
// that are scored. Plain C++ (no torch): the tasks stay cheap to compile and easy to test,
// and one torch-side class (TaskDataSource in data_source.cpp) turns rows into batches.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/rng.h"
#include "data/split.h"
#include "data/tokenizer.h"

namespace headlab::data {

// One row of `length` tokens. scored[j] != 0 means token j is a scored target, i.e. the
// model is trained on predicting tokens[j] from tokens[0..j). scored[0] is always 0.
struct Row {
  std::vector<int64_t> tokens;
  std::vector<uint8_t> scored;

  void reset(int64_t length) {
    tokens.clear();
    scored.clear();
    tokens.reserve(static_cast<std::size_t>(length));
    scored.reserve(static_cast<std::size_t>(length));
  }
  void push(int64_t token, bool is_scored) {
    tokens.push_back(token);
    scored.push_back(is_scored ? 1 : 0);
  }
  int64_t size() const { return static_cast<int64_t>(tokens.size()); }
};

class RowTask {
 public:
  virtual ~RowTask() = default;

  virtual const Tokenizer& tokenizer() const = 0;
  // The smallest row length whose rows always hold at least one scored target.
  virtual int64_t min_row_length() const = 0;
  // Throws InputError when rows of `length` tokens cannot be made for a reason other than
  // min_row_length (e.g. a corpus split shorter than the row).
  virtual void check_row_length(int64_t /*length*/) const {}
  // Writes exactly `length` tokens, drawing only from `rng`.
  virtual void fill_row(Split split, Rng& rng, int64_t length, Row& row) const = 0;
  // The default probe input: a typical validation row; tasks override it to make the
  // structure easy to see (e.g. induction repeats exactly the first half).
  virtual void fill_probe_row(Rng& rng, int64_t length, Row& row) const {
    fill_row(Split::Validation, rng, length, row);
  }
  virtual std::string describe() const = 0;
  virtual nlohmann::json config() const = 0;
};

// Factories, one per task (task_*.cpp, text_corpus.cpp). Each reads its own keys through
// ConfigReader and throws InputError naming "data.<key>".
std::unique_ptr<RowTask> make_text_task(const nlohmann::json& config, uint64_t seed);
std::unique_ptr<RowTask> make_induction_task(const nlohmann::json& config, uint64_t seed);
std::unique_ptr<RowTask> make_associative_recall_task(const nlohmann::json& config, uint64_t seed);
std::unique_ptr<RowTask> make_modular_addition_task(const nlohmann::json& config, uint64_t seed);
std::unique_ptr<RowTask> make_sort_task(const nlohmann::json& config, uint64_t seed);
std::unique_ptr<RowTask> make_grammar_task(const nlohmann::json& config, uint64_t seed);

// The task named by data_config["task"], built by its factory. InputError for a missing,
// non-string or unknown task ("data.task (\"chess\") must be one of: text, induction, ...").
// Torch-free, so the GUI checks a data config with the same table the trainer uses.
std::unique_ptr<RowTask> make_row_task(const nlohmann::json& data_config, uint64_t seed);

// InputError when rows of seq_len + 1 tokens cannot be made for `task` ("seq_len (4) is too
// short for task sort: it needs at least 6", or the task's own check_row_length message).
void check_sequence_length(const RowTask& task, int64_t seq_len);

// The first `n` characters of "abc...z0123456789ABC...Z": readable symbols for tasks.
std::string symbol_alphabet(int64_t n);

}  // namespace headlab::data
