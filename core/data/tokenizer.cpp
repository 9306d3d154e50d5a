#include "data/tokenizer.h"

#include <algorithm>
#include <cstdio>

#include "common/errors.h"
#include "data/utf8.h"

namespace headlab::data {
namespace {

void check_id(int64_t id, int64_t vocab_size) {
  if (id < 0 || id >= vocab_size) {
    throw InputError("token id " + std::to_string(id) + " is outside the vocabulary [0, " +
                     std::to_string(vocab_size) + ")");
  }
}

// Labels shared by both tokenizers for the characters that are invisible on an axis.
// Returns an empty string when `cp` needs no special label.
std::string whitespace_label(char32_t cp) {
  switch (cp) {
    case U' ': return "\xE2\x90\xA3";  // "␣" (U+2423 OPEN BOX)
    case U'\n': return "\\n";
    case U'\t': return "\\t";
    case U'\r': return "\\r";
    default: return "";
  }
}

// C0/C1 controls and DEL have no glyph; everything else is drawn as itself.
bool is_control(char32_t cp) { return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F); }

}  // namespace

// ---- bytes ----------------------------------------------------------------------------

std::vector<int64_t> BytesTokenizer::encode(std::string_view utf8) const {
  validate_utf8(utf8, "text");
  std::vector<int64_t> ids(utf8.size());
  std::transform(utf8.begin(), utf8.end(), ids.begin(),
                 [](char c) { return static_cast<int64_t>(static_cast<unsigned char>(c)); });
  return ids;
}

std::string BytesTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::string out;
  out.reserve(ids.size());
  for (int64_t id : ids) {
    check_id(id, 256);
    out.push_back(static_cast<char>(id));
  }
  return out;
}

std::string BytesTokenizer::token_label(int64_t id) const {
  check_id(id, 256);
  const std::string special = whitespace_label(static_cast<char32_t>(id));
  if (!special.empty()) return special;
  // Bytes >= 0x80 are pieces of multi-byte characters: not printable on their own.
  if (id >= 0x80 || is_control(static_cast<char32_t>(id))) {
    char buffer[8];
    std::snprintf(buffer, sizeof buffer, "0x%02x", static_cast<unsigned>(id));
    return buffer;
  }
  return std::string(1, static_cast<char>(id));
}

nlohmann::json BytesTokenizer::to_json() const { return {{"type", "bytes"}}; }

// ---- chars ----------------------------------------------------------------------------

CharsTokenizer::CharsTokenizer(std::string_view alphabet)
    : CharsTokenizer(decode_utf8(alphabet, "tokenizer.alphabet")) {}

CharsTokenizer::CharsTokenizer(std::u32string alphabet) : alphabet_(std::move(alphabet)) {
  if (alphabet_.empty()) throw InputError("tokenizer.alphabet is empty");
  for (std::size_t i = 0; i < alphabet_.size(); ++i) {
    const auto [it, inserted] = ids_.emplace(alphabet_[i], static_cast<int64_t>(i));
    if (!inserted) {
      throw InputError("tokenizer.alphabet repeats " + code_point_name(alphabet_[i]) +
                       " at positions " + std::to_string(it->second) + " and " +
                       std::to_string(i));
    }
  }
}

CharsTokenizer CharsTokenizer::from_corpus(std::string_view text) {
  std::u32string cps = decode_utf8(text, "corpus");
  if (cps.empty()) throw InputError("corpus is empty: cannot build a chars alphabet");
  std::sort(cps.begin(), cps.end());
  cps.erase(std::unique(cps.begin(), cps.end()), cps.end());
  return CharsTokenizer(std::move(cps));
}

int64_t CharsTokenizer::id_of(char32_t cp) const {
  const auto it = ids_.find(cp);
  return it == ids_.end() ? -1 : it->second;
}

std::vector<int64_t> CharsTokenizer::encode(std::string_view utf8) const {
  std::vector<int64_t> ids;
  ids.reserve(utf8.size());
  std::size_t pos = 0;
  char32_t cp = 0;
  const char* reason = "";
  while (pos < utf8.size()) {
    const std::size_t start = pos;
    if (!next_code_point(utf8, pos, cp, &reason)) {
      throw InputError("text: invalid UTF-8 at byte offset " + std::to_string(pos) + " (" +
                       reason + ")");
    }
    const int64_t id = id_of(cp);
    if (id < 0) {
      const std::string shown = is_control(cp) ? "" : "'" + utf8_of(cp) + "' ";
      throw InputError("text: character " + shown + "(" + code_point_name(cp) +
                       ") at byte offset " + std::to_string(start) +
                       " is not in the tokenizer alphabet");
    }
    ids.push_back(id);
  }
  return ids;
}

std::string CharsTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::string out;
  out.reserve(ids.size());
  for (int64_t id : ids) {
    check_id(id, vocab_size());
    append_utf8(out, alphabet_[static_cast<std::size_t>(id)]);
  }
  return out;
}

std::string CharsTokenizer::token_label(int64_t id) const {
  check_id(id, vocab_size());
  const char32_t cp = alphabet_[static_cast<std::size_t>(id)];
  const std::string special = whitespace_label(cp);
  if (!special.empty()) return special;
  if (is_control(cp)) return code_point_name(cp);
  return utf8_of(cp);
}

nlohmann::json CharsTokenizer::to_json() const {
  std::string alphabet;
  for (char32_t cp : alphabet_) append_utf8(alphabet, cp);
  return {{"type", "chars"}, {"alphabet", alphabet}};
}

// ---- from_json ------------------------------------------------------------------------

std::unique_ptr<Tokenizer> Tokenizer::from_json(const nlohmann::json& json) {
  if (!json.is_object()) throw InputError("tokenizer must be an object, got " + json.dump());
  const auto type_it = json.find("type");
  if (type_it == json.end()) throw InputError("tokenizer.type is missing (bytes or chars)");
  if (!type_it->is_string()) throw InputError("tokenizer.type must be a string");
  const std::string type = type_it->get<std::string>();
  if (type != "bytes" && type != "chars") {
    throw InputError("tokenizer.type (\"" + type + "\") must be \"bytes\" or \"chars\"");
  }
  for (const auto& item : json.items()) {
    const bool known = item.key() == "type" || (type == "chars" && item.key() == "alphabet");
    if (!known) {
      throw InputError("tokenizer." + item.key() + " is not a known key for a " + type +
                       " tokenizer");
    }
  }
  if (type == "bytes") return std::make_unique<BytesTokenizer>();
  const auto alphabet_it = json.find("alphabet");
  if (alphabet_it == json.end()) throw InputError("tokenizer.alphabet is missing");
  if (!alphabet_it->is_string()) throw InputError("tokenizer.alphabet must be a string");
  return std::make_unique<CharsTokenizer>(alphabet_it->get<std::string>());
}

}  // namespace headlab::data
