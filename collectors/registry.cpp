#include "collectors/registry.h"

#include <array>

namespace rse::collectors {

namespace {
using DI = Needs::DataInfo;
constexpr std::array kCollectors{
    CollectorSpec{"sentinel", true, "SENTINEL MASTER fields per (Sentinel, master) and INFO sentinel",
                  Needs{}, &NewSentinelCollector},
    CollectorSpec{"replicas", true, "each Sentinel's view of each replica (SENTINEL REPLICAS)",
                  Needs{}, &NewReplicasCollector},
    CollectorSpec{"sentinels", true, "each Sentinel's view of its peers (SENTINEL SENTINELS)",
                  Needs{}, &NewSentinelsCollector},
    CollectorSpec{"ckquorum", true, "SENTINEL CKQUORUM per (Sentinel, master)",
                  Needs{DI::kNone, true}, &NewCkquorumCollector},
    CollectorSpec{"replication", true, "INFO replication from every data node",
                  Needs{DI::kReplication, false}, &NewReplicationCollector},
    CollectorSpec{"info", true,
                  "clients, memory, commands, keys, uptime and persistence from every data node's INFO",
                  Needs{DI::kFull, false}, &NewInfoCollector},
    CollectorSpec{"topology", true,
                  "derived per group: agreed master, disagreement, split brain, linked replicas, lag, failovers",
                  Needs{DI::kReplication, false}, &NewTopologyCollector},
    CollectorSpec{"events", true,
                  "the Sentinels' event streams: events by name, failovers and their durations",
                  Needs{DI::kNone, false, true}, &NewEventsCollector},
};
}  // namespace

std::span<const CollectorSpec> AllCollectors() { return kCollectors; }

const CollectorSpec* FindCollector(std::string_view name) {
  for (const auto& spec : kCollectors) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

}  // namespace rse::collectors
