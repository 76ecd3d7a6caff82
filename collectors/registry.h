#pragma once

#include <memory>
#include <span>
#include <string_view>

#include "collectors/collector.h"

namespace rse::collectors {

// One entry of the registry: what `--collector.NAME` / `--no-collector.NAME` turn on and off.
struct CollectorSpec {
  std::string_view name;
  bool enabled_by_default;
  std::string_view help;
  Needs needs;
  std::unique_ptr<Collector> (*factory)();
};

// Every collector, in the order their families appear in the output.
std::span<const CollectorSpec> AllCollectors();
const CollectorSpec* FindCollector(std::string_view name);

// Factories, one per collector file.
std::unique_ptr<Collector> NewSentinelCollector();
std::unique_ptr<Collector> NewReplicasCollector();
std::unique_ptr<Collector> NewSentinelsCollector();
std::unique_ptr<Collector> NewCkquorumCollector();
std::unique_ptr<Collector> NewReplicationCollector();
std::unique_ptr<Collector> NewInfoCollector();
std::unique_ptr<Collector> NewTopologyCollector();
std::unique_ptr<Collector> NewCommandStatsCollector();
std::unique_ptr<Collector> NewLatencyStatsCollector();
std::unique_ptr<Collector> NewErrorStatsCollector();
std::unique_ptr<Collector> NewConfigCollector();
std::unique_ptr<Collector> NewSlowlogCollector();
std::unique_ptr<Collector> NewConsistencyCollector();
std::unique_ptr<Collector> NewEventsCollector();

}  // namespace rse::collectors

namespace rse::collectors {
// redis_sentinel_up and redis_up: emitted on every scrape, not a switchable collector.
void CollectReachability(const Snapshot& snapshot, MetricSink& sink);
}  // namespace rse::collectors
