#include "data/hf_pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>
#include <unicode/stringpiece.h>
#include <unicode/uchar.h>

#include <algorithm>
#include <array>
#include <optional>
#include <utility>

#include "common/errors.h"

namespace headlab::data::hf {

// ---- byte-level alphabet ----------------------------------------------------------------

namespace {

// The 256 bytes map into U+0000..U+0143: 188 printable ones to themselves, the other 68 to
// U+0100 upwards, in byte order.
constexpr char32_t kTableEnd = 256 + 68;

struct ByteTable {
  std::array<char32_t, 256> to_char{};
  std::array<int16_t, kTableEnd> to_byte{};
  ByteTable() {
    to_byte.fill(-1);
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      to_char[b] = printable ? static_cast<char32_t>(b) : next++;
      to_byte[to_char[b]] = static_cast<int16_t>(b);
    }
  }
};

const ByteTable& byte_table() {
  static const ByteTable table;
  return table;
}

}  // namespace

char32_t byte_to_char(std::uint8_t byte) { return byte_table().to_char[byte]; }

int char_to_byte(char32_t cp) { return cp < kTableEnd ? byte_table().to_byte[cp] : -1; }

bool is_white_space(char32_t cp) {
  return u_hasBinaryProperty(static_cast<UChar32>(cp), UCHAR_WHITE_SPACE);
}

bool is_word_char(char32_t cp) {
  const auto c = static_cast<UChar32>(cp);
  return u_hasBinaryProperty(c, UCHAR_ALPHABETIC) || u_hasBinaryProperty(c, UCHAR_JOIN_CONTROL) ||
         (U_GET_GC_MASK(c) & (U_GC_M_MASK | U_GC_ND_MASK | U_GC_PC_MASK)) != 0;
}

// ---- PCRE2 ----------------------------------------------------------------------------

struct MatchScratch::Impl {
  pcre2_match_data* data = nullptr;
  pcre2_match_context* context = nullptr;
  pcre2_jit_stack* jit_stack = nullptr;
};

MatchScratch::MatchScratch() : impl_(std::make_unique<Impl>()) {
  // One pair of offsets is all we read; the data block fits any pattern.
  impl_->data = pcre2_match_data_create(1, nullptr);
  impl_->context = pcre2_match_context_create(nullptr);
  // The default 32 KiB JIT stack is enough for these patterns on ordinary text; 1 MiB keeps
  // a pathological input (a megabyte of one character class) from failing the match.
  impl_->jit_stack = pcre2_jit_stack_create(32 * 1024, 1024 * 1024, nullptr);
  if (impl_->data == nullptr || impl_->context == nullptr) throw std::bad_alloc();
  if (impl_->jit_stack != nullptr) pcre2_jit_stack_assign(impl_->context, nullptr, impl_->jit_stack);
}

MatchScratch::~MatchScratch() {
  pcre2_jit_stack_free(impl_->jit_stack);
  pcre2_match_context_free(impl_->context);
  pcre2_match_data_free(impl_->data);
}

namespace {

// tokenizer.json patterns are written for Oniguruma (what the Rust `tokenizers` crate
// compiles them with). PCRE2 with UTF and UCP reads the same syntax with two differences
// that matter: its \s under UCP is "separator or ASCII space" (so it misses U+0085, which
// Oniguruma's White_Space-based \s has), and its \h is horizontal space where Oniguruma
// means a hex digit. Both are rewritten; everything else passes through.
std::string translate_oniguruma(std::string_view pattern, const std::string& where) {
  std::string out;
  out.reserve(pattern.size() + 32);
  bool in_class = false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char d = pattern[++i];
      if (d == 's') {
        out += "\\p{White_Space}";
      } else if (d == 'S') {
        out += "\\P{White_Space}";
      } else if (d == 'h') {
        out += in_class ? "0-9A-Fa-f" : "[0-9A-Fa-f]";
      } else if (d == 'H' && !in_class) {
        out += "[^0-9A-Fa-f]";
      } else if (d == 'H') {
        throw InputError(where + ": \\H inside a character class is not supported");
      } else {
        out += c;
        out += d;
      }
      continue;
    }
    if (!in_class && c == '[') {
      in_class = true;
      out += c;
      // A ']' right after '[' or '[^' is a literal, not the end of the class.
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out += pattern[++i];
      continue;
    }
    if (in_class && c == '[') {
      const std::size_t close = pattern.find(":]", i);
      if (i + 1 < pattern.size() && pattern[i + 1] == ':' && close != std::string_view::npos) {
        out.append(pattern.substr(i, close + 2 - i));  // POSIX class, same in both
        i = close + 1;
        continue;
      }
      throw InputError(where + ": nested character classes (Oniguruma's [a[b]] and &&) are "
                       "not supported");
    }
    if (in_class && c == ']') in_class = false;
    out += c;
  }
  return out;
}

}  // namespace

