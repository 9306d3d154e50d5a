#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "data/data_source.h"
#include "data_test_util.h"

using namespace headlab::data;
using headlab::data::test_util::expect_input_error;
using headlab::data::test_util::full_row;
using headlab::data::test_util::FullRow;
using J = nlohmann::json;

namespace {

const std::vector<J> kSyntheticTasks = {
    {{"task", "induction"}},        {{"task", "associative_recall"}}, {{"task", "modular_addition"}},
    {{"task", "sort"}},             {{"task", "grammar"}},
};

// The row as text: every synthetic task's alphabet is ASCII, so index j is token j.
std::string row_text(const DataSource& source, const FullRow& row) {
  return source.tokenizer().decode(row.tokens);
}

}  // namespace

TEST(Batch, SameSeedAndIndexGiveTheSameBatchOthersDiffer) {
  for (const J& config : kSyntheticTasks) {
    SCOPED_TRACE(config.dump());
    const auto source = make_data_source(config, 7);
    const auto again = make_data_source(config, 7);
    const uint64_t h = batch_hash(source->batch(Split::Train, 3, 4, 48));
    EXPECT_EQ(h, batch_hash(source->batch(Split::Train, 3, 4, 48)));
    EXPECT_EQ(h, batch_hash(again->batch(Split::Train, 3, 4, 48)));
    EXPECT_NE(h, batch_hash(source->batch(Split::Train, 4, 4, 48)));
    EXPECT_NE(h, batch_hash(source->batch(Split::Validation, 3, 4, 48)));
    EXPECT_NE(h, batch_hash(make_data_source(config, 8)->batch(Split::Train, 3, 4, 48)));
  }
}

TEST(Batch, TargetsAreInputsShiftedByOne) {
  for (const J& config : kSyntheticTasks) {
    SCOPED_TRACE(config.dump());
    const auto source = make_data_source(config, 1);
    const Batch batch = source->batch(Split::Train, 0, 3, 40);
    ASSERT_EQ(batch.inputs.sizes(), torch::IntArrayRef({3, 40}));
    ASSERT_EQ(batch.targets.sizes(), torch::IntArrayRef({3, 40}));
    ASSERT_EQ(batch.loss_mask.sizes(), torch::IntArrayRef({3, 40}));
    EXPECT_EQ(batch.inputs.scalar_type(), torch::kInt64);
    EXPECT_EQ(batch.targets.scalar_type(), torch::kInt64);
    EXPECT_EQ(batch.loss_mask.scalar_type(), torch::kFloat32);
    using torch::indexing::Slice;
    EXPECT_TRUE(torch::equal(batch.targets.index({Slice(), Slice(0, -1)}),
                             batch.inputs.index({Slice(), Slice(1, torch::indexing::None)})));
    EXPECT_GT(batch.loss_mask.sum().item<float>(), 0.0f);
    EXPECT_LT(batch.inputs.max().item<int64_t>(), source->tokenizer().vocab_size());
    EXPECT_GE(batch.inputs.min().item<int64_t>(), 0);
  }
}

TEST(Batch, RowsDoNotDependOnBatchSize) {
  const auto source = make_data_source({{"task", "sort"}}, 5);
  const Batch small = source->batch(Split::Train, 9, 2, 32);
  const Batch large = source->batch(Split::Train, 9, 5, 32);
  EXPECT_TRUE(torch::equal(small.inputs, large.inputs.slice(0, 0, 2)));
}

TEST(Batch, HashIsPinned) {
  // Guards the "same data on every platform and version" promise: this value may only
  // change together with a deliberate change of the generators (which breaks resume).
  const auto source = make_data_source({{"task", "induction"}}, 1234);
  EXPECT_EQ(batch_hash(source->batch(Split::Train, 0, 2, 16)), 0x5EFC9FF2BC9B1950ULL);
}

TEST(Batch, RejectsImpossibleShapes) {
  const auto source = make_data_source({{"task", "associative_recall"}, {"n_pairs", 4}}, 1);
  expect_input_error([&] { source->batch(Split::Train, 0, 2, 5); }, "seq_len (5) is too short for task associative_recall: it needs at least 10");
  expect_input_error([&] { source->batch(Split::Train, 0, 0, 16); }, "batch_size (0)");
  EXPECT_NO_THROW(source->batch(Split::Train, 0, 1, 10));
}

