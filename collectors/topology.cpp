// `topology` collector: what the topology as a whole looks like in this scrape, derived from
// the replies the other collectors read (no extra round trip), and the failovers the target's
// event state counted (snapshot.events: the event stream and the agreed master's changes
// between scrapes, each failover once).

#include "collectors/fields.h"
#include "collectors/registry.h"
#include "model/health.h"

namespace rse::collectors {
namespace {

using prometheus::MetricType;

const Desc kMasterAddresses{"redis_sentinel_topology_master_addresses",
                            "Distinct master addresses the answering Sentinels name (1 healthy, more: they disagree)."};
const Desc kMasters{"redis_sentinel_topology_masters",
                    "Reachable data nodes reporting role:master (1 healthy, 0 no master, more: split brain)."};
const Desc kMasterInfo{"redis_sentinel_topology_master_info",
                       "The agreed master: the address most answering Sentinels name (value 1)."};
const Desc kSentinelsUp{"redis_sentinel_topology_sentinels_up", "Sentinels of the group that answered."};
const Desc kMonitoring{"redis_sentinel_topology_sentinel_monitoring",
                       "1 for each answering Sentinel that monitors the group; 0 for one its peers list that answers "
                       "but does not (they still count it as a voter)."};
const Desc kSentinelsNeeded{
    "redis_sentinel_topology_sentinels_needed",
    "Sentinels that must answer for a failover: the quorum, and a majority of the voters the Sentinels count "
    "(highest num-other-sentinels + 1) to elect its leader."};
const Desc kQuorum{"redis_sentinel_topology_quorum", "The group's quorum as the Sentinels report it (highest)."};
const Desc kReplicasLinked{"redis_sentinel_topology_replicas_linked",
                           "Reachable replicas following the agreed master with their link up."};
const Desc kReplicasPromotable{
    "redis_sentinel_topology_replicas_promotable",
    "Linked replicas of the agreed master that Sentinel could promote: replica-priority above 0, announced."};
const Desc kReplicasKnown{"redis_sentinel_topology_replicas_known",
                          "Replicas the Sentinels know for the group (highest num-slaves reported)."};
const Desc kConfigEpoch{"redis_sentinel_topology_config_epoch",
                        "Highest config-epoch any Sentinel reports; it increases with every failover."};
const Desc kLag{
    "redis_replication_lag_bytes",
    "Bytes a replica is behind, in the agreed master's view: its offset minus the replica's acknowledged one."};
const Desc kFailovers{"redis_sentinel_failovers_total",
                      "Failovers of the group, each once: seen in the Sentinels' event streams (deduplicated by "
                      "epoch) or as a change of the agreed master between scrapes.",
                      MetricType::Counter};
const Desc kLastFailover{"redis_sentinel_last_failover_timestamp_seconds",
                         "Unix time at which this exporter last saw the group fail over."};

class TopologyCollector final : public Collector {
 public:
  void Collect(const Snapshot& snapshot, MetricSink& sink, std::vector<std::string>&) override {
    std::vector<GroupHealth> analysed;  // only for a snapshot that carries no analysis
    if (!snapshot.groups) {
      analysed = AnalyzeGroups(snapshot);
      if (snapshot.events) AddGroupsSeenBefore(*snapshot.events, analysed);
    }
    const auto& groups = snapshot.groups ? *snapshot.groups : analysed;
    for (const auto& g : groups) {
      Labels labels{{"master_name", g.name}};
      if (!g.Monitored()) {  // that is all there is to say of it
        sink.Add(kSentinelsUp, labels, 0);
        AddFailovers(snapshot, g.name, labels, sink);
        continue;
      }
      sink.Add(kMasterAddresses, labels, static_cast<double>(g.master_addresses.size()));
      sink.Add(kMasters, labels, g.masters);
      if (!g.agreed_master.empty()) sink.Add(kMasterInfo, With(labels, "master_address", g.agreed_master), 1);
      sink.Add(kSentinelsUp, labels, g.sentinels_up);
      for (const auto& v : g.sentinels) sink.Add(kMonitoring, With(labels, "sentinel", v.sentinel), 1);
      for (const auto& s : g.sentinels_not_monitoring) sink.Add(kMonitoring, With(labels, "sentinel", s), 0);
      sink.AddIf(kQuorum, labels, g.quorum);
      sink.AddIf(kSentinelsNeeded, labels, g.SentinelsNeeded());
      sink.Add(kReplicasLinked, labels, g.replicas_linked);
      sink.Add(kReplicasPromotable, labels, g.replicas_promotable);
      sink.AddIf(kReplicasKnown, labels, g.replicas_known);
      sink.AddIf(kConfigEpoch, labels, g.config_epoch);
      for (const auto& n : g.nodes) {
        if (n.lag_bytes) sink.Add(kLag, With(labels, "addr", n.addr), *n.lag_bytes);
      }

      AddFailovers(snapshot, g.name, labels, sink);
    }
  }

 private:
  // The group's failover count and last failover, when the target tracks the group (it does the
  // first EventState::kMaxGroups names it sees).
  static void AddFailovers(const Snapshot& snapshot, const std::string& name, const Labels& labels, MetricSink& sink) {
    if (!snapshot.events) return;
    auto f = snapshot.events->failovers.find(name);
    if (f == snapshot.events->failovers.end()) return;  // beyond the names the target tracks
    sink.Add(kFailovers, labels, f->second.failovers);
    if (f->second.last_time > 0) sink.Add(kLastFailover, labels, f->second.last_time);
  }
};

}  // namespace

std::unique_ptr<Collector> NewTopologyCollector() { return std::make_unique<TopologyCollector>(); }

}  // namespace rse::collectors
