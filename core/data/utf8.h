#pragma once
// A small strict UTF-8 codec. We write our own because no Debian package fits: the
// standard library's <codecvt> is deprecated (and lenient on some implementations), ICU is
// far too heavy for this, and we need the byte offset of the first bad byte for messages.
// Strict means: no overlong forms, no UTF-16 surrogates (U+D800..U+DFFF), nothing above
// U+10FFFF, no truncated sequences.
#include <cstddef>
#include <string>
#include <string_view>

namespace headlab::data {

// Decodes the code point starting at `pos` (< text.size()) and advances `pos` past it. Returns false
// (leaving `pos` on the offending byte and `reason` set) when the bytes there are not
// valid UTF-8.
bool next_code_point(std::string_view text, std::size_t& pos, char32_t& cp, const char** reason);

// All code points of `text`. Throws InputError "<what>: invalid UTF-8 at byte offset N (...)".
std::u32string decode_utf8(std::string_view text, std::string_view what);

// Throws the same InputError as decode_utf8 when `text` is not valid UTF-8.
void validate_utf8(std::string_view text, std::string_view what);

void append_utf8(std::string& out, char32_t cp);
std::string utf8_of(char32_t cp);

// "U+00E9": how messages name a code point unambiguously (whitespace, look-alikes).
std::string code_point_name(char32_t cp);

}  // namespace headlab::data
