#pragma once

#include <memory>
#include <string>
#include <vector>

#include "collectors/metrics.h"
#include "model/snapshot.h"

namespace rse::collectors {

// What a collector needs the scrape to fetch beyond discovery (SENTINEL MASTER(S), REPLICAS,
// SENTINELS and INFO sentinel are always fetched: discovery and reachability need them).
struct Needs {
  enum class DataInfo { kNone, kReplication, kFull };
  DataInfo data_info = DataInfo::kNone;  // INFO from every data node
  bool ckquorum = false;                 // SENTINEL CKQUORUM per (Sentinel, master)
  // INFO sections beyond the default ones, asked in the same INFO call (Redis 7 takes several).
  bool commandstats = false;
  bool latencystats = false;
  bool config = false;   // CONFIG GET of the few settings exported (collectors/datanode.h)
  bool slowlog = false;  // SLOWLOG LEN and the newest entry
  bool events = false;   // a PSUBSCRIBE * per Sentinel, kept between scrapes

  void Merge(const Needs& other) {
    if (other.data_info > data_info) data_info = other.data_info;
    ckquorum = ckquorum || other.ckquorum;
    commandstats = commandstats || other.commandstats;
    latencystats = latencystats || other.latencystats;
    config = config || other.config;
    slowlog = slowlog || other.slowlog;
    events = events || other.events;
  }
};

// Turns a snapshot into metric families. Problems (a field that should be a number and is
// not) are reported, not thrown: the collector's success metric says 0 and the scrape goes on.
// Keeps no state: one instance serves the scrapes of every target, several at once (state
// that outlives a scrape belongs to the target, as EventState does, and reaches the collector
// through the snapshot).
class Collector {
 public:
  virtual ~Collector() = default;
  virtual void Collect(const Snapshot& snapshot, MetricSink& sink, std::vector<std::string>& problems) = 0;
};

// Ends a collector's part of a scrape, called once it has run: flushes its families
// (MetricSink::Flush). Samples it added to a family an earlier collector wrote were dropped:
// each such family is one more of its problems.
void FlushCollector(MetricSink& sink, std::vector<std::string>& problems);

}  // namespace rse::collectors