// A compiled pattern and Oniguruma's find_iter over it.
class Regex {
 public:
  Regex(std::string_view pattern, bool literal, const std::string& where) {
    pcre2_compile_context* context = pcre2_compile_context_create(nullptr);
    pcre2_set_newline(context, PCRE2_NEWLINE_LF);
    // Ruby syntax (Oniguruma's default) has ^ and $ match at every line.
    uint32_t options = PCRE2_UTF | PCRE2_UCP | PCRE2_MULTILINE;
    std::string translated;
    if (literal) {
      options = PCRE2_UTF | PCRE2_LITERAL;  // PCRE2 refuses UCP and MULTILINE with LITERAL
      translated = std::string(pattern);
    } else {
      translated = translate_oniguruma(pattern, where);
    }
    int error = 0;
    PCRE2_SIZE offset = 0;
    code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.data()), translated.size(),
                          options, &error, &offset, context);
    pcre2_compile_context_free(context);
    if (code_ == nullptr) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(error, message, sizeof message);
      throw InputError(where + ": invalid regex at offset " + std::to_string(offset) + " (" +
                       reinterpret_cast<const char*>(message) + "): " + std::string(pattern));
    }
    // JIT is an optimisation only: without it (an architecture PCRE2 has no JIT for)
    // pcre2_match interprets the same pattern.
    pcre2_jit_compile(code_, PCRE2_JIT_COMPLETE);
  }
  ~Regex() { pcre2_code_free(code_); }
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Calls on_match(start, end) for each match in `text`, the way the onig crate's
  // find_iter does: left to right, never overlapping, and an empty match right where the
  // previous one ended is skipped. `text` must be valid UTF-8 (checked once by the caller;
  // checking it on each call would make a scan quadratic).
  template <typename F>
  void for_each_match(std::string_view text, MatchScratch& scratch, F&& on_match) const {
    auto& s = scratch.impl();
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
    std::size_t search_from = 0;
    std::optional<std::size_t> last_match_end;
    while (search_from <= text.size()) {
      const int rc = pcre2_match(code_, subject, text.size(), search_from, PCRE2_NO_UTF_CHECK,
                                 s.data, s.context);
      if (rc == PCRE2_ERROR_NOMATCH) return;
      if (rc < 0) {
        PCRE2_UCHAR message[256];
        pcre2_get_error_message(rc, message, sizeof message);
        throw InputError("text: the pre-tokenizer regex failed near byte offset " +
                         std::to_string(search_from) + " (" +
                         reinterpret_cast<const char*>(message) + ")");
      }
      const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(s.data);
      const std::size_t start = ovector[0];
      const std::size_t end = ovector[1];
      if (start == end && last_match_end == end) {
        search_from += 1;  // step over one code point
        while (search_from < text.size() &&
               (static_cast<unsigned char>(text[search_from]) & 0xC0) == 0x80) {
          ++search_from;
        }
        continue;
      }
      search_from = end;
      last_match_end = end;
      on_match(start, end);
    }
  }

 private:
  pcre2_code* code_ = nullptr;
};

// ---- normalizer -------------------------------------------------------------------------

namespace {

std::string type_of(const nlohmann::json& json, const std::string& where) {
  if (!json.is_object()) throw InputError(where + " must be an object or null");
  const auto it = json.find("type");
  if (it == json.end() || !it->is_string()) throw InputError(where + ".type is missing");
  return it->get<std::string>();
}

bool flag(const nlohmann::json& json, const char* key, bool fallback, const std::string& where) {
  const auto it = json.find(key);
  if (it == json.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) throw InputError(where + "." + key + " must be true or false");
  return it->get<bool>();
}

const nlohmann::json& array_field(const nlohmann::json& json, const char* key,
                                  const std::string& where) {
  const auto it = json.find(key);
  if (it == json.end() || !it->is_array()) {
    throw InputError(where + "." + key + " must be an array");
  }
  return *it;
}

void parse_normalizer(const nlohmann::json& json, const std::string& where, bool& nfc) {
  if (json.is_null()) return;
  const std::string type = type_of(json, where);
  if (type == "NFC") {
    nfc = true;
  } else if (type == "Sequence") {
    const auto& list = array_field(json, "normalizers", where);
    for (std::size_t i = 0; i < list.size(); ++i) {
      parse_normalizer(list[i], where + ".normalizers[" + std::to_string(i) + "]", nfc);
    }
  } else {
    throw InputError(where + ".type \"" + type +
                     "\" is not supported (HeadLab's byte-level BPE knows NFC and Sequence)");
  }
}

}  // namespace

