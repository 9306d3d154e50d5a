// Sorting: "3142>1234;". Each output token is the smallest remaining input symbol, so heads
// must attend back across the separator to the unsorted list and keep count -- a classic
// algorithmic task whose attention maps are easy to read.
#include <algorithm>

#include "common/errors.h"
#include "data/config_reader.h"
#include "data/row_task.h"

namespace headlab::data {
namespace {

constexpr char kSeparator = '>';
constexpr char kEnd = ';';

// 0-9 first so that the default list is digits, whose order everyone knows.
std::string sort_symbols(int64_t n) {
  return std::string("0123456789abcdefghijklmnopqrstuvwxyz").substr(0, static_cast<std::size_t>(n));
}

class SortTask final : public RowTask {
 public:
  SortTask(int64_t n_symbols, int64_t min_len, int64_t max_len)
      : n_symbols_(n_symbols),
        min_len_(min_len),
        max_len_(max_len),
        symbols_(sort_symbols(n_symbols)),
        tokenizer_(symbols_ + kSeparator + kEnd) {}

  const Tokenizer& tokenizer() const override { return tokenizer_; }

  // The longest list, the separator and the first sorted symbol.
  int64_t min_row_length() const override { return max_len_ + 2; }

  void fill_row(Split, Rng& rng, int64_t length, Row& row) const override {
    std::string list;
    while (row.size() < length) {
      list.resize(static_cast<std::size_t>(rng.between(min_len_, max_len_)));
      for (char& c : list) c = symbols_[static_cast<std::size_t>(rng.below(symbols_.size()))];
      for (char c : list) push(row, length, c, false);
      push(row, length, kSeparator, false);
      // symbols_ is in ascending order and so are the ids: sorting chars sorts the tokens.
      std::sort(list.begin(), list.end());
      for (char c : list) push(row, length, c, true);
      push(row, length, kEnd, false);
    }
  }

  std::string describe() const override {
    return "sort: lists of " + std::to_string(min_len_) + ".." + std::to_string(max_len_) +
           " symbols over " + std::to_string(n_symbols_) + "; scored on the sorted list";
  }

  nlohmann::json config() const override {
    return {{"task", "sort"}, {"n_symbols", n_symbols_}, {"min_len", min_len_}, {"max_len", max_len_}};
  }

 private:
  void push(Row& row, int64_t length, char c, bool scored) const {
    if (row.size() < length) row.push(tokenizer_.id_of(static_cast<char32_t>(c)), scored);
  }

  int64_t n_symbols_, min_len_, max_len_;
  std::string symbols_;
  CharsTokenizer tokenizer_;
};

}  // namespace

std::unique_ptr<RowTask> make_sort_task(const nlohmann::json& config, uint64_t) {
  ConfigReader reader(config, "data", {"n_symbols", "min_len", "max_len"});
  const int64_t n_symbols = reader.integer("n_symbols", 10, 2, 36);
  const int64_t min_len = reader.integer("min_len", 2, 1, 64);
  const int64_t max_len = reader.integer("max_len", std::max<int64_t>(8, min_len), min_len, 64);
  return std::make_unique<SortTask>(n_symbols, min_len, max_len);
}

}  // namespace headlab::data
