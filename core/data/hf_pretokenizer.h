#pragma once
// The text steps a Hugging Face tokenizer.json applies before its BPE model: the normalizer
// (NFC), the pre-tokenizer (regex Split, ByteLevel) and GPT-2's byte-level alphabet. Apart
// from hf_bpe_tokenizer.cpp so that the PCRE2 and ICU details live in one place, behind
// types that name neither library.
//
// Everything here works on raw UTF-8 bytes: the byte-level model keys its vocabulary by the
// bytes a token stands for (hf_bpe_tokenizer.cpp maps the vocabulary once at load), so the
// ByteLevel step's byte-to-character mapping is the identity on our side.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace headlab::data::hf {

// GPT-2's bytes_to_unicode: each byte gets a printable code point so that vocabularies are
// text. The printable ASCII and Latin-1 bytes stand for themselves, the other 68 for
// U+0100 upwards ("Ġ" = U+0120 is the space).
char32_t byte_to_char(std::uint8_t byte);
// The byte a code point stands for, or -1 when it is none of the 256.
int char_to_byte(char32_t cp);

// Unicode's White_Space property (what Rust's char::is_whitespace and Oniguruma's \s test).
bool is_white_space(char32_t cp);
// Rust regex's Unicode \w: Alphabetic, marks, decimal digits, connector punctuation and
// the joiners; what added tokens' single_word looks at.
bool is_word_char(char32_t cp);

// Per-call matching state (PCRE2 match data and JIT stack). The compiled patterns are
// immutable and shared, so one tokenizer can encode on several threads at once.
class MatchScratch {
 public:
  MatchScratch();
  ~MatchScratch();
  MatchScratch(const MatchScratch&) = delete;
  MatchScratch& operator=(const MatchScratch&) = delete;

  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

class Normalizer {
 public:
  // `json` is tokenizer.json's "normalizer": null, {"type": "NFC"} or a Sequence of those.
  // InputError naming `where` + the field and the unsupported type otherwise.
  static Normalizer parse(const nlohmann::json& json, const std::string& where);

  bool is_identity() const { return !nfc_; }
  // `utf8` must be valid UTF-8 (the tokenizer validates its input once, up front).
  std::string apply(std::string_view utf8) const;

 private:
  bool nfc_ = false;
};

class PreTokenizer {
 public:
  // `json` is tokenizer.json's "pre_tokenizer": null, ByteLevel, Split or a Sequence of
  // them. InputError naming `where` + the field for anything else, a bad regex included.
  static PreTokenizer parse(const nlohmann::json& json, const std::string& where);

  PreTokenizer();
  ~PreTokenizer();
  PreTokenizer(PreTokenizer&&) noexcept;
  PreTokenizer& operator=(PreTokenizer&&) noexcept;

  // Whether a ByteLevel step is present: only then is the model byte-level.
  bool has_byte_level() const;
  // Appends the pre-tokens of `piece` (valid UTF-8) to `out`, empty ones left out.
  void split(std::string_view piece, std::vector<std::string>& out, MatchScratch& scratch) const;

  struct Step;

 private:
  std::vector<Step> steps_;
};

}  // namespace headlab::data::hf