TEST(TaskInduction, EveryScoredTargetRepeatsTheTokenOnePeriodEarlier) {
  const auto source = make_data_source({{"task", "induction"}}, 11);
  const Batch batch = source->batch(Split::Train, 0, 16, 63);
  std::set<std::size_t> periods;
  for (int64_t b = 0; b < 16; ++b) {
    const FullRow row = full_row(batch, b);
    const auto first = static_cast<std::size_t>(
        std::find(row.scored.begin(), row.scored.end(), true) - row.scored.begin());
    ASSERT_LT(first, row.tokens.size());
    const std::size_t period = first - 1;  // the first repeated token is not scored
    periods.insert(period);
    EXPECT_GE(period, 64u / 4);
    EXPECT_LE(period, 64u / 2);
    for (std::size_t j = period; j < row.tokens.size(); ++j) {
      EXPECT_EQ(row.scored[j], j > period);
      EXPECT_EQ(row.tokens[j], row.tokens[j - period]) << "row " << b << " position " << j;
    }
  }
  EXPECT_GT(periods.size(), 1u);  // the period varies between rows
}

TEST(TaskInduction, ProbeRepeatsABlockOfDistinctReadableSymbols) {
  // Period min(n_symbols, T/2) = 8 distinct symbols: every repeated token has exactly one
  // earlier occurrence, one period back, so the induction score is unambiguous.
  const auto source = make_data_source({{"task", "induction"}, {"n_symbols", 8}}, 3);
  const auto probe = source->probe_tokens(40);
  ASSERT_EQ(probe.size(), 40u);
  EXPECT_EQ(std::set<int64_t>(probe.begin(), probe.begin() + 8).size(), 8u);
  for (std::size_t j = 8; j < 40; ++j) EXPECT_EQ(probe[j], probe[j - 8]);
  const auto wide = make_data_source({{"task", "induction"}, {"n_symbols", 32}}, 3)->probe_tokens(40);
  EXPECT_EQ(std::set<int64_t>(wide.begin(), wide.begin() + 20).size(), 20u);
  for (std::size_t j = 20; j < 40; ++j) EXPECT_EQ(wide[j], wide[j - 20]);
  EXPECT_EQ(source->probe_tokens(40), probe);
  EXPECT_EQ(source->tokenizer().to_json(), J({{"type", "chars"}, {"alphabet", "abcdefgh"}}));
  for (char c : source->tokenizer().decode(probe)) EXPECT_TRUE(c >= 'a' && c <= 'h');
}

TEST(TaskAssociativeRecall, ScoredTargetIsTheValueOfTheQueriedKey) {
  const auto source = make_data_source({{"task", "associative_recall"}, {"n_pairs", 5}}, 2);
  const Batch batch = source->batch(Split::Validation, 1, 8, 64);
  int answers = 0;
  for (int64_t b = 0; b < 8; ++b) {
    const FullRow row = full_row(batch, b);
    const std::string text = row_text(*source, row);
    for (std::size_t j = 0; j < text.size(); ++j) {
      if (!row.scored[j]) continue;
      ++answers;
      ASSERT_GE(j, 3u);
      ASSERT_EQ(text[j - 2], '?') << text;
      const char key = text[j - 1];
      EXPECT_TRUE(std::islower(static_cast<unsigned char>(key)));
      // The latest binding of the key is in the current example: keys are not values.
      const std::size_t bound = text.rfind(key, j - 3);
      ASSERT_NE(bound, std::string::npos) << text;
      EXPECT_EQ(text[j], text[bound + 1]) << text << " at " << j;
      EXPECT_TRUE(std::isdigit(static_cast<unsigned char>(text[j])));
    }
  }
  // 65 tokens hold five 14-token examples, four of them with their answer inside.
  EXPECT_EQ(answers, 8 * 4);
}

TEST(TaskModularAddition, ScoredDigitsAreTheSumModPAndSplitsAreDisjoint) {
  const auto source = make_data_source({{"task", "modular_addition"}}, 42);
  EXPECT_EQ(source->config(), J({{"task", "modular_addition"}, {"p", 97}, {"train_fraction", 0.5}, {"split_seed", 0}}));
  std::set<std::pair<int, int>> seen[2];
  for (Split split : {Split::Train, Split::Validation}) {
    for (uint64_t index = 0; index < 8; ++index) {
      const Batch batch = source->batch(split, index, 16, 71);  // 72 tokens = 8 whole examples
      for (int64_t b = 0; b < 16; ++b) {
        const FullRow row = full_row(batch, b);
        const std::string text = row_text(*source, row);
        ASSERT_EQ(text.size() % 9, 0u);
        for (std::size_t e = 0; e < text.size(); e += 9) {
          const std::string example = text.substr(e, 9);  // "aa+bb=cc;"
          ASSERT_EQ(example[2], '+') << example;
          ASSERT_EQ(example[5], '=') << example;
          ASSERT_EQ(example[8], ';') << example;
          const int a = std::stoi(example.substr(0, 2)), b2 = std::stoi(example.substr(3, 2));
          EXPECT_EQ(std::stoi(example.substr(6, 2)), (a + b2) % 97) << example;
          for (std::size_t k = 0; k < 9; ++k) EXPECT_EQ(row.scored[e + k], k == 6 || k == 7);
          seen[split == Split::Train ? 0 : 1].insert({a, b2});
        }
      }
    }
  }
  EXPECT_GT(seen[0].size(), 500u);
  EXPECT_GT(seen[1].size(), 500u);
  for (const auto& pair : seen[1]) EXPECT_EQ(seen[0].count(pair), 0u) << pair.first << "+" << pair.second;
  expect_input_error([] { make_data_source({{"task", "modular_addition"}, {"p", 2}, {"train_fraction", 0.1}}, 1); },
                     "data.train_fraction");
}

