// `info` collector: every per-node family redis_exporter builds from the default INFO sections
// (server, clients, memory, persistence, stats, CPU, cluster, keyspace), under its names, types
// and labels, plus `master_name` and `addr`. INFO replication's families are the replication
// collector's; commandstats, latencystats and errorstats have collectors of their own.
#include <array>
#include <charconv>
#include <cmath>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/fields.h"
#include "collectors/registry.h"

namespace rse::collectors {
namespace {

using prometheus::MetricType;
constexpr auto kCounter = MetricType::Counter;

struct NumericField {
  const char* field;  // INFO field
  Desc desc;
  double scale = 1.0;
};

// redis_exporter's names and types, including its gauges for some counters (defrag_hits,
// replica_resyncs_full, ...): a query written for it must keep working here.
const std::array kFields{
    // Server
    NumericField{"uptime_in_seconds", {"redis_uptime_in_seconds", "Seconds since the node started."}},
    NumericField{"process_id", {"redis_process_id", "The node's process id."}},
    NumericField{"io_threads_active", {"redis_io_threads_active", "1 when I/O threads are active."}},
    // Clients
    NumericField{"connected_clients", {"redis_connected_clients", "Client connections (replicas excluded)."}},
    NumericField{"blocked_clients", {"redis_blocked_clients", "Clients blocked in a blocking call."}},
    NumericField{"tracking_clients", {"redis_tracking_clients", "Clients with client-side caching tracking on."}},
    NumericField{"clients_in_timeout_table", {"redis_clients_in_timeout_table", "Blocked clients with a timeout."}},
    NumericField{"cluster_connections", {"redis_cluster_connections", "Sockets of the cluster bus."}},
    NumericField{"client_recent_max_input_buffer",
                 {"redis_client_recent_max_input_buffer_bytes", "Largest client input buffer lately, in bytes."}},
    NumericField{"client_recent_max_output_buffer",
                 {"redis_client_recent_max_output_buffer_bytes", "Largest client output buffer lately, in bytes."}},
    // Memory
    NumericField{"used_memory", {"redis_memory_used_bytes", "Memory allocated by Redis, in bytes."}},
    NumericField{"used_memory_rss", {"redis_memory_used_rss_bytes", "Resident memory of the process, in bytes."}},
    NumericField{"used_memory_peak", {"redis_memory_used_peak_bytes", "Peak of used memory, in bytes."}},
    NumericField{"used_memory_lua", {"redis_memory_used_lua_bytes", "Memory of the Lua engine, in bytes."}},
    NumericField{"used_memory_overhead",
                 {"redis_memory_used_overhead_bytes", "Memory for internal structures, in bytes."}},
    NumericField{"used_memory_startup", {"redis_memory_used_startup_bytes", "Memory used at startup, in bytes."}},
    NumericField{"used_memory_dataset", {"redis_memory_used_dataset_bytes", "Memory of the dataset, in bytes."}},
    NumericField{"used_memory_scripts", {"redis_memory_used_scripts_bytes", "Memory of cached scripts, in bytes."}},
    NumericField{"maxmemory",
                 {"redis_memory_max_bytes", "The maxmemory setting in bytes (0: no limit, so no ratio to it)."}},
    NumericField{"mem_fragmentation_ratio", {"redis_mem_fragmentation_ratio", "Resident memory over used memory."}},
    NumericField{"mem_fragmentation_bytes",
                 {"redis_mem_fragmentation_bytes", "Resident memory minus used memory, in bytes."}},
    NumericField{"mem_clients_slaves", {"redis_mem_clients_slaves", "Memory of replica clients, in bytes."}},
    NumericField{"mem_clients_normal", {"redis_mem_clients_normal", "Memory of normal clients, in bytes."}},
    NumericField{"mem_not_counted_for_evict",
                 {"redis_mem_not_counted_for_eviction_bytes", "Memory not counted for eviction, in bytes."}},
    NumericField{"allocator_allocated", {"redis_allocator_allocated_bytes", "Bytes allocated by the allocator."}},
    NumericField{"allocator_active", {"redis_allocator_active_bytes", "Bytes in the allocator's active pages."}},
    NumericField{"allocator_resident", {"redis_allocator_resident_bytes", "Bytes resident in the allocator."}},
    NumericField{"allocator_frag_ratio", {"redis_allocator_frag_ratio", "Allocator active over allocated."}},
    NumericField{"allocator_frag_bytes", {"redis_allocator_frag_bytes", "Allocator active minus allocated."}},
    NumericField{"allocator_rss_ratio", {"redis_allocator_rss_ratio", "Allocator resident over active."}},
    NumericField{"allocator_rss_bytes", {"redis_allocator_rss_bytes", "Allocator resident minus active."}},
    NumericField{"lazyfree_pending_objects",
                 {"redis_lazyfree_pending_objects", "Objects waiting to be freed in the background."}},
    NumericField{"active_defrag_running", {"redis_active_defrag_running", "Active defragmentation CPU share."}},
    NumericField{"number_of_cached_scripts", {"redis_number_of_cached_scripts", "Scripts in the script cache."}},
    // Persistence
    NumericField{"loading", {"redis_loading_dump_file", "1 while the node loads its dump file."}},
    NumericField{"rdb_changes_since_last_save",
                 {"redis_rdb_changes_since_last_save", "Changes since the last RDB save."}},
    NumericField{"rdb_bgsave_in_progress", {"redis_rdb_bgsave_in_progress", "1 while an RDB save runs."}},
    NumericField{"rdb_last_save_time",
                 {"redis_rdb_last_save_timestamp_seconds", "Unix time of the last successful RDB save."}},
    NumericField{"rdb_last_bgsave_time_sec",
                 {"redis_rdb_last_bgsave_duration_sec", "Seconds the last RDB save took (-1: none yet)."}},
    NumericField{"rdb_current_bgsave_time_sec",
                 {"redis_rdb_current_bgsave_duration_sec", "Seconds the running RDB save has taken (-1: none)."}},
    NumericField{"rdb_last_cow_size", {"redis_rdb_last_cow_size_bytes", "Copy-on-write bytes of the last RDB save."}},
    NumericField{"aof_enabled", {"redis_aof_enabled", "1 when the append-only file is on."}},
    NumericField{"aof_rewrite_in_progress", {"redis_aof_rewrite_in_progress", "1 while an AOF rewrite runs."}},
    NumericField{"aof_rewrite_scheduled",
                 {"redis_aof_rewrite_scheduled", "1 when an AOF rewrite waits for an RDB save to end."}},
    NumericField{"aof_last_rewrite_time_sec",
                 {"redis_aof_last_rewrite_duration_sec", "Seconds the last AOF rewrite took (-1: none yet)."}},
    NumericField{"aof_current_rewrite_time_sec",
                 {"redis_aof_current_rewrite_duration_sec", "Seconds the running AOF rewrite has taken (-1: none)."}},
    NumericField{"aof_last_cow_size",
                 {"redis_aof_last_cow_size_bytes", "Copy-on-write bytes of the last AOF rewrite."}},
    NumericField{"aof_current_size", {"redis_aof_current_size_bytes", "Size of the append-only file, in bytes."}},
    NumericField{"aof_base_size",
                 {"redis_aof_base_size_bytes", "Size of the append-only file at the last rewrite, in bytes."}},
    NumericField{"aof_pending_rewrite", {"redis_aof_pending_rewrite", "1 when an AOF rewrite is pending."}},
    NumericField{"aof_buffer_length", {"redis_aof_buffer_length", "Size of the AOF buffer."}},
    NumericField{"aof_rewrite_buffer_length", {"redis_aof_rewrite_buffer_length", "Size of the AOF rewrite buffer."}},
    NumericField{"aof_pending_bio_fsync", {"redis_aof_pending_bio_fsync", "fsync jobs waiting in the background."}},
    NumericField{"aof_delayed_fsync", {"redis_aof_delayed_fsync", "Delayed fsync calls."}},
    NumericField{"module_fork_in_progress", {"redis_module_fork_in_progress", "1 while a module's fork runs."}},
    NumericField{"module_fork_last_cow_size",
                 {"redis_module_fork_last_cow_size", "Copy-on-write bytes of the last module fork."}},
    // Stats
    NumericField{"total_connections_received", {"redis_connections_received_total", "Connections accepted.", kCounter}},
    NumericField{"rejected_connections",
                 {"redis_rejected_connections_total", "Connections rejected (maxclients).", kCounter}},
    NumericField{"total_commands_processed", {"redis_commands_processed_total", "Commands processed.", kCounter}},
    NumericField{"total_net_input_bytes", {"redis_net_input_bytes_total", "Bytes read from the network.", kCounter}},
    NumericField{"total_net_output_bytes", {"redis_net_output_bytes_total", "Bytes written to the network.", kCounter}},
    NumericField{"expired_keys", {"redis_expired_keys_total", "Keys expired.", kCounter}},
    NumericField{"evicted_keys", {"redis_evicted_keys_total", "Keys evicted because of maxmemory.", kCounter}},
    NumericField{"keyspace_hits", {"redis_keyspace_hits_total", "Successful key lookups.", kCounter}},
    NumericField{"keyspace_misses", {"redis_keyspace_misses_total", "Failed key lookups.", kCounter}},
    NumericField{"expired_stale_perc",
                 {"redis_expired_stale_percentage", "Estimated share of keys expired but not yet removed."}},
    NumericField{"expired_time_cap_reached_count",
                 {"redis_expired_time_cap_reached_total", "Expiry cycles stopped by their time limit."}},
    NumericField{"migrate_cached_sockets", {"redis_migrate_cached_sockets_total", "Sockets open for MIGRATE."}},
    NumericField{"active_defrag_hits", {"redis_defrag_hits", "Values moved by active defragmentation."}},
    NumericField{"active_defrag_misses", {"redis_defrag_misses", "Values active defragmentation skipped."}},
    NumericField{"active_defrag_key_hits", {"redis_defrag_key_hits", "Keys defragmented."}},
    NumericField{"active_defrag_key_misses", {"redis_defrag_key_misses", "Keys active defragmentation skipped."}},
    NumericField{"pubsub_channels", {"redis_pubsub_channels", "Pub/sub channels with subscribers."}},
    NumericField{"pubsub_patterns", {"redis_pubsub_patterns", "Pub/sub patterns with subscribers."}},
    NumericField{"latest_fork_usec", {"redis_latest_fork_seconds", "Seconds the latest fork took."}, 1e-6},
    NumericField{"sync_full", {"redis_replica_resyncs_full", "Full resyncs this node served to replicas (a counter)."}},
    NumericField{"sync_partial_ok",
                 {"redis_replica_partial_resync_accepted", "Partial resyncs this node accepted (a counter)."}},
    NumericField{"sync_partial_err",
                 {"redis_replica_partial_resync_denied", "Partial resyncs this node denied (a counter)."}},
    NumericField{"slave_expires_tracked_keys",
                 {"redis_slave_expires_tracked_keys", "Keys a writable replica tracks for expiry."}},
    NumericField{"tracking_total_keys", {"redis_tracking_total_keys", "Keys tracked for client-side caching."}},
    NumericField{"tracking_total_items", {"redis_tracking_total_items", "Items tracked for client-side caching."}},
    NumericField{"tracking_total_prefixes",
                 {"redis_tracking_total_prefixes", "Prefixes tracked for client-side caching."}},
    NumericField{"unexpected_error_replies",
                 {"redis_unexpected_error_replies", "Unexpected error replies (AOF load, replication).", kCounter}},
    NumericField{"total_error_replies", {"redis_total_error_replies", "Error replies sent.", kCounter}},
    NumericField{"dump_payload_sanitizations",
                 {"redis_dump_payload_sanitizations", "Deep integrity checks of RESTORE payloads.", kCounter}},
    NumericField{"total_reads_processed", {"redis_total_reads_processed", "Read events processed.", kCounter}},
    NumericField{"total_writes_processed", {"redis_total_writes_processed", "Write events processed.", kCounter}},
    NumericField{"io_threaded_reads_processed",
                 {"redis_io_threaded_reads_processed", "Reads processed by I/O threads.", kCounter}},
    NumericField{"io_threaded_writes_processed",
                 {"redis_io_threaded_writes_processed", "Writes processed by I/O threads.", kCounter}},
    // CPU
    NumericField{"used_cpu_sys", {"redis_cpu_sys_seconds_total", "System CPU seconds.", kCounter}},
    NumericField{"used_cpu_user", {"redis_cpu_user_seconds_total", "User CPU seconds.", kCounter}},
    NumericField{"used_cpu_sys_children",
                 {"redis_cpu_sys_children_seconds_total", "System CPU seconds of child processes.", kCounter}},
    NumericField{"used_cpu_user_children",
                 {"redis_cpu_user_children_seconds_total", "User CPU seconds of child processes.", kCounter}},
    NumericField{"used_cpu_sys_main_thread",
                 {"redis_cpu_sys_main_thread_seconds_total", "System CPU seconds of the main thread.", kCounter}},
    NumericField{"used_cpu_user_main_thread",
                 {"redis_cpu_user_main_thread_seconds_total", "User CPU seconds of the main thread.", kCounter}},
    // Cluster
    NumericField{"cluster_enabled", {"redis_cluster_enabled", "1 when cluster mode is on."}},
};

// "ok" fields: 1 when the last operation succeeded.
struct StatusField {
  const char* field;
  Desc desc;
};
const std::array kStatusFields{
    StatusField{"rdb_last_bgsave_status", {"redis_rdb_last_bgsave_status", "1 when the last RDB save succeeded."}},
    StatusField{"aof_last_bgrewrite_status",
                {"redis_aof_last_bgrewrite_status", "1 when the last AOF rewrite succeeded."}},
    StatusField{"aof_last_write_status",
                {"redis_aof_last_write_status", "1 when the last write to the AOF succeeded (0: disk full?)."}},
};

const Desc kStartTime{"redis_start_time_seconds", "Unix time the node started."};
const Desc kDbKeys{"redis_db_keys", "Keys per database."};
const Desc kDbExpiring{"redis_db_keys_expiring", "Keys with an expiry per database."};
const Desc kDbAvgTtl{"redis_db_avg_ttl_seconds", "Average time to live of the keys with an expiry, per database."};
const Desc kInstanceInfo{"redis_instance_info",
                         "The node's server, version, mode and identity as labels (value 1). On Valkey, "
                         "valkey_version is the real version; redis_version the Redis it is compatible with."};

// Every INFO field the collector reads, looked up in one pass per node: kFields' fields, then
// kStatusFields', then these.
enum Extra {
  kServerTimeUsec,
  kUptime,
  kRole,
  kRedisVersion,
  kRedisBuildId,
  kRedisMode,
  kServerMode,
  kOs,
  kMaxmemoryPolicy,
  kTcpPort,
  kRunId,
  kProcessId,
  kValkeyVersion,
  kExtras
};
constexpr std::array<std::string_view, kExtras> kExtraNames{
    "server_time_usec", "uptime_in_seconds", "role",        "redis_version",
    "redis_build_id",   "redis_mode",        "server_mode", "os",
    "maxmemory_policy", "tcp_port",          "run_id",      "process_id",
    "valkey_version"};
constexpr size_t kStatusAt = kFields.size();
constexpr size_t kExtraAt = kStatusAt + kStatusFields.size();
using Values = std::array<std::optional<std::string_view>, kExtraAt + kExtras>;

const FieldNames& Names() {
  static const FieldNames names = [] {
    std::vector<std::string_view> all;
    for (const auto& f : kFields) all.push_back(f.field);
    for (const auto& f : kStatusFields) all.push_back(f.field);
    all.insert(all.end(), kExtraNames.begin(), kExtraNames.end());
    return FieldNames(all);
  }();
  return names;
}

// redis_exporter reports every database below `databases` (16 when unknown), empty ones as 0.
constexpr int kDefaultDatabases = 16;
constexpr int kMaxDatabases = 1024;  // a bound on series, whatever CONFIG says

class InfoCollector final : public Collector {
 public:
  void Collect(const Snapshot& snapshot, MetricSink& sink, std::vector<std::string>& problems) override {
    for (const auto& n : snapshot.nodes) {
      if (!n.up()) continue;
      const std::string label = n.label();
      const std::string where = "node " + label;
      Labels labels{{"master_name", n.master_name}, {"addr", label}};
      Values v;
      Names().Lookup(n.info, v);
      AddInstanceInfo(v, labels, sink);
      for (size_t i = 0; i < kFields.size(); ++i) {
        const auto& f = kFields[i];
        sink.AddIf(f.desc, labels, NumberValue(v[i], f.field, where, problems, f.scale));
      }
      for (size_t i = 0; i < kStatusFields.size(); ++i) {
        if (auto s = v[kStatusAt + i]) sink.Add(kStatusFields[i].desc, labels, Bool(*s == "ok"));
      }
      auto now_us = NumberValue(v[kExtraAt + kServerTimeUsec], kExtraNames[kServerTimeUsec], where, problems);
      auto uptime = NumberValue(v[kExtraAt + kUptime], kExtraNames[kUptime], where, problems);
      if (now_us && uptime) sink.Add(kStartTime, labels, std::floor(*now_us / 1e6) - *uptime);
      AddKeyspace(n, labels, sink);
    }
  }