Normalizer Normalizer::parse(const nlohmann::json& json, const std::string& where) {
  Normalizer normalizer;
  parse_normalizer(json, where, normalizer.nfc_);
  return normalizer;
}

std::string Normalizer::apply(std::string_view utf8) const {
  if (!nfc_) return std::string(utf8);
  if (utf8.size() > static_cast<std::size_t>(INT32_MAX)) {
    throw InputError("text: more than 2 GiB cannot be NFC-normalized in one piece");
  }
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(status);
  const icu::StringPiece piece(utf8.data(), static_cast<int32_t>(utf8.size()));
  if (U_SUCCESS(status) && nfc->isNormalizedUTF8(piece, status) && U_SUCCESS(status)) {
    return std::string(utf8);  // the common case: most text is already NFC
  }
  std::string out;
  status = U_ZERO_ERROR;
  icu::StringByteSink<std::string> sink(&out, static_cast<int32_t>(utf8.size()));
  nfc->normalizeUTF8(0, piece, sink, nullptr, status);
  if (U_FAILURE(status)) {
    throw InputError(std::string("text: NFC normalization failed (ICU: ") + u_errorName(status) +
                     ")");
  }
  return out;
}

// ---- pre-tokenizer ----------------------------------------------------------------------

namespace {

enum class Behavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

// GPT-2's pattern, built into the Rust ByteLevel pre-tokenizer (use_regex: true).
constexpr std::string_view kByteLevelPattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

std::shared_ptr<const Regex> byte_level_regex() {
  static const auto regex =
      std::make_shared<const Regex>(kByteLevelPattern, false, "ByteLevel's built-in regex");
  return regex;
}

using Span = std::pair<std::size_t, std::size_t>;

// Rust tokenizers' NormalizedString::split: pieces of `text` from the pattern's matches
// (flagged true) and the gaps between them, combined per `behavior`.
std::vector<Span> split_spans(std::string_view text, const Regex& regex, Behavior behavior,
                              bool invert, MatchScratch& scratch) {
  std::vector<std::pair<Span, bool>> pieces;
  std::size_t previous = 0;
  regex.for_each_match(text, scratch, [&](std::size_t start, std::size_t end) {
    if (previous != start) pieces.push_back({{previous, start}, invert});
    pieces.push_back({{start, end}, !invert});
    previous = end;
  });
  if (previous != text.size()) pieces.push_back({{previous, text.size()}, invert});

  std::vector<Span> spans;
  spans.reserve(pieces.size());
  bool previous_match = false;
  switch (behavior) {
    case Behavior::Removed:
      for (const auto& [span, is_match] : pieces) {
        if (!is_match) spans.push_back(span);
      }
      break;
    case Behavior::Isolated:
      for (const auto& piece : pieces) spans.push_back(piece.first);
      break;
    case Behavior::MergedWithPrevious:
      for (const auto& [span, is_match] : pieces) {
        if (is_match && !previous_match && !spans.empty()) {
          spans.back().second = span.second;
        } else {
          spans.push_back(span);
        }
        previous_match = is_match;
      }
      break;
    case Behavior::MergedWithNext:
      for (auto it = pieces.rbegin(); it != pieces.rend(); ++it) {
        if (it->second && !previous_match && !spans.empty()) {
          spans.back().first = it->first.first;
        } else {
          spans.push_back(it->first);
        }
        previous_match = it->second;
      }
      std::reverse(spans.begin(), spans.end());
      break;
    case Behavior::Contiguous:
      for (std::size_t i = 0; i < pieces.size(); ++i) {
        if (i > 0 && pieces[i].second == previous_match) {
          spans.back().second = pieces[i].first.second;
        } else {
          spans.push_back(pieces[i].first);
        }
        previous_match = pieces[i].second;
      }
      break;
  }
  return spans;
}

Behavior parse_behavior(const nlohmann::json& json, const std::string& where) {
  const auto it = json.find("behavior");
  if (it == json.end() || !it->is_string()) throw InputError(where + ".behavior is missing");
  const std::string name = it->get<std::string>();
  if (name == "Removed") return Behavior::Removed;
  if (name == "Isolated") return Behavior::Isolated;
  if (name == "MergedWithPrevious") return Behavior::MergedWithPrevious;
  if (name == "MergedWithNext") return Behavior::MergedWithNext;
  if (name == "Contiguous") return Behavior::Contiguous;
  throw InputError(where + ".behavior \"" + name + "\" is not a Split behavior");
}

}  // namespace

