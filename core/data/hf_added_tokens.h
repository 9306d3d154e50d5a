#pragma once
// The added tokens of a Hugging Face tokenizer.json ("<|endoftext|>", "<|im_start|>", ...):
// found in the text before the model runs, and emitted as their own ids. This is the
// `tokenizers` crate's AddedVocabulary matching: leftmost-longest over all tokens, then the
// single_word / lstrip / rstrip flags.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace headlab::data::hf {

struct AddedToken {
  std::string content;
  int32_t id = 0;
  bool single_word = false;  // only where no word character touches it
  bool lstrip = false;       // swallows the whitespace before it
  bool rstrip = false;       // swallows the whitespace after it
};

// The tokens matched in one pass (those matched on the raw text, or those matched after the
// normalizer): a byte trie searched leftmost-longest, as Rust's aho-corasick automaton is.
class TokenTrie {
 public:
  // `token` is the caller's index for it (into its AddedToken list).
  void insert(std::string_view text, int32_t token);
  bool empty() const { return nodes_.size() == 1; }
  // The leftmost match starting at or after `from`, the longest among those starting there.
  bool find(std::string_view text, std::size_t from, std::size_t& start, std::size_t& end,
            int32_t& token) const;

 private:
  struct Node {
    std::vector<std::pair<char, int32_t>> next;
    int32_t token = -1;
  };
  int32_t child(int32_t node, char c) const;
  std::vector<Node> nodes_{1};
};

// A stretch of text: an added token (token >= 0, an index into the AddedToken list) or not.
struct Segment {
  std::size_t start;
  std::size_t end;
  int32_t token;
};

// Cuts valid UTF-8 `text` into the added tokens of `trie` and the text between them
// (Rust's AddedVocabulary::find_matches): a single_word match that touches a word character
// is skipped, lstrip/rstrip widen a match over the whitespace beside it, which so vanishes.
std::vector<Segment> split_on_added(std::string_view text, const TokenTrie& trie,
                                    const std::vector<AddedToken>& tokens);

}  // namespace headlab::data::hf