 private:
  static void AddInstanceInfo(const Values& v, const Labels& labels, MetricSink& sink) {
    auto get = [&](Extra e) { return v[kExtraAt + e].value_or(""); };
    // ServerMode: redis_mode, or Valkey 8's server_mode.
    const auto mode = v[kExtraAt + kRedisMode] ? v[kExtraAt + kRedisMode] : v[kExtraAt + kServerMode];
    Labels l = labels;
    l.Add("role", get(kRole))
        .Add("redis_version", get(kRedisVersion))
        .Add("redis_build_id", get(kRedisBuildId))
        .Add("redis_mode", mode.value_or(""))
        .Add("os", get(kOs))
        .Add("maxmemory_policy", get(kMaxmemoryPolicy))
        .Add("tcp_port", get(kTcpPort))
        .Add("run_id", get(kRunId))
        .Add("process_id", get(kProcessId));
    if (auto valkey = v[kExtraAt + kValkeyVersion]) l.Add("valkey_version", *valkey);
    sink.Add(kInstanceInfo, l, 1);
  }

  static void AddKeyspace(const DataNode& n, const Labels& labels, MetricSink& sink) {
    int databases = kDefaultDatabases;
    if (auto configured = Field(n.config, "databases")) {
      if (auto v = ParseNumber(*configured); v && *v >= 0)
        databases = static_cast<int>(std::min<double>(*v, kMaxDatabases));
    }
    std::vector<bool> seen(static_cast<size_t>(databases), false);
    Labels l = labels;
    const size_t node_mark = l.size();
    for (const auto& db : ParseKeyspace(n.info)) {
      l.Truncate(node_mark);
      l.Add("db", db.db);
      sink.AddIf(kDbKeys, l, db.keys);
      sink.AddIf(kDbExpiring, l, db.expires);
      if (db.avg_ttl_ms) sink.Add(kDbAvgTtl, l, *db.avg_ttl_ms / 1000);
      if (auto index = ParseNumber(std::string_view(db.db).substr(2)); index && *index >= 0 && *index < databases) {
        seen[static_cast<size_t>(*index)] = true;
      }
    }
    char name[16];
    for (int i = 0; i < databases; ++i) {
      if (seen[static_cast<size_t>(i)]) continue;
      l.Truncate(node_mark);
      name[0] = 'd';
      name[1] = 'b';
      auto end = std::to_chars(name + 2, name + sizeof(name), i).ptr;
      l.AddPlain("db", std::string_view(name, static_cast<size_t>(end - name)));
      sink.Add(kDbKeys, l, 0);
      sink.Add(kDbExpiring, l, 0);
    }
  }
};

}  // namespace

std::unique_ptr<Collector> NewInfoCollector() { return std::make_unique<InfoCollector>(); }

}  // namespace rse::collectors
