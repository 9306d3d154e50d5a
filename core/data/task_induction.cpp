// Induction task: a random segment followed by its repeat, the pattern that makes induction
// heads form ("... A B ... A -> B"). The period varies per row so that the attention stripe
// the heads must learn sits at a different offset in every row.
#include <algorithm>

#include "data/config_reader.h"
#include <vector>

#include "data/row_task.h"

namespace headlab::data {
namespace {

class InductionTask final : public RowTask {
 public:
  InductionTask(int64_t n_symbols, bool distinct)
      : n_symbols_(n_symbols), distinct_(distinct), tokenizer_(symbol_alphabet(n_symbols)) {}

  const Tokenizer& tokenizer() const override { return tokenizer_; }

  // period >= 2 and one scored token after the unpredictable first repeat token.
  int64_t min_row_length() const override { return 4; }

  void fill_row(Split, Rng& rng, int64_t length, Row& row) const override {
    int64_t lo = std::max<int64_t>(2, length / 4);
    int64_t hi = std::max<int64_t>(lo, length / 2);
    if (distinct_) {  // a segment of distinct symbols is at most n_symbols long
      hi = std::min(hi, n_symbols_);
      lo = std::min(lo, hi);
    }
    write(rng, length, rng.between(lo, hi), row);
  }

  // Exactly "first half random, second half a copy": the clearest picture of the stripe.
  // The probe repeats a block of DISTINCT symbols: then every token of a repeat has exactly
  // one earlier occurrence, one period back, and the induction score (attention to the token
  // after the previous occurrence) measures copying and nothing else.
  void fill_probe_row(Rng& rng, int64_t length, Row& row) const override {
    const int64_t period = std::max<int64_t>(1, std::min<int64_t>(n_symbols_, length / 2));
    std::vector<int64_t> symbols(static_cast<std::size_t>(n_symbols_));
    for (int64_t i = 0; i < n_symbols_; ++i) symbols[static_cast<std::size_t>(i)] = i;
    rng.shuffle(symbols.begin(), symbols.end());
    for (int64_t j = 0; j < length; ++j)
      row.push(j < period ? symbols[static_cast<std::size_t>(j)] : row.tokens[static_cast<std::size_t>(j - period)],
               j > period);
  }

  std::string describe() const override {
    return "induction: " + std::to_string(n_symbols_) + " symbols, a random segment of L/4..L/2 " +
           (distinct_ ? "distinct " : "") + "tokens repeated; scored on the repeat";
  }

  nlohmann::json config() const override {
    return {{"task", "induction"}, {"n_symbols", n_symbols_}, {"distinct", distinct_}};
  }

 private:
  void write(Rng& rng, int64_t length, int64_t period, Row& row) const {
    std::vector<int64_t> symbols;
    if (distinct_) {
      symbols.resize(static_cast<std::size_t>(n_symbols_));
      for (int64_t i = 0; i < n_symbols_; ++i) symbols[static_cast<std::size_t>(i)] = i;
      rng.shuffle(symbols.begin(), symbols.end());
    }
    for (int64_t j = 0; j < length; ++j) {
      if (j < period) {
        row.push(distinct_ ? symbols[static_cast<std::size_t>(j)]
                           : static_cast<int64_t>(rng.below(static_cast<uint64_t>(n_symbols_))),
                 false);
      } else {
        // Token `period` starts the repeat but nothing in the context announces it yet.
        row.push(row.tokens[static_cast<std::size_t>(j - period)], j > period);
      }
    }
  }

  int64_t n_symbols_;
  bool distinct_;
  CharsTokenizer tokenizer_;
};

}  // namespace

std::unique_ptr<RowTask> make_induction_task(const nlohmann::json& config, uint64_t) {
  ConfigReader reader(config, "data", {"n_symbols", "distinct"});
  const int64_t n_symbols = reader.integer("n_symbols", 32, 2, 62);
  return std::make_unique<InductionTask>(n_symbols, reader.boolean("distinct", false));
}

}  // namespace headlab::data
