// Per-command and per-error breakdowns of INFO, each a collector of its own so that a topology
// with many commands can switch them off: `commandstats` (calls, time, rejected and failed
// calls), `latencystats` (latency percentiles, Redis 7) and `errorstats` (errors per prefix).
// Names, types and labels are redis_exporter's.
#include <string>

#include "collectors/fields.h"
#include "collectors/registry.h"

namespace rse::collectors {
namespace {

using prometheus::MetricType;

const Desc kCalls{"redis_commands_total", "Calls per command.", MetricType::Counter};
const Desc kDuration{"redis_commands_duration_seconds_total", "Seconds spent per command.", MetricType::Counter};
const Desc kRejected{"redis_commands_rejected_calls_total",
                     "Calls per command rejected before running (unknown, ACL, OOM, ...).", MetricType::Counter};
const Desc kFailed{"redis_commands_failed_calls_total", "Calls per command that failed while running.",
                   MetricType::Counter};
const Desc kLatency{"redis_latency_percentiles_usec",
                    "Latency percentiles per command in microseconds (quantile: the percentile, 50 for p50).",
                    MetricType::Summary};
const Desc kErrors{"redis_errors_total", "Error replies per error prefix.", MetricType::Counter};

Labels NodeLabels(const DataNode& n) { return Labels{{"master_name", n.master_name}, {"addr", n.label()}}; }

class CommandStatsCollector final : public Collector {
 public:
  void Collect(const Snapshot& snapshot, MetricSink& sink, std::vector<std::string>&) override {
    for (const auto& n : snapshot.nodes) {
      if (!n.up()) continue;
      Labels l = NodeLabels(n);
      const size_t node_mark = l.size();
      for (const auto& c : ParseCommandStats(n.info)) {
        l.Truncate(node_mark);
        l.Add("cmd", c.cmd);
        sink.AddIf(kCalls, l, c.calls);
        if (c.usec) sink.Add(kDuration, l, *c.usec / 1e6);
        sink.AddIf(kRejected, l, c.rejected_calls);
        sink.AddIf(kFailed, l, c.failed_calls);
      }
    }
  }
};

class LatencyStatsCollector final : public Collector {
 public:
  void Collect(const Snapshot& snapshot, MetricSink& sink, std::vector<std::string>&) override {
    for (const auto& n : snapshot.nodes) {
      if (!n.up()) continue;
      // Count and sum come from commandstats; both lists are in command name order.
      const auto calls = ParseCommandStats(n.info);
      auto c = calls.begin();
      Labels l = NodeLabels(n);
      const size_t node_mark = l.size();
      for (const auto& lat : ParseLatencyStats(n.info)) {
        while (c != calls.end() && c->cmd < lat.cmd) ++c;
        if (c == calls.end() || c->cmd != lat.cmd || !c->calls || !c->usec) continue;
        l.Truncate(node_mark);
        l.Add("cmd", lat.cmd);
        const size_t cmd_mark = l.size();
        for (const auto& [quantile, value] : lat.percentiles) {
          l.Add("quantile", quantile);
          sink.Add(kLatency, l, value);
          l.Truncate(cmd_mark);
        }
        sink.Add(kLatency, "_sum", l, *c->usec);
        sink.Add(kLatency, "_count", l, *c->calls);
      }
    }
  }
};

class ErrorStatsCollector final : public Collector {
 public:
  void Collect(const Snapshot& snapshot, MetricSink& sink, std::vector<std::string>&) override {
    for (const auto& n : snapshot.nodes) {
      if (!n.up()) continue;
      Labels l = NodeLabels(n);
      const size_t node_mark = l.size();
      for (const auto& e : ParseErrorStats(n.info)) {
        l.Truncate(node_mark);
        l.Add("err", e.prefix);
        sink.AddIf(kErrors, l, e.count);
      }
    }
  }
};

}  // namespace

std::unique_ptr<Collector> NewCommandStatsCollector() { return std::make_unique<CommandStatsCollector>(); }
std::unique_ptr<Collector> NewLatencyStatsCollector() { return std::make_unique<LatencyStatsCollector>(); }
std::unique_ptr<Collector> NewErrorStatsCollector() { return std::make_unique<ErrorStatsCollector>(); }

}  // namespace rse::collectors