struct PreTokenizer::Step {
  bool byte_level = false;
  std::shared_ptr<const Regex> regex;  // null for a ByteLevel step without use_regex
  Behavior behavior = Behavior::Isolated;
  bool invert = false;
  bool add_prefix_space = false;
};

namespace {

void parse_steps(const nlohmann::json& json, const std::string& where,
                 std::vector<PreTokenizer::Step>& steps) {
  if (json.is_null()) return;
  const std::string type = type_of(json, where);
  PreTokenizer::Step step;
  if (type == "Sequence") {
    const auto& list = array_field(json, "pretokenizers", where);
    for (std::size_t i = 0; i < list.size(); ++i) {
      parse_steps(list[i], where + ".pretokenizers[" + std::to_string(i) + "]", steps);
    }
    return;
  }
  if (type == "ByteLevel") {
    // Missing flags take Rust's ByteLevel::default() (all true).
    step.byte_level = true;
    step.add_prefix_space = flag(json, "add_prefix_space", true, where);
    if (flag(json, "use_regex", true, where)) step.regex = byte_level_regex();
  } else if (type == "Split") {
    for (const auto& earlier : steps) {
      // After ByteLevel the text is the byte-level alphabet ("Ġ" for space) and a regex
      // would see that; our raw-byte pipeline cannot reproduce it.
      if (earlier.byte_level) throw InputError(where + ": a Split after ByteLevel is not supported");
    }
    const auto pattern = json.find("pattern");
    if (pattern == json.end() || !pattern->is_object() || pattern->size() != 1) {
      throw InputError(where + ".pattern must be {\"Regex\": ...} or {\"String\": ...}");
    }
    const std::string kind = pattern->begin().key();
    const nlohmann::json& value = pattern->begin().value();
    if ((kind != "Regex" && kind != "String") || !value.is_string()) {
      throw InputError(where + ".pattern must be {\"Regex\": ...} or {\"String\": ...}");
    }
    step.regex = std::make_shared<const Regex>(value.get<std::string>(), kind == "String",
                                               where + ".pattern." + kind);
    step.behavior = parse_behavior(json, where);
    step.invert = flag(json, "invert", false, where);
  } else {
    throw InputError(where + ".type \"" + type +
                     "\" is not supported (HeadLab's byte-level BPE knows ByteLevel, Split "
                     "and Sequence)");
  }
  steps.push_back(std::move(step));
}

}  // namespace

PreTokenizer::PreTokenizer() = default;
PreTokenizer::~PreTokenizer() = default;
PreTokenizer::PreTokenizer(PreTokenizer&&) noexcept = default;
PreTokenizer& PreTokenizer::operator=(PreTokenizer&&) noexcept = default;

PreTokenizer PreTokenizer::parse(const nlohmann::json& json, const std::string& where) {
  PreTokenizer pre;
  parse_steps(json, where, pre.steps_);
  return pre;
}

bool PreTokenizer::has_byte_level() const {
  for (const auto& step : steps_) {
    if (step.byte_level) return true;
  }
  return false;
}

void PreTokenizer::split(std::string_view piece, std::vector<std::string>& out,
                         MatchScratch& scratch) const {
  std::vector<std::string> current{std::string(piece)};
  std::vector<std::string> next;
  for (const auto& step : steps_) {
    next.clear();
    for (auto& text : current) {
      // Rust prepends the space per piece, to each one the earlier steps produced.
      if (step.add_prefix_space && (text.empty() || text[0] != ' ')) text.insert(0, 1, ' ');
      if (step.regex == nullptr) {
        next.push_back(std::move(text));
        continue;
      }
      const auto behavior = step.byte_level ? Behavior::Isolated : step.behavior;
      for (const auto& [start, end] : split_spans(text, *step.regex, behavior, step.invert, scratch)) {
        if (end > start) next.emplace_back(text.substr(start, end - start));
      }
    }
    current.swap(next);
  }
  for (auto& text : current) {
    if (!text.empty()) out.push_back(std::move(text));
  }
}

}  // namespace headlab::data::hf
