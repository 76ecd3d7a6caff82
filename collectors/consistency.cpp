// `consistency` collector: what each Sentinel believes against what the data nodes say of
// themselves, and Sentinels of one group against each other, as numbers an alert can compare.
// Read from the replies the other collectors use (no extra round trip).
#include <array>
#include <functional>
#include <iterator>
#include <map>
#include <set>
#include <string>

#include "collectors/fields.h"
#include "collectors/registry.h"

namespace rse::collectors {
namespace {

const Desc kRoleMismatch{"redis_sentinel_role_mismatch",
                         "1 when a node's own role (INFO replication) differs from the role this Sentinel "
                         "believes it has (its master, or one of its replicas); 0 when they agree."};
const Desc kGhostReplica{"redis_sentinel_ghost_replica",
                         "1 when this Sentinel lists a replica that does not answer or follows another master "
                         "than the one this Sentinel names; 0 when the replica answers and follows it."};
const Desc kConfigValues{"redis_sentinel_config_values",
                         "Distinct values of a failover setting among the group's answering Sentinels "
                         "(1: they agree; more: configuration drift)."};
const Desc kCountValues{"redis_sentinel_count_values",
                        "Distinct counts of known replicas or Sentinels among the group's answering Sentinels "
                        "(1: they agree)."};

// The settings a failover depends on, as SENTINEL MASTER names them.
constexpr const char* kSettings[] = {"quorum", "down-after-milliseconds", "failover-timeout", "parallel-syncs"};

class ConsistencyCollector final : public Collector {
 public:
  void Collect(const Snapshot& snapshot, MetricSink& sink, std::vector<std::string>&) override {
    // Each data node's own view, by (group, address).
    std::map<std::pair<std::string_view, std::string>, const DataNode*> nodes;  // the address text is built: owned
    for (const auto& n : snapshot.nodes) nodes[{n.master_name, n.label()}] = &n;
    auto node = [&](const std::string& group, const std::string& addr) -> const DataNode* {
      auto it = nodes.find({group, addr});
      return it == nodes.end() ? nullptr : it->second;
    };

    struct Spread {
      std::array<std::set<std::string, std::less<>>, std::size(kSettings)> settings;  // values, as kSettings
      std::set<std::string, std::less<>> replicas, sentinels;                         // counts
    };
    std::map<std::string, Spread> groups;

    for (const auto& s : snapshot.sentinels) {
      if (!s.up()) continue;
      const std::string sentinel = s.label();
      for (const auto& m : s.masters) {
        Spread& spread = groups[m.name];
        for (size_t i = 0; i < std::size(kSettings); ++i) {
          if (auto v = Field(m.master, kSettings[i]); v && !spread.settings[i].contains(*v)) {
            spread.settings[i].emplace(*v);
          }
        }
        if (auto v = Field(m.master, "num-slaves"); v && !spread.replicas.contains(*v)) spread.replicas.emplace(*v);
        if (auto v = ParseNumber(Field(m.master, "num-other-sentinels").value_or(""))) {
          spread.sentinels.insert(std::to_string(static_cast<long long>(*v) + 1));  // itself included
        }

        const Labels group_labels{{"sentinel", sentinel}, {"master_name", m.name}};
        auto master = AddressOf(m.master);
        const std::string master_addr = master ? master->ToString() : "";
        // Its master: a node that answers and calls itself a replica is a mismatch.
        if (const DataNode* n = master ? node(m.name, master_addr) : nullptr; n && n->up()) {
          if (auto role = Field(n->info, "role")) {
            sink.Add(kRoleMismatch, With(group_labels, "addr", master_addr), Bool(!IsPrimaryRole(*role)));
          }
        }
        if (!m.replicas) continue;
        for (const auto& r : *m.replicas) {
          auto addr = AddressOf(r);
          if (!addr) continue;
          const std::string replica_addr = addr->ToString();
          const Labels l = With(group_labels, "addr", replica_addr);
          const DataNode* n = node(m.name, replica_addr);
          if (!n || !n->up()) {
            sink.Add(kGhostReplica, l, 1);
            continue;
          }
          auto role = Field(n->info, "role");
          if (!role) continue;
          const bool is_primary = IsPrimaryRole(*role);
          sink.Add(kRoleMismatch, l, Bool(is_primary));
          auto followed = AddressOf(n->info, "master_host", "master_port");
          // A replica that calls itself master is a role mismatch, not a ghost.
          sink.Add(kGhostReplica, l, Bool(!is_primary && (!followed || followed->ToString() != master_addr)));
        }
      }
    }
    for (const auto& [name, spread] : groups) {
      const Labels labels{{"master_name", name}};
      for (size_t i = 0; i < std::size(kSettings); ++i) {
        if (!spread.settings[i].empty()) {
          sink.Add(kConfigValues, Labels(labels).AddPlain("setting", kSettings[i]),
                   static_cast<double>(spread.settings[i].size()));
        }
      }
      if (!spread.replicas.empty()) {
        sink.Add(kCountValues, Labels(labels).AddPlain("count", "replicas"),
                 static_cast<double>(spread.replicas.size()));
      }
      if (!spread.sentinels.empty()) {
        sink.Add(kCountValues, Labels(labels).AddPlain("count", "sentinels"),
                 static_cast<double>(spread.sentinels.size()));
      }
    }
  }
};

}  // namespace

std::unique_ptr<Collector> NewConsistencyCollector() { return std::make_unique<ConsistencyCollector>(); }

}  // namespace rse::collectors
