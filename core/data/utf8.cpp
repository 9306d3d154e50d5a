#include "data/utf8.h"

#include <cstdint>
#include <cstdio>

#include "common/errors.h"

namespace headlab::data {

bool next_code_point(std::string_view text, std::size_t& pos, char32_t& cp, const char** reason) {
  const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(text[i]); };
  const std::uint8_t lead = byte(pos);
  if (lead < 0x80) {
    cp = lead;
    ++pos;
    return true;
  }
  int extra = 0;
  char32_t value = 0;
  char32_t min_value = 0;  // smallest code point that needs this many bytes (overlong check)
  if ((lead & 0xE0) == 0xC0) {
    extra = 1, value = lead & 0x1F, min_value = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    extra = 2, value = lead & 0x0F, min_value = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    extra = 3, value = lead & 0x07, min_value = 0x10000;
  } else {
    *reason = (lead & 0xC0) == 0x80 ? "unexpected continuation byte" : "invalid lead byte";
    return false;
  }
  if (pos + extra >= text.size()) {
    *reason = "truncated sequence";
    return false;
  }
  for (int k = 1; k <= extra; ++k) {
    const std::uint8_t b = byte(pos + k);
    if ((b & 0xC0) != 0x80) {
      *reason = "missing continuation byte";
      return false;
    }
    value = (value << 6) | (b & 0x3F);
  }
  if (value < min_value) {
    *reason = "overlong encoding";
    return false;
  }
  if (value >= 0xD800 && value <= 0xDFFF) {
    *reason = "UTF-16 surrogate";
    return false;
  }
  if (value > 0x10FFFF) {
    *reason = "code point above U+10FFFF";
    return false;
  }
  cp = value;
  pos += extra + 1;
  return true;
}

namespace {

[[noreturn]] void throw_invalid(std::string_view what, std::size_t offset, const char* reason) {
  throw InputError(std::string(what) + ": invalid UTF-8 at byte offset " + std::to_string(offset) +
                   " (" + reason + ")");
}

}  // namespace

std::u32string decode_utf8(std::string_view text, std::string_view what) {
  std::u32string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  char32_t cp = 0;
  const char* reason = "";
  while (pos < text.size()) {
    if (!next_code_point(text, pos, cp, &reason)) throw_invalid(what, pos, reason);
    out.push_back(cp);
  }
  return out;
}

void validate_utf8(std::string_view text, std::string_view what) {
  std::size_t pos = 0;
  char32_t cp = 0;
  const char* reason = "";
  while (pos < text.size()) {
    // ASCII fast path: corpora are mostly ASCII and can be hundreds of megabytes.
    if (static_cast<std::uint8_t>(text[pos]) < 0x80) {
      ++pos;
      continue;
    }
    if (!next_code_point(text, pos, cp, &reason)) throw_invalid(what, pos, reason);
  }
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string utf8_of(char32_t cp) {
  std::string out;
  append_utf8(out, cp);
  return out;
}

std::string code_point_name(char32_t cp) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "U+%04X", static_cast<unsigned>(cp));
  return buffer;
}

}  // namespace headlab::data