TEST(TaskSort, ScoredPartIsTheSortedPermutationOfTheList) {
  const auto source = make_data_source({{"task", "sort"}, {"n_symbols", 16}}, 9);
  const Batch batch = source->batch(Split::Train, 2, 8, 80);
  int complete = 0;
  for (int64_t b = 0; b < 8; ++b) {
    const FullRow row = full_row(batch, b);
    const std::string text = row_text(*source, row);
    std::size_t start = 0;
    while (true) {
      const std::size_t sep = text.find('>', start);
      const std::size_t end = text.find(';', start);
      if (sep == std::string::npos || end == std::string::npos) break;
      ASSERT_LT(sep, end) << text;
      std::string list = text.substr(start, sep - start);
      const std::string sorted = text.substr(sep + 1, end - sep - 1);
      EXPECT_GE(list.size(), 2u);
      EXPECT_LE(list.size(), 8u);
      EXPECT_TRUE(std::is_sorted(sorted.begin(), sorted.end())) << sorted;
      std::sort(list.begin(), list.end());
      EXPECT_EQ(list, sorted);
      for (std::size_t j = start; j <= end; ++j) EXPECT_EQ(row.scored[j], j > sep && j < end) << text;
      ++complete;
      start = end + 1;
    }
  }
  EXPECT_GT(complete, 8 * 4);
}

TEST(TaskGrammar, WritesAsciiSentencesAndScoresEveryPosition) {
  for (const char* tokenizer : {"chars", "bytes"}) {
    SCOPED_TRACE(tokenizer);
    const auto source = make_data_source({{"task", "grammar"}, {"tokenizer", tokenizer}}, 4);
    EXPECT_EQ(source->tokenizer().vocab_size() == 256, std::string(tokenizer) == "bytes");
    const Batch batch = source->batch(Split::Train, 0, 4, 200);
    int sentences = 0;
    for (int64_t b = 0; b < 4; ++b) {
      const FullRow row = full_row(batch, b);
      for (std::size_t j = 0; j < row.scored.size(); ++j) EXPECT_EQ(row.scored[j], j > 0);
      const std::string text = row_text(*source, row);
      std::size_t start = 0, end = 0;
      while ((end = text.find('.', start)) != std::string::npos) {
        const std::string sentence = text.substr(start, end - start);
        ASSERT_FALSE(sentence.empty());
        EXPECT_TRUE(std::isupper(static_cast<unsigned char>(sentence[0]))) << sentence;
        int words = 1;
        for (std::size_t k = 1; k < sentence.size(); ++k) {
          const char c = sentence[k];
          EXPECT_TRUE(std::islower(static_cast<unsigned char>(c)) || c == ' ') << sentence;
          if (c == ' ') {
            ++words;
            EXPECT_NE(sentence[k - 1], ' ') << sentence;
          }
        }
        EXPECT_GE(words, 3) << sentence;  // determiner, noun, verb at least
        ++sentences;
        start = end + 1;
        if (start < text.size()) {
          EXPECT_EQ(text[start], ' ');
          ++start;
        }
      }
    }
    EXPECT_GT(sentences, 8);
  }
}

TEST(TaskGrammar, ProbeIsReadable) {
  const auto source = make_data_source({{"task", "grammar"}}, 4);
  const std::string text = source->tokenizer().decode(source->probe_tokens(64));
  EXPECT_EQ(text.size(), 64u);
  EXPECT_TRUE(std::isupper(static_cast<unsigned char>(text[0]))) << text;
}

