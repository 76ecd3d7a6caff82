// `events` collector: what the Sentinels' event streams told between scrapes (collectors/
// events.h). The counts come with the snapshot; a target without subscriptions has none of
// the per-Sentinel series. The failover count itself is the topology collector's.
#include <set>
#include <string_view>
#include <tuple>

#include "collectors/fields.h"
#include "collectors/registry.h"
#include "model/events.h"

namespace rse::collectors {
namespace {

using prometheus::MetricType;

const Desc kEvents{"redis_sentinel_events_total",
                   "Events a Sentinel published, by event name (unknown names count as 'other').", MetricType::Counter};
const Desc kStreamUp{"redis_sentinel_event_stream_up",
                     "1 while the exporter's event subscription (PSUBSCRIBE *) to the Sentinel is confirmed."};
const Desc kLastEvent{"redis_sentinel_last_event_timestamp_seconds",
                      "Unix time of the last event received from the Sentinel."};
const Desc kDuration{"redis_sentinel_failover_duration_seconds",
                     "Seconds from the leader's +try-failover to its +switch-master, per failover.",
                     MetricType::Histogram};

// Events alerts count with increase(): each starts at 0 for every subscribed Sentinel and the
// groups it monitors, so the first occurrence is an increase and not a new series.
constexpr std::string_view kGroupEvents[] = {"+sdown",
                                             "-sdown",
                                             "+odown",
                                             "+try-failover",
                                             "+switch-master",
                                             "-failover-abort-not-elected",
                                             "-failover-abort-no-good-slave",
                                             "-failover-abort-slave-timeout"};
constexpr std::string_view kSentinelEvents[] = {"+tilt", "-tilt"};

class EventsCollector final : public Collector {
 public:
  void Collect(const Snapshot& snapshot, MetricSink& sink, std::vector<std::string>&) override {
    if (!snapshot.events) return;
    const EventCounts& c = *snapshot.events;
    if (c.stream_up.empty()) return;  // no subscriptions
    for (const auto& [sentinel, up] : c.stream_up) sink.Add(kStreamUp, {{"sentinel", sentinel}}, Bool(up));
    for (const auto& [key, n] : c.events) {
      const auto& [sentinel, master, event] = key;
      sink.Add(kEvents, {{"sentinel", sentinel}, {"master_name", master}, {"event", event}}, n);
    }
    std::set<std::string> groups;
    for (const auto& s : snapshot.sentinels) {
      for (const auto& m : s.masters) groups.insert(m.name);
      const std::string label = s.label();
      if (!c.stream_up.count(label)) continue;
      // One label set per Sentinel, its last two pairs replaced per series.
      Labels l{{"sentinel", label}};
      const size_t sentinel_mark = l.size();
      auto zero = [&](std::string_view master, std::string_view event) {
        using Key = std::tuple<std::string_view, std::string_view, std::string_view>;
        if (c.events.find(Key{label, master, event}) != c.events.end()) return;
        l.Truncate(sentinel_mark);
        l.Add("master_name", master).Add("event", event);
        sink.Add(kEvents, l, 0);
      };
      for (auto event : kSentinelEvents) zero("", event);
      for (const auto& m : s.masters) {
        for (auto event : kGroupEvents) zero(m.name, event);
      }
    }
    for (const auto& [sentinel, t] : c.last_event) sink.Add(kLastEvent, {{"sentinel", sentinel}}, t);
    for (const auto& [master, f] : c.failovers) {
      sink.AddHistogram(kDuration, {{"master_name", master}}, kFailoverDurationBuckets, f.buckets, f.duration_sum,
                        f.duration_count);
    }
    const FailoverStats none;
    for (const auto& g : groups) {
      if (!c.failovers.count(g))
        sink.AddHistogram(kDuration, {{"master_name", g}}, kFailoverDurationBuckets, none.buckets, 0, 0);
    }
  }
};

}  // namespace

std::unique_ptr<Collector> NewEventsCollector() { return std::make_unique<EventsCollector>(); }

}  // namespace rse::collectors
