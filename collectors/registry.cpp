#include "collectors/registry.h"

#include <array>
#include <string>
#include <string_view>

namespace rse::collectors {

namespace {
using DI = Needs::DataInfo;
constexpr std::array kCollectors{
    CollectorSpec{"sentinel", true, "SENTINEL MASTER fields per (Sentinel, master) and INFO sentinel", Needs{},
                  &NewSentinelCollector},
    CollectorSpec{"replicas", true, "each Sentinel's view of each replica (SENTINEL REPLICAS)", Needs{},
                  &NewReplicasCollector},
    CollectorSpec{"sentinels", true, "each Sentinel's view of its peers (SENTINEL SENTINELS)", Needs{},
                  &NewSentinelsCollector},
    CollectorSpec{"ckquorum", true, "SENTINEL CKQUORUM per (Sentinel, master)", Needs{.ckquorum = true},
                  &NewCkquorumCollector},
    CollectorSpec{"replication", true, "INFO replication from every data node", Needs{.data_info = DI::kReplication},
                  &NewReplicationCollector},
    CollectorSpec{"info", true, "clients, memory, commands, keys, uptime and persistence from every data node's INFO",
                  Needs{.data_info = DI::kFull}, &NewInfoCollector},
    CollectorSpec{"commandstats", true, "calls, time, rejected and failed calls per command (INFO commandstats)",
                  Needs{.commandstats = true}, &NewCommandStatsCollector},
    CollectorSpec{"latencystats", true,
                  "latency percentiles per command (INFO latencystats, with commandstats for count and sum)",
                  Needs{.commandstats = true, .latencystats = true}, &NewLatencyStatsCollector},
    CollectorSpec{"errorstats", true, "error replies per error prefix (INFO errorstats, a default section)",
                  Needs{.data_info = DI::kFull}, &NewErrorStatsCollector},
    CollectorSpec{"config", true, "maxclients, maxmemory and io-threads from CONFIG GET of those settings only",
                  Needs{.config = true}, &NewConfigCollector},
    CollectorSpec{"slowlog", true, "the slowlog's length and newest entry (SLOWLOG LEN, SLOWLOG GET 1)",
                  Needs{.slowlog = true}, &NewSlowlogCollector},
    CollectorSpec{"topology", true,
                  "derived per group: agreed master, disagreement, split brain, linked replicas, lag, failovers",
                  Needs{.data_info = DI::kReplication}, &NewTopologyCollector},
    CollectorSpec{"consistency", true,
                  "each Sentinel's view against the nodes' own (role mismatch, ghost replicas) and against "
                  "its peers (failover settings, counts)",
                  Needs{.data_info = DI::kReplication}, &NewConsistencyCollector},
    CollectorSpec{"events", true, "the Sentinels' event streams: events by name, failovers and their durations",
                  Needs{.events = true}, &NewEventsCollector},
};
}  // namespace

std::span<const CollectorSpec> AllCollectors() { return kCollectors; }

const CollectorSpec* FindCollector(std::string_view name) {
  for (const auto& spec : kCollectors) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

void FlushCollector(MetricSink& sink, std::vector<std::string>& problems) {
  sink.Flush();
  for (std::string_view family : sink.TakeLate()) {
    problems.push_back("samples for " + std::string(family) +
                       " dropped: an earlier collector wrote that family, and a family's lines must be together");
  }
}

}  // namespace rse::collectors
