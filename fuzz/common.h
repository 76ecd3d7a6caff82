#pragma once

// Helpers shared by the fuzz targets: a check that aborts with a message (libFuzzer saves the
// input), reply comparison, and a lenient RESP decoder so that mutations which break RESP
// framing (a bulk length no longer matching its payload) still reach the reply consumers.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "redis/reply.h"

// On failure: one line "FUZZ_CHECK failed at file:line: condition: message", then abort().
#define FUZZ_CHECK(cond, ...)                                                              \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      std::fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s: ", __FILE__, __LINE__, #cond); \
      std::fprintf(stderr, __VA_ARGS__);                                                   \
      std::fprintf(stderr, "\n");                                                          \
      std::abort();                                                                        \
    }                                                                                      \
  } while (0)

namespace rse::fuzz {

inline bool SameReply(const redis::Reply& a, const redis::Reply& b) {
  if (a.type != b.type || a.str != b.str || a.integer != b.integer || a.elements.size() != b.elements.size()) {
    return false;
  }
  for (size_t i = 0; i < a.elements.size(); ++i) {
    if (!SameReply(a.elements[i], b.elements[i])) return false;
  }
  return true;
}

// Bytes shown safely in a message: printable ASCII as is, anything else as \xHH.
inline std::string Printable(std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && u != '\\') {
      out += c;
    } else {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

inline bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;
    for (size_t k = 1; k <= n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

// Decodes one reply from `in`, RESP-like but forgiving: lines may end in "\r\n", "\n" or the
// end of input; a bulk payload is the declared length when "\r\n" follows it, else the rest of
// the line; array counts are capped by what is left; nesting is capped. Always yields a reply
// (possibly nil) and consumes at least one byte of non-empty input.
class LenientDecoder {
 public:
  explicit LenientDecoder(std::string_view in) : in_(in) {}
  bool AtEnd() const { return in_.empty(); }

  redis::Reply Next(int depth = 0) {
    redis::Reply out;
    if (in_.empty()) return out;
    std::string_view line = Line();
    if (line.empty()) return redis::Reply::String("");
    const char kind = line.front();
    std::string_view rest = line.substr(1);
    switch (kind) {
      case '+':
        out.type = redis::Reply::Type::kStatus;
        out.str = std::string(rest);
        return out;
      case '-':
        out.type = redis::Reply::Type::kError;
        out.str = std::string(rest);
        return out;
      case ':':
        out.type = redis::Reply::Type::kInteger;
        out.integer = Integer(rest);
        return out;
      case '$': {
        long long len = Integer(rest);
        if (len < 0) return out;  // nil
        if (static_cast<unsigned long long>(len) + 2 <= in_.size() &&
            in_.substr(static_cast<size_t>(len), 2) == "\r\n") {
          out = redis::Reply::String(std::string(in_.substr(0, static_cast<size_t>(len))));
          in_.remove_prefix(static_cast<size_t>(len) + 2);
          return out;
        }
        return redis::Reply::String(std::string(Line()));
      }
      case '*': {
        long long n = Integer(rest);
        if (n < 0) return out;  // nil array
        out.type = redis::Reply::Type::kArray;
        if (depth >= 7) return out;
        for (long long i = 0; i < n && !in_.empty() && i < 4096; ++i) out.elements.push_back(Next(depth + 1));
        return out;
      }
      default:
        return redis::Reply::String(std::string(line));
    }
  }

 private:
  std::string_view Line() {
    auto eol = in_.find('\n');
    std::string_view line = in_.substr(0, eol);
    in_ = eol == std::string_view::npos ? std::string_view{} : in_.substr(eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
  }
  static long long Integer(std::string_view s) {
    bool neg = !s.empty() && s.front() == '-';
    if (neg) s.remove_prefix(1);
    long long v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') break;
      if (v > 100000000000LL) break;
      v = v * 10 + (c - '0');
    }
    return neg ? -v : v;
  }

  std::string_view in_;
};

// One reply from bytes: hiredis' reading when the bytes are exactly one valid reply, else the
// lenient decoding of the same bytes.
inline redis::Reply AnyReply(std::string_view bytes) {
  redis::Reply reply;
  if (redis::ParseOneReply(bytes, reply)) return reply;
  return LenientDecoder(bytes).Next();
}

}  // namespace rse::fuzz
