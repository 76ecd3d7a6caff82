// HTTP request heads: RequestParser over hostile bytes, and the properties the server relies on.
// - Chunk invariance: the input fed whole and fed in pieces (sizes drawn from the input) gives
//   the same requests and the same outcome, so how the network splits bytes cannot matter.
// - Bounds: nothing past the head limit is consumed; an error carries one of the statuses the
//   server answers with; a complete head has a method and a path starting with '/', and
//   lower-case header names.
// - Pipelining: after a complete head, Reset() and the remaining bytes parse the next one.
// The query and Accept-Encoding helpers run over whatever was parsed.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz/common.h"
#include "http/request.h"
#include "http/server.h"

using rse::http::Limits;
using rse::http::RequestParser;

namespace {

struct Outcome {
  std::vector<std::string> requests;  // method, path, query and headers, flattened
  int error_status = 0;
  bool operator==(const Outcome&) const = default;
};

std::string Flatten(const rse::http::Request& r) {
  std::string out = r.method + " " + r.path + "?" + r.query + (r.keep_alive ? " keep" : " close");
  for (const auto& [k, v] : r.headers) out += "\n" + k + ": " + v;
  return out;
}

// Parses every head in `data`, feeding at most `step(i)` bytes per call.
template <typename Step>
Outcome ParseAll(const std::string& data, const Limits& limits, Step step) {
  Outcome out;
  RequestParser p(limits);
  std::size_t pos = 0, calls = 0;
  std::size_t head_start = 0;
  while (pos < data.size() && out.requests.size() < 16) {
    const std::size_t n = std::min(step(calls++), data.size() - pos);
    const std::size_t used = p.Feed(data.data() + pos, n);
    FUZZ_CHECK(used <= n, "consumed more than given");
    pos += used;
    FUZZ_CHECK(pos - head_start <= limits.max_head_bytes + 1, "consumed past the head limit");
    if (p.state() == RequestParser::State::kError) {
      const int s = p.error_status();
      FUZZ_CHECK(s == 400 || s == 413 || s == 431 || s == 501 || s == 505, "unexpected status %d", s);
      FUZZ_CHECK(!p.error().empty(), "an error without a reason");
      out.error_status = s;
      return out;
    }
    if (p.state() == RequestParser::State::kComplete) {
      auto& r = p.request();
      FUZZ_CHECK(!r.method.empty(), "a request without a method");
      FUZZ_CHECK(!r.path.empty() && r.path.front() == '/', "a path that is not absolute");
      for (const auto& [k, v] : r.headers) {
        for (char c : k) FUZZ_CHECK(!(c >= 'A' && c <= 'Z'), "a header name not lower-cased");
        (void)rse::http::AcceptsGzip(&v);
      }
      (void)r.Query("target");
      (void)r.Query(r.path);
      out.requests.push_back(Flatten(r));
      p.Reset();
      head_start = pos;
      continue;
    }
    FUZZ_CHECK(used == n, "an incomplete head left given bytes unconsumed");
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  if (size < 1) return 0;
  Limits limits;
  limits.max_head_bytes = 512 + data[0] * 8;  // small limits reach the size checks
  limits.max_headers = 4 + data[0] % 16;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const Outcome whole = ParseAll(text, limits, [](std::size_t) { return std::size_t(-1); });
  const Outcome pieces = ParseAll(text, limits, [&](std::size_t i) { return std::size_t{1} + data[i % size] % 7; });
  FUZZ_CHECK(whole == pieces, "fed whole and in pieces, the input parses differently");
  return 0;
}
