#pragma once
// Tokenizers of MODEL.md §5: "bytes" (V = 256, id = byte value) and "chars" (id = index of
// the code point in an alphabet). Plain C++ on purpose: no torch here, so the GUI-side tools
// and the data generators can use it cheaply.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

namespace headlab::data {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  virtual int64_t vocab_size() const = 0;
  // InputError on invalid UTF-8 (with the byte offset) and, for chars, on a character
  // outside the alphabet (naming it and its offset).
  virtual std::vector<int64_t> encode(std::string_view utf8) const = 0;
  // InputError on an id outside [0, vocab_size). Bytes may decode to invalid UTF-8 when a
  // model emits a broken sequence: the raw bytes are returned, the caller decides.
  virtual std::string decode(const std::vector<int64_t>& ids) const = 0;
  // Short printable label for plot axes: "a", "\\n", "␣" for space, "0xff" for a
  // non-printable byte, "U+0085" for a non-printable code point.
  virtual std::string token_label(int64_t id) const = 0;
  // Exactly MODEL.md §5's tokenizer object.
  virtual nlohmann::json to_json() const = 0;

  // InputError (naming "tokenizer.<field>") for a non-object, unknown type or key, or an
  // empty or duplicate-code-point alphabet.
  static std::unique_ptr<Tokenizer> from_json(const nlohmann::json& json);
};

class BytesTokenizer final : public Tokenizer {
 public:
  int64_t vocab_size() const override { return 256; }
  std::vector<int64_t> encode(std::string_view utf8) const override;
  std::string decode(const std::vector<int64_t>& ids) const override;
  std::string token_label(int64_t id) const override;
  nlohmann::json to_json() const override;
};

class CharsTokenizer final : public Tokenizer {
 public:
  // `alphabet` is UTF-8; each code point becomes one token, in order. InputError when it is
  // empty, invalid UTF-8 or repeats a code point.
  explicit CharsTokenizer(std::string_view alphabet);
  // The sorted (by code point) unique characters of `text`; InputError when text is empty.
  static CharsTokenizer from_corpus(std::string_view text);

  int64_t vocab_size() const override { return static_cast<int64_t>(alphabet_.size()); }
  std::vector<int64_t> encode(std::string_view utf8) const override;
  std::string decode(const std::vector<int64_t>& ids) const override;
  std::string token_label(int64_t id) const override;
  nlohmann::json to_json() const override;

  const std::u32string& alphabet() const { return alphabet_; }
  // The id of `cp`, or -1 when it is not in the alphabet.
  int64_t id_of(char32_t cp) const;

 private:
  explicit CharsTokenizer(std::u32string alphabet);

  std::u32string alphabet_;
  std::unordered_map<char32_t, int64_t> ids_;
};

}  // namespace headlab::data
