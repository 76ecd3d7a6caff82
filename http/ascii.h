#pragma once

// ASCII case folding for HTTP's case-insensitive tokens (header names, schemes, content
// codings): bytes outside A-Z are kept, whatever the locale (std::tolower follows it).

namespace rse::http {

constexpr char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace rse::http
