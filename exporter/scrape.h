#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "collectors/collector.h"
#include "collectors/snapshot.h"
#include "exporter/config.h"
#include "exporter/discovery.h"
#include "http/server.h"
#include "redis/connection.h"
#include "redis/subscriber.h"

namespace rse {

namespace detail {
class ConnectionPool;
}

// The credentials and TLS of the configuration; `needs` is left for the caller.
FetchOptions FetchOptionsFrom(const Config& config);

// Fetches one topology: discovery through the Sentinels and every data node they name, all
// nodes concurrently under one deadline, each node asked as soon as a reply names it. Keeps
// its connections open between fetches.
// Thread-safe: concurrent callers share the fetch already under way instead of starting another.
class Topology {
 public:
  // With a `subscriber` (which must outlive the topology), every Sentinel the topology knows
  // (configured and discovered) keeps an event subscription while the topology lives.
  Topology(Target target, FetchOptions options, redis::Subscriber* subscriber = nullptr);
  ~Topology();
  Topology(const Topology&) = delete;
  Topology& operator=(const Topology&) = delete;

  std::shared_ptr<const collectors::Snapshot> Fetch(redis::Deadline deadline);
  // A fetch no caller shares: the one at startup, so that a scrape arriving meanwhile waits
  // for it to end and then asks every node itself, never answering with data from before it.
  void Warm(redis::Deadline deadline);
  // New TCP connections opened so far (tests and benchmarks).
  std::uint64_t connects() const;
  // Whether a fetch has completed, whatever it found.
  bool fetched() const { return fetched_.load(); }
  // The events received, newest last (the /events endpoint).
  std::vector<collectors::RecordedEvent> RecentEvents() const;

 private:
  std::shared_ptr<const collectors::Snapshot> FetchLocked(redis::Deadline deadline);
  void LogChanges(const collectors::Snapshot& snapshot);

  const Target target_;
  const FetchOptions options_;
  mutable std::mutex fetch_mu_;  // one fetch at a time uses the pool
  std::mutex share_mu_;
  std::shared_ptr<struct InFlight> in_flight_;
  std::shared_ptr<detail::ConnectionPool> pool_;
  std::map<std::string, std::string> last_error_;  // node key -> last logged cause
  std::atomic<bool> fetched_{false};
  redis::Subscriber* subscriber_;
  // Failovers and events: outlives scrapes, dies with the topology.
  std::shared_ptr<collectors::EventState> events_;
  std::shared_ptr<redis::Subscriber::Sink> event_sink_;
};

// Runs the enabled collectors over snapshots and adds the exporter's own metrics.
class Exporter {
 public:
  explicit Exporter(const Config& config);

  // The configured topology's families plus the exporter's own (the telemetry path), as
  // text exposition blocks (collectors::MetricSink::Take).
  std::vector<std::string> Metrics(std::chrono::milliseconds timeout);
  // The topology behind one Sentinel (the /probe endpoint), with the credentials of the first
  // --probe.config.file binding whose targets match `sentinel`, and none without one.
  std::vector<std::string> Probe(const redis::Address& sentinel, const std::string& master,
                                 std::chrono::milliseconds timeout);
  // Why /probe must refuse `sentinel` (HTTP 403, this as the body); empty when it may probe it.
  std::string ProbeRefused(const redis::Address& sentinel) const;
  // /-/ready: true once the configured topology has been fetched once (whatever it found: a
  // Sentinel being down is what the metrics are for), or at once without one.
  bool Ready() const { return !configured_ || configured_->fetched(); }
  // One fetch of the configured topology (at startup, so readiness does not wait for a scrape).
  void Prefetch();
  // The HTTP front's counters, rendered with the exporter's own metrics. Must outlive this.
  void SetHttpStats(const http::ServerStats* stats) { http_stats_ = stats; }

  const Config& config() const { return config_; }
  // The configured topology's recent events as a JSON document (the /events endpoint).
  std::string EventsJson() const;

  // What the /status page shows: a snapshot from the same fetch the scrape uses (concurrent
  // callers share it), and the topology's recent events. `snapshot` is null without a topology.
  struct StatusData {
    std::shared_ptr<const collectors::Snapshot> snapshot;
    std::vector<collectors::RecordedEvent> events;
  };
  StatusData Status(std::chrono::milliseconds timeout);
  // The same for one /probe target (the caller checks ProbeRefused first).
  StatusData ProbeStatus(const redis::Address& sentinel, const std::string& master, std::chrono::milliseconds timeout);

 private:
  void Collect(const collectors::Snapshot& snapshot, collectors::MetricSink& sink);
  std::shared_ptr<Topology> ProbeTopology(const redis::Address& sentinel, const std::string& master);
  FetchOptions ProbeOptions(const ProbeBinding* binding) const;

  Config config_;
  FetchOptions fetch_options_;
  std::vector<std::pair<std::string, std::unique_ptr<collectors::Collector>>> collectors_;
  // Declared before the topologies: it must outlive them (they unsubscribe when destroyed).
  std::unique_ptr<redis::Subscriber> subscriber_;
  std::mutex collect_mu_;  // collectors may keep state between scrapes
  std::unique_ptr<Topology> configured_;
  const http::ServerStats* http_stats_ = nullptr;
  std::mutex probe_mu_;
  using ProbeKey = std::tuple<std::string, std::string, std::string>;  // binding, sentinel, master
  std::map<ProbeKey, std::pair<std::shared_ptr<Topology>, redis::Clock::time_point>> probes_;
};

}  // namespace rse
