// `events` collector: what the Sentinels' event streams told between scrapes (collectors/
// events.h). The counts come with the snapshot; a target without subscriptions has none.
#include "collectors/events.h"
#include "collectors/fields.h"
#include "collectors/registry.h"

namespace rse::collectors {
namespace {

using prometheus::MetricType;

const Desc kEvents{"redis_sentinel_events_total",
                   "Events a Sentinel published, by event name (unknown names count as 'other').",
                   MetricType::Counter};
const Desc kStreamUp{"redis_sentinel_event_stream_up",
                     "1 while the exporter's event subscription (PSUBSCRIBE *) to the Sentinel is confirmed."};
const Desc kLastEvent{"redis_sentinel_last_event_timestamp_seconds",
                      "Unix time of the last event received from the Sentinel."};
const Desc kFailovers{"redis_sentinel_event_failovers_total",
                      "Failovers of the group seen in the event stream (+switch-master), each once across "
                      "Sentinels (deduplicated by epoch).",
                      MetricType::Counter};
const Desc kLastFailover{"redis_sentinel_event_last_failover_timestamp_seconds",
                         "Unix time of the group's last failover seen in the event stream."};
const Desc kDuration{"redis_sentinel_failover_duration_seconds",
                     "Seconds from the leader's +try-failover to its +switch-master, per failover.",
                     MetricType::Histogram};

class EventsCollector final : public Collector {
 public:
  void Collect(const Snapshot& snapshot, MetricSink& sink, std::vector<std::string>&) override {
    if (!snapshot.events) return;
    const EventCounts& c = *snapshot.events;
    for (const auto& [sentinel, up] : c.stream_up) sink.Add(kStreamUp, {{"sentinel", sentinel}}, Bool(up));
    for (const auto& [key, n] : c.events) {
      const auto& [sentinel, master, event] = key;
      sink.Add(kEvents, {{"sentinel", sentinel}, {"master_name", master}, {"event", event}}, n);
    }
    for (const auto& [sentinel, t] : c.last_event) sink.Add(kLastEvent, {{"sentinel", sentinel}}, t);
    for (const auto& [master, f] : c.failovers) sink.Add(kFailovers, {{"master_name", master}}, f.failovers);
    for (const auto& [master, f] : c.failovers) {
      if (f.last_time > 0) sink.Add(kLastFailover, {{"master_name", master}}, f.last_time);
    }
    for (const auto& [master, f] : c.failovers) {
      sink.AddHistogram(kDuration, {{"master_name", master}}, kFailoverDurationBuckets, f.buckets, f.duration_sum,
                        f.duration_count);
    }
  }
};

}  // namespace

std::unique_ptr<Collector> NewEventsCollector() { return std::make_unique<EventsCollector>(); }

}  // namespace rse::collectors
