#pragma once

// Byte-level text helpers that hold whatever the locale: ASCII case folding for HTTP's
// case-insensitive tokens (header names, schemes, content codings; std::tolower follows the
// locale), and the control characters a terminal acts on.

#include <cstddef>
#include <string_view>

namespace rse::http {

constexpr char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// The length of the control character at s[i]: 1 for C0 (newline included) and DEL, 2 for a
// C1 one in UTF-8 (U+0080..U+009F: 0xC2 then 0x80..0x9F), which terminals may take for an
// escape sequence too; 0 for anything else. Text a peer sent is shown with these replaced or
// escaped, so that it cannot move the cursor, retitle a window or hide a line.
constexpr std::size_t ControlLength(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x20 || c == 0x7f) return 1;
  if (c == 0xC2 && i + 1 < s.size() && (static_cast<unsigned char>(s[i + 1]) & 0xE0) == 0x80) return 2;
  return 0;
}

}  // namespace rse::http
