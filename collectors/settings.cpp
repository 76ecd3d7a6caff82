// `config` and `slowlog` collectors: what redis_exporter reads beyond INFO, under its names.
// CONFIG GET is asked only for the few settings exported (collectors/datanode.h), SLOWLOG only
// for its length and newest entry; a node whose ACL refuses either has none of these series.
#include <array>
#include <string>

#include "collectors/fields.h"
#include "collectors/registry.h"

namespace rse::collectors {
namespace {

struct Setting {
  const char* name;  // CONFIG GET name
  Desc desc;
};
const std::array kSettings{
    Setting{"maxclients", {"redis_config_maxclients", "The maxclients setting."}},
    Setting{"maxmemory", {"redis_config_maxmemory", "The maxmemory setting in bytes."}},
    Setting{"io-threads", {"redis_config_io_threads", "The io-threads setting."}},
};

const Desc kSlowlogLength{"redis_slowlog_length", "Entries in the slowlog."};
const Desc kSlowlogLastId{"redis_slowlog_last_id", "Id of the newest slowlog entry (0: empty)."};
const Desc kLastSlow{"redis_last_slow_execution_duration_seconds", "Seconds the newest slowlog entry took (0: empty)."};

Labels NodeLabels(const DataNode& n) { return Labels{{"master_name", n.master_name}, {"addr", n.label()}}; }

class ConfigCollector final : public Collector {
 public:
  void Collect(const Snapshot& snapshot, MetricSink& sink, std::vector<std::string>& problems) override {
    for (const auto& n : snapshot.nodes) {
      if (!n.up() || n.config.empty()) continue;
      const Labels labels = NodeLabels(n);
      for (const auto& s : kSettings)
        sink.AddIf(s.desc, labels, NumberField(n.config, s.name, "node " + n.label(), problems));
    }
  }
};

class SlowlogCollector final : public Collector {
 public:
  void Collect(const Snapshot& snapshot, MetricSink& sink, std::vector<std::string>&) override {
    for (const auto& n : snapshot.nodes) {
      if (!n.up() || !n.slowlog) continue;
      const Labels labels = NodeLabels(n);
      sink.Add(kSlowlogLength, labels, n.slowlog->length);
      sink.Add(kSlowlogLastId, labels, n.slowlog->last_id);
      sink.Add(kLastSlow, labels, n.slowlog->last_duration_seconds);
    }
  }
};

}  // namespace

std::unique_ptr<Collector> NewConfigCollector() { return std::make_unique<ConfigCollector>(); }
std::unique_ptr<Collector> NewSlowlogCollector() { return std::make_unique<SlowlogCollector>(); }

}  // namespace rse::collectors
