// Modular addition, the grokking set-up (Power et al. 2022): the p*p facts "a+b=c (mod p)"
// are split ONCE into train and validation, so validation measures generalisation to
// unseen pairs rather than memorisation. Numbers are fixed-width decimals so that each
// digit has a fixed position and the answer digits are easy to score and to look at.
#include <algorithm>
#include <cstdio>

#include "common/errors.h"
#include "data/config_reader.h"
#include "data/row_task.h"

namespace headlab::data {
namespace {

class ModularAdditionTask final : public RowTask {
 public:
  ModularAdditionTask(int64_t p, double train_fraction, uint64_t split_seed)
      : p_(p), train_fraction_(train_fraction), split_seed_(split_seed), tokenizer_("0123456789+=;") {
    width_ = static_cast<int>(std::to_string(p - 1).size());
    std::vector<uint32_t> pairs(static_cast<std::size_t>(p * p));
    for (std::size_t i = 0; i < pairs.size(); ++i) pairs[i] = static_cast<uint32_t>(i);
    Rng rng(split_seed, Stream::DataSplit);
    rng.shuffle(pairs.begin(), pairs.end());
    const auto n_train = static_cast<std::ptrdiff_t>(static_cast<double>(pairs.size()) * train_fraction);
    if (n_train < 1 || n_train >= static_cast<std::ptrdiff_t>(pairs.size())) {
      throw InputError("data.train_fraction (" + std::to_string(train_fraction) +
                       ") leaves an empty split of the " + std::to_string(pairs.size()) +
                       " pairs of p = " + std::to_string(p));
    }
    train_.assign(pairs.begin(), pairs.begin() + n_train);
    validation_.assign(pairs.begin() + n_train, pairs.end());
    // Sorted so that the rows do not depend on the shuffle beyond the membership.
    std::sort(train_.begin(), train_.end());
    std::sort(validation_.begin(), validation_.end());
  }

  const Tokenizer& tokenizer() const override { return tokenizer_; }

  // One example up to and including its last answer digit: "aa+bb=cc".
  int64_t min_row_length() const override { return 3 * width_ + 2; }

  void fill_row(Split split, Rng& rng, int64_t length, Row& row) const override {
    const auto& pairs = split == Split::Train ? train_ : validation_;
    while (row.size() < length) {
      const uint32_t pair = pairs[static_cast<std::size_t>(rng.below(pairs.size()))];
      const int64_t a = pair / p_, b = pair % p_;
      push_number(row, length, a, false);
      push(row, length, '+', false);
      push_number(row, length, b, false);
      push(row, length, '=', false);
      push_number(row, length, (a + b) % p_, true);
      push(row, length, ';', false);
    }
  }

  std::string describe() const override {
    return "modular_addition: a+b mod " + std::to_string(p_) + ", " +
           std::to_string(train_.size()) + " train / " + std::to_string(validation_.size()) +
           " validation pairs; scored on the answer digits";
  }

  nlohmann::json config() const override {
    return {{"task", "modular_addition"}, {"p", p_}, {"train_fraction", train_fraction_}, {"split_seed", split_seed_}};
  }

 private:
  void push(Row& row, int64_t length, char c, bool scored) const {
    if (row.size() < length) row.push(tokenizer_.id_of(static_cast<char32_t>(c)), scored);
  }
  void push_number(Row& row, int64_t length, int64_t value, bool scored) const {
    char digits[16];
    std::snprintf(digits, sizeof digits, "%0*lld", width_, static_cast<long long>(value));
    for (int i = 0; i < width_; ++i) push(row, length, digits[i], scored);
  }

  int64_t p_;
  double train_fraction_;
  uint64_t split_seed_;
  int width_ = 1;
  CharsTokenizer tokenizer_;
  std::vector<uint32_t> train_, validation_;
};

}  // namespace

std::unique_ptr<RowTask> make_modular_addition_task(const nlohmann::json& config, uint64_t /*seed*/) {
  ConfigReader reader(config, "data", {"p", "train_fraction", "split_seed"});
  const int64_t p = reader.integer("p", 97, 2, 1000);
  const double train_fraction = reader.fraction("train_fraction", 0.5, 0.0, 1.0);
  // The split is fixed by its own seed, not the run's: runs with different seeds must be
  // validated on the same held-out pairs (and never on pairs another seed trained on).
  const auto split_seed = static_cast<uint64_t>(reader.integer("split_seed", 0, 0, int64_t{1} << 53));
  return std::make_unique<ModularAdditionTask>(p, train_fraction, split_seed);
}

}  // namespace headlab::data
