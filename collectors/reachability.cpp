// Reachability of every Sentinel and data node, configured or discovered. Always emitted,
// whichever collectors are on: `up` is what every alert starts from.
#include "collectors/fields.h"
#include "collectors/registry.h"

namespace rse::collectors {
namespace {
const Desc kSentinelUp{"redis_sentinel_up", "1 when the Sentinel answered this scrape's commands, 0 when it did not."};
const Desc kUp{"redis_up", "1 when the data node answered this scrape's commands, 0 when it did not."};
}  // namespace

void CollectReachability(const Snapshot& snapshot, MetricSink& sink) {
  for (const auto& s : snapshot.sentinels) sink.Add(kSentinelUp, {{"sentinel", s.label()}}, Bool(s.up()));
  for (const auto& n : snapshot.nodes) {
    sink.Add(kUp, {{"master_name", n.master_name}, {"addr", n.label()}}, Bool(n.up()));
  }
}

}  // namespace rse::collectors
