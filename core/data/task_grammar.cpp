// English-like sentences from a small probabilistic grammar, so that text demos work with
// no download. The grammar is chosen for what heads can show: subject-verb agreement across
// adjectives, prepositional phrases and relative clauses ("The old dogs that chase the cat
// sleep.") is a long-range dependency; articles agree with the next word ("an old owl").
#include <algorithm>
#include <array>
#include <cctype>

#include "data/config_reader.h"
#include "data/row_task.h"

namespace headlab::data {
namespace {

struct Inflected {
  const char* singular;
  const char* plural;
};

// Subjects are animate so that the sentences stay plausible; objects may be anything.
constexpr Inflected kAnimate[] = {
    {"cat", "cats"},         {"dog", "dogs"},         {"bird", "birds"},
    {"child", "children"},   {"teacher", "teachers"}, {"fox", "foxes"},
    {"mouse", "mice"},       {"robot", "robots"},     {"owl", "owls"},
    {"farmer", "farmers"},   {"wolf", "wolves"},      {"student", "students"}};
constexpr Inflected kThings[] = {
    {"river", "rivers"}, {"garden", "gardens"}, {"house", "houses"}, {"tree", "trees"},
    {"book", "books"},   {"apple", "apples"},   {"box", "boxes"},    {"hill", "hills"},
    {"lamp", "lamps"},   {"idea", "ideas"}};
// Verbs: {third person singular, plural}.
constexpr Inflected kTransitive[] = {
    {"sees", "see"},       {"likes", "like"},     {"chases", "chase"}, {"finds", "find"},
    {"follows", "follow"}, {"watches", "watch"},  {"carries", "carry"},
    {"remembers", "remember"}, {"helps", "help"}, {"hears", "hear"}};
constexpr Inflected kIntransitive[] = {
    {"sleeps", "sleep"}, {"runs", "run"},   {"sings", "sing"},   {"waits", "wait"},
    {"laughs", "laugh"}, {"hides", "hide"}, {"dreams", "dream"}};
constexpr const char* kSingularDeterminers[] = {"the", "a", "this", "that", "every"};
constexpr const char* kPluralDeterminers[] = {"the", "these", "those", "some", "many", "two"};
constexpr const char* kAdjectives[] = {"small", "big",    "red",     "old",     "quiet",
                                       "happy", "green",  "clever",  "lazy",    "bright",
                                       "tiny",  "brave",  "ancient", "curious"};
constexpr const char* kPrepositions[] = {"in", "near", "under", "behind", "with", "over", "beside"};
constexpr const char* kAdverbs[] = {"quickly", "quietly", "often", "again", "today"};

template <class T, std::size_t N>
const T& pick(Rng& rng, const T (&items)[N]) {
  return items[rng.below(N)];
}

class SentenceWriter {
 public:
  explicit SentenceWriter(Rng& rng) : rng_(rng) {}

  std::string sentence() {
    words_.clear();
    const bool plural = rng_.chance(0.4);
    noun_phrase(plural, /*animate=*/true, /*depth=*/0);
    verb_phrase(plural, 0);
    std::string out;
    for (std::size_t i = 0; i < words_.size(); ++i) {
      std::string word = words_[i];
      // "a" -> "an" before a vowel; the grammar has no words where sound and letter differ.
      if (word == "a" && i + 1 < words_.size() && std::string("aeiou").find(words_[i + 1][0]) != std::string::npos) {
        word = "an";
      }
      if (i > 0) out += ' ';
      out += word;
    }
    out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
    return out + '.';
  }

 private:
  void noun_phrase(bool plural, bool animate, int depth) {
    words_.push_back(plural ? pick(rng_, kPluralDeterminers) : pick(rng_, kSingularDeterminers));
    for (int n = 0; n < 2 && rng_.chance(0.35); ++n) words_.push_back(pick(rng_, kAdjectives));
    const bool thing = !animate && rng_.chance(0.5);
    const Inflected& noun = thing ? pick(rng_, kThings) : pick(rng_, kAnimate);
    words_.push_back(plural ? noun.plural : noun.singular);
    if (depth < 2 && rng_.chance(0.15)) prepositional_phrase(depth + 1);
    // A relative clause only on the subject: its verb and the main verb both agree with
    // the head noun, with the clause in between.
    if (depth == 0 && animate && rng_.chance(0.2)) {
      words_.push_back("that");
      verb_phrase(plural, depth + 1);
    }
  }