TEST(DataConfig, UnknownKeysWrongTypesAndBadValuesNameTheKey) {
  expect_input_error([] { make_data_source({{"task", "induction"}, {"n_symbol", 8}}, 1); },
                     "data.n_symbol is not a known key for task induction");
  expect_input_error([] { make_data_source({{"task", "induction"}, {"n_symbols", "8"}}, 1); },
                     "data.n_symbols must be an integer");
  expect_input_error([] { make_data_source({{"task", "induction"}, {"n_symbols", 99}}, 1); },
                     "data.n_symbols (99) must be in [2, 62]");
  expect_input_error([] { make_data_source({{"task", "text"}, {"path", "x"}, {"val_fraction", 1.5}}, 1); },
                     "data.val_fraction (1.5) must be in (0, 1)");
  expect_input_error([] { make_data_source({{"task", "sort"}, {"min_len", 5}, {"max_len", 3}}, 1); },
                     "data.max_len (3) must be in [5, 64]");
  expect_input_error([] { make_data_source({{"task", "grammar"}, {"tokenizer", "bpe"}}, 1); },
                     "data.tokenizer (\"bpe\") must be one of: chars, bytes");
  expect_input_error([] { make_data_source({{"task", "text"}}, 1); }, "missing required field 'data.path'");
  expect_input_error([] { make_data_source({{"task", "chess"}}, 1); }, "data.task (\"chess\") must be one of");
  expect_input_error([] { make_data_source(J::object(), 1); }, "data.task is missing");
  expect_input_error([] { make_data_source(J::array(), 1); }, "data must be an object");
  // An integral float is an integer.
  EXPECT_NO_THROW(make_data_source({{"task", "induction"}, {"n_symbols", 8.0}}, 1));
}

TEST(DataConfig, ResolvedConfigFillsDefaultsAndRebuildsTheSameSource) {
  for (const J& config : kSyntheticTasks) {
    SCOPED_TRACE(config.dump());
    const auto source = make_data_source(config, 3);
    const J resolved = source->config();
    EXPECT_EQ(resolved["task"], config["task"]);
    EXPECT_GT(resolved.size(), 1u);
    const auto rebuilt = make_data_source(resolved, 3);
    EXPECT_EQ(rebuilt->config(), resolved);
    EXPECT_EQ(batch_hash(rebuilt->batch(Split::Train, 0, 2, 32)),
              batch_hash(source->batch(Split::Train, 0, 2, 32)));
    const std::string line = source->describe();
    EXPECT_FALSE(line.empty());
    EXPECT_EQ(line.find('\n'), std::string::npos);
    // Prompts typed by the user must be encodable: every symbol is printable ASCII.
    const J tok = source->tokenizer().to_json();
    if (tok["type"] == "chars") {
      for (char c : tok["alphabet"].get<std::string>()) EXPECT_TRUE(c >= 0x20 && c < 0x7F) << tok.dump();
    }
  }
  EXPECT_EQ(make_data_source({{"task", "induction"}}, 1)->config(), J({{"task", "induction"}, {"n_symbols", 32}, {"distinct", false}}));
}

// distinct: the random segment never repeats a symbol, so every token of the repeat has one
// earlier occurrence and a previous-token head alone identifies where to copy from.
TEST(TaskInduction, DistinctSegmentsHaveNoRepeatedSymbol) {
  const auto source = make_data_source({{"task", "induction"}, {"n_symbols", 24}, {"distinct", true}}, 5);
  const Batch batch = source->batch(Split::Train, 0, 32, 48);
  std::set<std::size_t> periods;
  for (int64_t b = 0; b < 32; ++b) {
    const FullRow row = full_row(batch, b);
    const auto first = static_cast<std::size_t>(std::find(row.scored.begin(), row.scored.end(), true) - row.scored.begin());
    const std::size_t period = first - 1;
    periods.insert(period);
    EXPECT_LE(period, 24u);
    std::set<int64_t> segment(row.tokens.begin(), row.tokens.begin() + static_cast<std::ptrdiff_t>(period));
    EXPECT_EQ(segment.size(), period) << "row " << b;
    for (std::size_t j = period; j < row.tokens.size(); ++j) EXPECT_EQ(row.tokens[j], row.tokens[j - period]);
  }
  EXPECT_GT(periods.size(), 4u);  // the period still varies
  // More positions than symbols: the period is capped at n_symbols.
  const auto few = make_data_source({{"task", "induction"}, {"n_symbols", 6}, {"distinct", true}}, 5);
  const Batch capped = few->batch(Split::Train, 0, 8, 47);
  for (int64_t b = 0; b < 8; ++b) {
    const FullRow row = full_row(capped, b);
    const auto first = static_cast<std::size_t>(std::find(row.scored.begin(), row.scored.end(), true) - row.scored.begin());
    EXPECT_LE(first - 1, 6u);
  }
}
