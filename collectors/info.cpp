// `info` collector: the INFO fields dashboards need from every data node (clients, memory,
// commands, keys, uptime, persistence), under redis_exporter's names.
#include <array>
#include <string>

#include "collectors/fields.h"
#include "collectors/registry.h"

namespace rse::collectors {
namespace {

using prometheus::MetricType;

struct NumericField {
  const char* field;  // INFO field
  Desc desc;
};

const std::array kFields{
    NumericField{"uptime_in_seconds", {"redis_uptime_in_seconds", "Seconds since the node started."}},
    NumericField{"connected_clients", {"redis_connected_clients", "Client connections (replicas excluded)."}},
    NumericField{"blocked_clients", {"redis_blocked_clients", "Clients blocked in a blocking call."}},
    NumericField{"used_memory", {"redis_memory_used_bytes", "Memory allocated by Redis, in bytes."}},
    NumericField{"used_memory_rss", {"redis_memory_used_rss_bytes", "Resident memory of the process, in bytes."}},
    NumericField{"maxmemory",
                 {"redis_memory_max_bytes", "The maxmemory setting in bytes (0: no limit, so no ratio to it)."}},
    NumericField{"total_connections_received",
                 {"redis_connections_received_total", "Connections accepted.", MetricType::Counter}},
    NumericField{"rejected_connections",
                 {"redis_rejected_connections_total", "Connections rejected (maxclients).", MetricType::Counter}},
    NumericField{"total_commands_processed",
                 {"redis_commands_processed_total", "Commands processed.", MetricType::Counter}},
    NumericField{"total_net_input_bytes",
                 {"redis_net_input_bytes_total", "Bytes read from the network.", MetricType::Counter}},
    NumericField{"total_net_output_bytes",
                 {"redis_net_output_bytes_total", "Bytes written to the network.", MetricType::Counter}},
    NumericField{"expired_keys", {"redis_expired_keys_total", "Keys expired.", MetricType::Counter}},
    NumericField{"evicted_keys",
                 {"redis_evicted_keys_total", "Keys evicted because of maxmemory.", MetricType::Counter}},
    NumericField{"keyspace_hits", {"redis_keyspace_hits_total", "Successful key lookups.", MetricType::Counter}},
    NumericField{"keyspace_misses",
                 {"redis_keyspace_misses_total", "Failed key lookups.", MetricType::Counter}},
    NumericField{"rdb_changes_since_last_save",
                 {"redis_rdb_changes_since_last_save", "Changes since the last RDB save."}},
    NumericField{"rdb_bgsave_in_progress", {"redis_rdb_bgsave_in_progress", "1 while an RDB save runs."}},
    NumericField{"rdb_last_save_time",
                 {"redis_rdb_last_save_timestamp_seconds", "Unix time of the last successful RDB save."}},
    NumericField{"aof_enabled", {"redis_aof_enabled", "1 when the append-only file is on."}},
    NumericField{"aof_rewrite_in_progress", {"redis_aof_rewrite_in_progress", "1 while an AOF rewrite runs."}},
};

const Desc kBgsaveOk{"redis_rdb_last_bgsave_status", "1 when the last RDB save succeeded."};
const Desc kAofRewriteOk{"redis_aof_last_bgrewrite_status", "1 when the last AOF rewrite succeeded."};
const Desc kDbKeys{"redis_db_keys", "Keys per database."};
const Desc kDbExpiring{"redis_db_keys_expiring", "Keys with an expiry per database."};
const Desc kInstanceInfo{"redis_instance_info", "The node's Redis version (value 1)."};

class InfoCollector final : public Collector {
 public:
  void Collect(const Snapshot& snapshot, MetricSink& sink, std::vector<std::string>& problems) override {
    for (const auto& n : snapshot.nodes) {
      if (!n.up) continue;
      const std::string where = "node " + n.label;
      Labels labels{{"master_name", n.master_name}, {"addr", n.label}};
      if (auto version = Field(n.info, "redis_version")) {
        sink.Add(kInstanceInfo, With(labels, "redis_version", std::string(*version)), 1);
      }
      for (const auto& f : kFields) sink.AddIf(f.desc, labels, NumberField(n.info, f.field, where, problems));
      if (auto s = Field(n.info, "rdb_last_bgsave_status")) sink.Add(kBgsaveOk, labels, Bool(*s == "ok"));
      if (auto s = Field(n.info, "aof_last_bgrewrite_status")) sink.Add(kAofRewriteOk, labels, Bool(*s == "ok"));
      for (const auto& db : ParseKeyspace(n.info)) {
        Labels l = With(labels, "db", db.db);
        sink.AddIf(kDbKeys, l, db.keys);
        sink.AddIf(kDbExpiring, std::move(l), db.expires);
      }
    }
  }
};

}  // namespace

std::unique_ptr<Collector> NewInfoCollector() { return std::make_unique<InfoCollector>(); }

}  // namespace rse::collectors
