// `replication` collector: INFO replication from every data node. Names follow
// redis_exporter's where it has one, so its users' queries keep working.
#include <string>

#include "collectors/fields.h"
#include "collectors/registry.h"

namespace rse::collectors {
namespace {

const Desc kRole{"redis_instance_role",
                 "The node's role from INFO replication, as a state set: one series per role, the current one 1."};
const Desc kMasterAddress{"redis_replica_master_info",
                          "The master a replica reports following in INFO replication (value 1)."};
const Desc kConnectedSlaves{"redis_connected_slaves", "Replicas connected to this node."};
const Desc kMasterOffset{"redis_master_repl_offset", "The node's replication offset (master_repl_offset)."};
const Desc kSlaveOffset{"redis_slave_repl_offset", "A replica's processed replication offset."};
const Desc kLinkUp{"redis_master_link_up", "1 when a replica's link to its master is up."};
const Desc kLastIo{"redis_master_last_io_seconds_ago",
                   "Seconds since a replica last heard from its master (-1 when the link is down)."};
const Desc kSyncing{"redis_master_sync_in_progress", "1 while a replica is syncing from its master."};
const Desc kSlaveOffsetBytes{"redis_connected_slave_offset_bytes",
                             "The offset a master last saw acknowledged by each connected replica."};
const Desc kSlaveLag{"redis_connected_slave_lag_seconds",
                     "Seconds since a master last heard from each connected replica."};

class ReplicationCollector final : public Collector {
 public:
  void Collect(const Snapshot& snapshot, MetricSink& sink, std::vector<std::string>& problems) override {
    for (const auto& n : snapshot.nodes) {
      if (!n.up) continue;
      const std::string where = "node " + n.label;
      Labels labels{{"master_name", n.master_name}, {"addr", n.label}};
      auto role = Field(n.info, "role");
      if (!role) continue;
      const bool is_master = *role == "master";
      sink.Add(kRole, With(labels, "role", "master"), Bool(is_master));
      sink.Add(kRole, With(labels, "role", "replica"), Bool(!is_master));
      sink.AddIf(kConnectedSlaves, labels, NumberField(n.info, "connected_slaves", where, problems));
      sink.AddIf(kMasterOffset, labels, NumberField(n.info, "master_repl_offset", where, problems));
      if (!is_master) {
        if (auto followed = AddressOf(n.info, "master_host", "master_port")) {
          sink.Add(kMasterAddress, With(labels, "master_address", followed->ToString()), 1);
        }
        sink.AddIf(kSlaveOffset, labels, NumberField(n.info, "slave_repl_offset", where, problems));
        if (auto link = Field(n.info, "master_link_status")) sink.Add(kLinkUp, labels, Bool(*link == "up"));
        sink.AddIf(kLastIo, labels, NumberField(n.info, "master_last_io_seconds_ago", where, problems));
        sink.AddIf(kSyncing, labels, NumberField(n.info, "master_sync_in_progress", where, problems));
      }
      for (const auto& r : ParseConnectedReplicas(n.info)) {
        Labels l = With(labels, "slave_addr", r.address.ToString());
        sink.AddIf(kSlaveOffsetBytes, l, r.offset);
        sink.AddIf(kSlaveLag, std::move(l), r.lag_seconds);
      }
    }
  }
};

}  // namespace

std::unique_ptr<Collector> NewReplicationCollector() { return std::make_unique<ReplicationCollector>(); }

}  // namespace rse::collectors
