#include <gtest/gtest.h>

#include "data/tokenizer.h"
#include "data/utf8.h"
#include "data_test_util.h"

using namespace headlab::data;
using headlab::data::test_util::expect_input_error;

TEST(Tokenizer, BytesRoundTripsUtf8Text) {
  BytesTokenizer tok;
  const std::string text = "h\xC3\xA9llo \xE6\x97\xA5";  // "héllo 日"
  const auto ids = tok.encode(text);
  ASSERT_EQ(ids.size(), text.size());
  EXPECT_EQ(ids[0], 'h');
  EXPECT_EQ(ids[1], 0xC3);
  EXPECT_EQ(tok.decode(ids), text);
  EXPECT_EQ(tok.vocab_size(), 256);
}

TEST(Tokenizer, CharsRoundTripsMultiByteCodePoints) {
  CharsTokenizer tok("ab\xC3\xA9\xE6\x97\xA5 ");  // a b é 日 space
  EXPECT_EQ(tok.vocab_size(), 5);
  const std::string text = "\xE6\x97\xA5\xC3\xA9 a";  // "日é a"
  EXPECT_EQ(tok.encode(text), (std::vector<int64_t>{3, 2, 4, 0}));
  EXPECT_EQ(tok.decode(tok.encode(text)), text);
}

TEST(Tokenizer, CharsFromCorpusIsSortedAndUnique) {
  const auto tok = CharsTokenizer::from_corpus("\xE6\x97\xA5" "b\xC3\xA9 ab");
  EXPECT_EQ(tok.alphabet(), std::u32string(U" ab\u00E9\u65E5"));
  EXPECT_EQ(tok.to_json()["alphabet"], " ab\xC3\xA9\xE6\x97\xA5");
  expect_input_error([] { CharsTokenizer::from_corpus(""); }, "empty");
}

TEST(Tokenizer, RejectsMalformedUtf8WithByteOffset) {
  BytesTokenizer bytes;
  CharsTokenizer chars("abc");
  expect_input_error([&] { bytes.encode("ab\xFF"); }, "byte offset 2");
  expect_input_error([&] { chars.encode("a\x80"); }, "byte offset 1");
  expect_input_error([&] { bytes.encode("a\xC0\xAF"); }, "overlong");           // '/' in 2 bytes
  expect_input_error([&] { bytes.encode("\xE0\x80\xAF"); }, "overlong");        // '/' in 3 bytes
  expect_input_error([&] { bytes.encode("\xED\xA0\x80"); }, "surrogate");       // U+D800
  expect_input_error([&] { bytes.encode("\xF4\x90\x80\x80"); }, "U+10FFFF");    // U+110000
  expect_input_error([&] { bytes.encode("ok\xE6\x97"); }, "truncated");
  expect_input_error([&] { bytes.encode("\xE6" "a" "\xA5"); }, "continuation");
  // The largest valid code point and the last before the surrogates are fine.
  EXPECT_NO_THROW(bytes.encode("\xF4\x8F\xBF\xBF\xED\x9F\xBF"));
}

TEST(Tokenizer, CharsRejectsCharacterOutsideAlphabetNamingIt) {
  CharsTokenizer tok("ab");
  expect_input_error([&] { tok.encode("abz"); }, "'z' (U+007A) at byte offset 2");
  expect_input_error([&] { tok.encode("a\xC3\xA9"); }, "U+00E9");
}

TEST(Tokenizer, LabelsArePrintable) {
  BytesTokenizer bytes;
  EXPECT_EQ(bytes.token_label('a'), "a");
  EXPECT_EQ(bytes.token_label(' '), "\xE2\x90\xA3");  // ␣
  EXPECT_EQ(bytes.token_label('\n'), "\\n");
  EXPECT_EQ(bytes.token_label(0xFF), "0xff");
  EXPECT_EQ(bytes.token_label(0x01), "0x01");
  CharsTokenizer chars(" \n\xC3\xA9\xC2\x85");  // space, newline, é, U+0085
  EXPECT_EQ(chars.token_label(0), "\xE2\x90\xA3");
  EXPECT_EQ(chars.token_label(1), "\\n");
  EXPECT_EQ(chars.token_label(2), "\xC3\xA9");
  EXPECT_EQ(chars.token_label(3), "U+0085");
  expect_input_error([&] { chars.token_label(4); }, "token id 4");
  expect_input_error([&] { bytes.decode({256}); }, "token id 256");
}

TEST(Tokenizer, JsonIsModelSpecTokenizerObject) {
  EXPECT_EQ(BytesTokenizer().to_json(), nlohmann::json({{"type", "bytes"}}));
  const nlohmann::json chars = {{"type", "chars"}, {"alphabet", "xy\xC3\xA9"}};
  EXPECT_EQ(CharsTokenizer("xy\xC3\xA9").to_json(), chars);
  const auto back = Tokenizer::from_json(chars);
  EXPECT_EQ(back->vocab_size(), 3);
  EXPECT_EQ(back->to_json(), chars);
  EXPECT_EQ(Tokenizer::from_json({{"type", "bytes"}})->vocab_size(), 256);
}

TEST(Tokenizer, FromJsonRejectsBadObjects) {
  using J = nlohmann::json;
  expect_input_error([] { Tokenizer::from_json(J::array()); }, "tokenizer must be an object");
  expect_input_error([] { Tokenizer::from_json({{"type", "bpe"}}); }, "tokenizer.type");
  expect_input_error([] { Tokenizer::from_json({{"type", "bytes"}, {"alphabet", "ab"}}); },
                     "tokenizer.alphabet is not a known key");
  expect_input_error([] { Tokenizer::from_json({{"type", "chars"}, {"alphabet", "ab"}, {"x", 1}}); },
                     "tokenizer.x");
  expect_input_error([] { Tokenizer::from_json({{"type", "chars"}}); }, "tokenizer.alphabet is missing");
  expect_input_error([] { Tokenizer::from_json({{"type", "chars"}, {"alphabet", ""}}); },
                     "tokenizer.alphabet is empty");
  expect_input_error([] { Tokenizer::from_json({{"type", "chars"}, {"alphabet", "aba"}}); },
                     "repeats U+0061 at positions 0 and 2");
}
