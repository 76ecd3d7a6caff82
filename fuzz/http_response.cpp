// HTTP responses as `check --check.events-url` reads them: ResponseParser over hostile bytes,
// then ParseEventsJson over a complete body, and ParseUrl over the input as text.
// - Chunk invariance: fed whole and fed in pieces (sizes drawn from the input), the same
//   outcome (state, error, status, headers, body), so how the network splits bytes cannot matter.
// - Bounds: the body never exceeds the cap; an error has a reason.
// - Events: every parsed event's name and payload within model/events.h's cuts.
// - URLs: an accepted URL has a host, a target starting with '/' and no space or control byte.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "exporter/check.h"
#include "fuzz/common.h"
#include "http/client.h"

using rse::http::ClientLimits;
using rse::http::ResponseParser;

namespace {

struct Outcome {
  ResponseParser::State state = ResponseParser::State::kIncomplete;
  std::string error;
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool operator==(const Outcome&) const = default;
};

template <typename Step>
Outcome Parse(const std::string& data, const ClientLimits& limits, Step step) {
  ResponseParser p(limits);
  std::size_t pos = 0, calls = 0;
  while (pos < data.size() && p.state() == ResponseParser::State::kIncomplete) {
    const std::size_t n = std::min(step(calls++), data.size() - pos);
    p.Feed(data.data() + pos, n);
    pos += n;
  }
  p.FeedEof();
  Outcome out;
  out.state = p.state();
  out.error = p.error();
  FUZZ_CHECK(out.state != ResponseParser::State::kIncomplete, "incomplete after the end of the stream");
  if (out.state == ResponseParser::State::kError) {
    FUZZ_CHECK(!out.error.empty(), "an error without a reason");
  } else {
    out.status = p.response().status;
    out.headers = p.response().headers;
    out.body = p.response().body;
    FUZZ_CHECK(out.body.size() <= limits.max_body_bytes, "body of %zu bytes past the cap", out.body.size());
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  if (size < 1) return 0;
  ClientLimits limits;
  limits.max_head_bytes = 256 + data[0] * 16;  // small limits reach the size checks
  limits.max_body_bytes = 64 + data[0] * 64;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const Outcome whole = Parse(text, limits, [](std::size_t) { return std::size_t(-1); });
  const Outcome pieces = Parse(text, limits, [&](std::size_t i) { return std::size_t{1} + data[i % size] % 7; });
  FUZZ_CHECK(whole == pieces, "fed whole and in pieces, the response parses differently");

  // The body as the exporter's /events JSON: from a complete response, and the raw input too
  // (the JSON reader sees more shapes than a response body that also has to parse as HTTP).
  for (const std::string* body : {&whole.body, &text}) {
    std::string error;
    if (auto events = rse::ParseEventsJson(*body, error)) {
      for (const auto& e : *events) {
        FUZZ_CHECK(e.event.type.size() <= rse::collectors::kMaxEventName, "event name past the cut");
        FUZZ_CHECK(e.event.payload.size() <= rse::collectors::kMaxEventPayload, "payload past the cut");
      }
    } else {
      FUZZ_CHECK(!error.empty(), "refused events JSON without a reason");
    }
  }

  std::string error;
  if (auto url = rse::http::ParseUrl(text, error)) {
    FUZZ_CHECK(!url->address.host.empty(), "a URL without a host");
    FUZZ_CHECK(!url->target.empty() && url->target.front() == '/', "a target that is not absolute");
    for (char c : url->target) {
      FUZZ_CHECK(static_cast<unsigned char>(c) > 0x20 && c != 0x7f, "a space or control byte in the target");
    }
  }
  return 0;
}
