#include "data/hf_added_tokens.h"

#include <algorithm>

#include "data/hf_pretokenizer.h"
#include "data/utf8.h"

namespace headlab::data::hf {

int32_t TokenTrie::child(int32_t node, char c) const {
  // A handful of children per node: a linear scan beats a map here.
  for (const auto& [byte, next] : nodes_[node].next) {
    if (byte == c) return next;
  }
  return -1;
}

void TokenTrie::insert(std::string_view text, int32_t token) {
  int32_t node = 0;
  for (char c : text) {
    int32_t next = child(node, c);
    if (next < 0) {
      next = static_cast<int32_t>(nodes_.size());
      nodes_[node].next.emplace_back(c, next);
      nodes_.emplace_back();
    }
    node = next;
  }
  nodes_[node].token = token;
}

bool TokenTrie::find(std::string_view text, std::size_t from, std::size_t& start,
                     std::size_t& end, int32_t& token) const {
  for (std::size_t i = from; i < text.size(); ++i) {
    int32_t node = 0;
    token = -1;
    for (std::size_t j = i; j < text.size(); ++j) {
      node = child(node, text[j]);
      if (node < 0) break;
      if (nodes_[node].token >= 0) token = nodes_[node].token, end = j + 1;
    }
    if (token >= 0) {
      start = i;
      return true;
    }
  }
  return false;
}

namespace {

bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// The code point that ends at byte `end` of valid UTF-8 `text`; the one that starts at
// `pos`, advancing `pos` past it.
char32_t code_point_before(std::string_view text, std::size_t end) {
  std::size_t start = end - 1;
  while (start > 0 && is_continuation(text[start])) --start;
  char32_t cp = 0;
  const char* reason = "";
  next_code_point(text, start, cp, &reason);
  return cp;
}

char32_t code_point_at(std::string_view text, std::size_t& pos) {
  char32_t cp = 0;
  const char* reason = "";
  next_code_point(text, pos, cp, &reason);
  return cp;
}

}  // namespace

std::vector<Segment> split_on_added(std::string_view text, const TokenTrie& trie,
                                    const std::vector<AddedToken>& tokens) {
  std::vector<Segment> out;
  std::size_t from = 0;
  std::size_t covered = 0;  // the end of the last token emitted
  std::size_t start = 0, end = 0;
  int32_t token = -1;
  while (!trie.empty() && trie.find(text, from, start, end, token)) {
    from = end;  // the automaton resumes after a match whatever we do with it
    const AddedToken& t = tokens[static_cast<std::size_t>(token)];
    if (t.single_word) {
      std::size_t after = end;
      const bool word_before = start > 0 && is_word_char(code_point_before(text, start));
      const bool word_after = end < text.size() && is_word_char(code_point_at(text, after));
      if (word_before || word_after) continue;
    }
    if (t.lstrip) {
      while (start > covered && is_white_space(code_point_before(text, start))) {
        do --start;
        while (is_continuation(text[start]));
      }
    }
    if (t.rstrip) {
      while (end < text.size()) {
        std::size_t next = end;
        if (!is_white_space(code_point_at(text, next))) break;
        end = next;
      }
    }
    start = std::max(start, covered);
    if (covered < start) out.push_back({covered, start, -1});
    out.push_back({start, end, token});
    covered = end;
  }
  if (covered < text.size()) out.push_back({covered, text.size(), -1});
  return out;
}

}  // namespace headlab::data::hf
