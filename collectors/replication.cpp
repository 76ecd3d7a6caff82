// `replication` collector: INFO replication from every data node. Names follow
// redis_exporter's where it has one, so its users' queries keep working.
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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
const Desc kLinkDownSince{"redis_master_link_down_since_seconds",
                          "Seconds a replica's link to its master has been down (only while it is down)."};
const Desc kSlaveInfo{"redis_slave_info", "The master a replica follows and whether it is read-only (value 1)."};

// The rest of INFO replication, as redis_exporter names it.
struct NumericField {
  const char* field;
  Desc desc;
};
const std::array kFields{
    NumericField{"repl_backlog_size",
                 {"redis_replication_backlog_bytes", "Size of the replication backlog, in bytes."}},
    NumericField{"repl_backlog_active", {"redis_repl_backlog_is_active", "1 when the replication backlog is on."}},
    NumericField{"repl_backlog_first_byte_offset",
                 {"redis_repl_backlog_first_byte_offset", "Replication offset of the backlog's first byte."}},
    NumericField{"repl_backlog_histlen",
                 {"redis_repl_backlog_history_bytes", "Bytes of replication history in the backlog."}},
    NumericField{"second_repl_offset",
                 {"redis_second_repl_offset", "Offset up to which the previous replication id is accepted."}},
    NumericField{"slave_priority", {"redis_slave_priority", "A replica's priority for promotion (0: never)."}},
};

// Every field read besides kFields', looked up with them in one pass per node (after them).
enum Extra {
  kRoleField,
  kConnectedSlavesField,
  kMasterReplOffset,
  kMasterHost,
  kMasterPort,
  kSlaveReadOnly,
  kSlaveReplOffset,
  kMasterLinkStatus,
  kMasterLastIo,
  kMasterSyncInProgress,
  kMasterLinkDownSince,
  kExtras
};
constexpr std::array<std::string_view, kExtras> kExtraNames{"role",
                                                            "connected_slaves",
                                                            "master_repl_offset",
                                                            "master_host",
                                                            "master_port",
                                                            "slave_read_only",
                                                            "slave_repl_offset",
                                                            "master_link_status",
                                                            "master_last_io_seconds_ago",
                                                            "master_sync_in_progress",
                                                            "master_link_down_since_seconds"};
constexpr size_t kExtraAt = kFields.size();

const FieldNames& Names() {
  static const FieldNames names = [] {
    std::vector<std::string_view> all;
    for (const auto& f : kFields) all.push_back(f.field);
    all.insert(all.end(), kExtraNames.begin(), kExtraNames.end());
    return FieldNames(all);
  }();
  return names;
}

class ReplicationCollector final : public Collector {
 public:
  void Collect(const Snapshot& snapshot, MetricSink& sink, std::vector<std::string>& problems) override {
    std::string where;
    for (const auto& n : snapshot.nodes) {
      if (!n.up()) continue;
      std::array<std::optional<std::string_view>, kExtraAt + kExtras> v;
      Names().Lookup(n.info, v);
      auto value = [&](Extra e) { return v[kExtraAt + e]; };
      auto number = [&](Extra e) { return NumberValue(value(e), kExtraNames[e], where, problems); };
      const auto role = value(kRoleField);
      if (!role) continue;
      const std::string label = n.label();
      where = "node " + label;
      Labels labels{{"master_name", n.master_name}, {"addr", label}};
      const bool is_master = IsPrimaryRole(*role);
      sink.Add(kRole, Labels(labels).AddPlain("role", "master"), Bool(is_master));
      sink.Add(kRole, Labels(labels).AddPlain("role", "replica"), Bool(!is_master));
      sink.AddIf(kConnectedSlaves, labels, number(kConnectedSlavesField));
      sink.AddIf(kMasterOffset, labels, number(kMasterReplOffset));
      for (size_t i = 0; i < kFields.size(); ++i) {
        sink.AddIf(kFields[i].desc, labels, NumberValue(v[i], kFields[i].field, where, problems));
      }
      if (!is_master) {
        const auto host = value(kMasterHost);
        const auto port = value(kMasterPort);
        if (host && port) {
          if (auto followed = redis::MakeAddress(*host, *port)) {
            sink.Add(kMasterAddress, With(labels, "master_address", followed->ToString()), 1);
          }
        }
        // redis_exporter's labels for the master a replica follows.
        Labels m = labels;
        m.Add("master_host", host.value_or("")).Add("master_port", port.value_or(""));
        sink.Add(kSlaveInfo, With(m, "read_only", value(kSlaveReadOnly).value_or("")), 1);
        sink.AddIf(kSlaveOffset, m, number(kSlaveReplOffset));
        if (auto link = value(kMasterLinkStatus)) sink.Add(kLinkUp, m, Bool(*link == "up"));
        sink.AddIf(kLastIo, m, number(kMasterLastIo));
        sink.AddIf(kSyncing, m, number(kMasterSyncInProgress));
        sink.AddIf(kLinkDownSince, m, number(kMasterLinkDownSince));
      }
      for (const auto& r : ParseConnectedReplicas(n.info)) {
        // redis_exporter's labels: the state is one of them, so a change of state starts a new series.
        Labels l = labels;
        l.Add("slave_ip", r.address.host)
            .AddPlain("slave_port", std::to_string(r.address.port))
            .Add("slave_state", r.state);
        sink.AddIf(kSlaveOffsetBytes, l, r.offset);
        sink.AddIf(kSlaveLag, l, r.lag_seconds);
      }
    }
  }
};

}  // namespace

std::unique_ptr<Collector> NewReplicationCollector() { return std::make_unique<ReplicationCollector>(); }

}  // namespace rse::collectors