  void prepositional_phrase(int depth) {
    words_.push_back(pick(rng_, kPrepositions));
    noun_phrase(rng_.chance(0.3), /*animate=*/false, depth);
  }

  void verb_phrase(bool plural, int depth) {
    if (rng_.chance(0.6)) {
      const Inflected& verb = pick(rng_, kTransitive);
      words_.push_back(plural ? verb.plural : verb.singular);
      noun_phrase(rng_.chance(0.4), /*animate=*/false, depth + 1);
    } else {
      const Inflected& verb = pick(rng_, kIntransitive);
      words_.push_back(plural ? verb.plural : verb.singular);
      if (depth < 2 && rng_.chance(0.25)) prepositional_phrase(depth + 1);
    }
    if (depth == 0 && rng_.chance(0.15)) words_.push_back(pick(rng_, kAdverbs));
  }

  Rng& rng_;
  std::vector<std::string> words_;
};

// Every character the grammar can write, sorted: the chars tokenizer's alphabet.
std::string grammar_alphabet() {
  std::string chars = " .";
  const auto add = [&](const char* word) { chars += word; };
  for (const auto& w : kAnimate) add(w.singular), add(w.plural);
  for (const auto& w : kThings) add(w.singular), add(w.plural);
  for (const auto& w : kTransitive) add(w.singular), add(w.plural);
  for (const auto& w : kIntransitive) add(w.singular), add(w.plural);
  for (const char* w : kAdjectives) add(w);
  for (const char* w : kPrepositions) add(w);
  for (const char* w : kAdverbs) add(w);
  add("an that");
  // Sentences start with a determiner, capitalised.
  for (const char* w : kSingularDeterminers) add(w), chars += static_cast<char>(std::toupper(w[0]));
  for (const char* w : kPluralDeterminers) add(w), chars += static_cast<char>(std::toupper(w[0]));
  chars += 'A';  // "An"
  std::sort(chars.begin(), chars.end());
  chars.erase(std::unique(chars.begin(), chars.end()), chars.end());
  return chars;
}

class GrammarTask final : public RowTask {
 public:
  explicit GrammarTask(const std::string& tokenizer_type) : tokenizer_type_(tokenizer_type) {
    ids_.fill(-1);
    if (tokenizer_type == "bytes") {
      tokenizer_ = std::make_unique<BytesTokenizer>();
      for (int c = 0; c < 128; ++c) ids_[static_cast<std::size_t>(c)] = c;
    } else {
      auto chars = std::make_unique<CharsTokenizer>(grammar_alphabet());
      for (int c = 0; c < 128; ++c) ids_[static_cast<std::size_t>(c)] = chars->id_of(static_cast<char32_t>(c));
      tokenizer_ = std::move(chars);
    }
  }

  const Tokenizer& tokenizer() const override { return *tokenizer_; }
  int64_t min_row_length() const override { return 2; }

  void fill_row(Split, Rng& rng, int64_t length, Row& row) const override {
    SentenceWriter writer(rng);
    while (row.size() < length) {
      if (row.size() > 0) row.push(ids_[' '], true);
      for (char c : writer.sentence()) {
        if (row.size() == length) break;
        row.push(ids_[static_cast<unsigned char>(c)], row.size() > 0);
      }
    }
    while (row.size() > length) row.tokens.pop_back(), row.scored.pop_back();
  }

  std::string describe() const override {
    return "grammar: English-like sentences from a probabilistic grammar, " + tokenizer_type_ +
           " tokenizer (" + std::to_string(tokenizer_->vocab_size()) + " tokens); every position scored";
  }

  nlohmann::json config() const override {
    return {{"task", "grammar"}, {"tokenizer", tokenizer_type_}};
  }

 private:
  std::string tokenizer_type_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::array<int64_t, 128> ids_{};
};

}  // namespace

std::unique_ptr<RowTask> make_grammar_task(const nlohmann::json& config, uint64_t) {
  ConfigReader reader(config, "data", {"tokenizer"});
  return std::make_unique<GrammarTask>(reader.choice("tokenizer", "chars", {"chars", "bytes"}));
}

}  // namespace headlab::data
