// Associative recall: "a3k7b1?k7;" -- key-value pairs, then a query whose answer is the
// value bound to the key. Solving it needs a head that looks up the earlier occurrence of
// the queried key and copies what follows (an induction-like lookup over a binding).
// Examples are packed into rows so that every row trains several lookups; a key may recur
// across examples with another value, and the right answer is always the latest binding.
#include "data/config_reader.h"
#include "data/row_task.h"

namespace headlab::data {
namespace {

constexpr char kQuery = '?';
constexpr char kEnd = ';';

class AssociativeRecallTask final : public RowTask {
 public:
  AssociativeRecallTask(int64_t n_keys, int64_t n_values, int64_t n_pairs)
      : n_keys_(n_keys),
        n_values_(n_values),
        n_pairs_(n_pairs),
        keys_(symbol_alphabet(n_keys)),
        values_(std::string("0123456789").substr(0, static_cast<std::size_t>(n_values))),
        tokenizer_(keys_ + values_ + kQuery + kEnd) {}

  const Tokenizer& tokenizer() const override { return tokenizer_; }

  // The first example's answer sits at index 2 * n_pairs + 2.
  int64_t min_row_length() const override { return 2 * n_pairs_ + 3; }

  void fill_row(Split, Rng& rng, int64_t length, Row& row) const override {
    std::string keys = keys_;
    std::vector<char> values(static_cast<std::size_t>(n_pairs_));
    while (row.size() < length) {
      // Distinct keys: a partial Fisher-Yates picks the first n_pairs of a shuffle.
      for (int64_t i = 0; i < n_pairs_; ++i) {
        const auto pick = i + static_cast<int64_t>(rng.below(static_cast<uint64_t>(n_keys_ - i)));
        std::swap(keys[static_cast<std::size_t>(i)], keys[static_cast<std::size_t>(pick)]);
        values[static_cast<std::size_t>(i)] =
            values_[static_cast<std::size_t>(rng.below(static_cast<uint64_t>(n_values_)))];
      }
      const auto query = static_cast<std::size_t>(rng.below(static_cast<uint64_t>(n_pairs_)));
      for (int64_t i = 0; i < n_pairs_; ++i) {
        push(row, length, keys[static_cast<std::size_t>(i)], false);
        push(row, length, values[static_cast<std::size_t>(i)], false);
      }
      push(row, length, kQuery, false);
      push(row, length, keys[query], false);
      push(row, length, values[query], true);
      push(row, length, kEnd, false);
    }
  }

  std::string describe() const override {
    return "associative_recall: " + std::to_string(n_pairs_) + " pairs per example over " +
           std::to_string(n_keys_) + " keys and " + std::to_string(n_values_) +
           " values; scored on the recalled value";
  }

  nlohmann::json config() const override {
    return {{"task", "associative_recall"},
            {"n_keys", n_keys_},
            {"n_values", n_values_},
            {"n_pairs", n_pairs_}};
  }

 private:
  void push(Row& row, int64_t length, char c, bool scored) const {
    if (row.size() < length) row.push(tokenizer_.id_of(static_cast<char32_t>(c)), scored);
  }

  int64_t n_keys_, n_values_, n_pairs_;
  std::string keys_, values_;
  CharsTokenizer tokenizer_;
};

}  // namespace

std::unique_ptr<RowTask> make_associative_recall_task(const nlohmann::json& config, uint64_t) {
  ConfigReader reader(config, "data", {"n_keys", "n_values", "n_pairs"});
  const int64_t n_keys = reader.integer("n_keys", 26, 2, 26);
  const int64_t n_values = reader.integer("n_values", 10, 2, 10);
  const int64_t n_pairs = reader.integer("n_pairs", std::min<int64_t>(8, n_keys), 1, n_keys);
  return std::make_unique<AssociativeRecallTask>(n_keys, n_values, n_pairs);
}

}  // namespace headlab::data
