// Sentinel's event stream: bytes -> the RESP pushes a subscription reads (fed in small chunks,
// as the subscriber does) -> ParsePubSubMessage -> ParseEvent -> EventState, and the same bytes
// as lines of "sentinel-index TAB channel TAB payload" straight into ParseEvent.
//
// Properties: no crash or sanitizer report; the label set stays bounded (known event names or
// "other", at most kMaxGroups master names); the recent ring stays bounded; payloads are cut;
// a histogram never holds more bucket observations than its count.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "fuzz/common.h"
#include "model/events.h"

using namespace rse::collectors;

namespace {

void Feed(EventState& state, const std::string& sentinel, const std::string& channel, const std::string& payload,
          std::chrono::steady_clock::time_point& t) {
  auto e = ParseEvent(channel, payload);
  FUZZ_CHECK(e.type.size() <= kMaxEventName && e.payload.size() <= kMaxEventPayload, "event not cut");
  t += std::chrono::milliseconds(250);
  state.Record(sentinel, std::move(e), 1.0, t);
}

void CheckState(const EventState& state) {
  const auto c = state.Counts();
  std::set<std::string> groups;
  for (const auto& [key, n] : c.events) {
    const std::string& event = std::get<2>(key);
    FUZZ_CHECK(event == "other" || EventLabel(event) == event, "unbounded event label");
    groups.insert(std::get<1>(key));
  }
  FUZZ_CHECK(groups.size() <= EventState::kMaxGroups + 1, "%zu master names", groups.size());
  for (const auto& [name, f] : c.failovers) {
    double in_buckets = 0;
    for (double b : f.buckets) in_buckets += b;
    FUZZ_CHECK(in_buckets <= f.duration_count, "buckets hold more than the count");
    FUZZ_CHECK(f.duration_count <= f.failovers, "more durations than failovers");
  }
  FUZZ_CHECK(state.Recent().size() <= EventState::kMaxRecent, "recent ring unbounded");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto t = std::chrono::steady_clock::time_point{};

  EventState stream;
  rse::redis::RespParser parser;
  for (size_t off = 0; off < bytes.size(); off += 7) {
    if (!parser.Feed(bytes.data() + off, std::min<size_t>(7, bytes.size() - off))) break;
    rse::redis::Reply reply;
    while (parser.Next(reply) == rse::redis::RespParser::Result::kReply) {
      if (auto m = ParsePubSubMessage(reply)) Feed(stream, "127.0.0.1:26379", m->first, m->second, t);
    }
  }
  CheckState(stream);

  EventState lines;
  size_t start = 0;
  while (start < bytes.size()) {
    size_t end = bytes.find('\n', start);
    if (end == std::string_view::npos) end = bytes.size();
    std::string_view line = bytes.substr(start, end - start);
    start = end + 1;
    auto a = line.find('\t');
    if (a == std::string_view::npos) continue;
    auto b = line.find('\t', a + 1);
    std::string channel(line.substr(a + 1, b == std::string_view::npos ? std::string_view::npos : b - a - 1));
    std::string payload(b == std::string_view::npos ? std::string_view{} : line.substr(b + 1));
    Feed(lines, "s" + std::string(line.substr(0, std::min<size_t>(a, 2))), channel, payload, t);
  }
  CheckState(lines);
  return 0;
}
