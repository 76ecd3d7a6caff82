#pragma once

// Collect orchestration: the configured topology and the /probe targets' topologies, the
// enabled collectors run over their snapshots, and the exporter's own metrics.

#include <chrono>
#include <compare>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "collectors/collector.h"
#include "exporter/config.h"
#include "exporter/discovery.h"
#include "exporter/topology.h"
#include "http/server.h"
#include "model/snapshot.h"
#include "redis/connection.h"
#include "redis/subscriber.h"

namespace rse {

// The credentials and TLS of the configuration; `needs` is left for the caller.
FetchOptions FetchOptionsFrom(const Config& config);

// Runs the enabled collectors over snapshots and adds the exporter's own metrics.
//
// Threads: every public member but SetHttpStats and Prefetch is called from the HTTP handler
// threads, concurrently; scrapes of different targets fetch and collect in parallel (the
// collectors keep no state, collectors/collector.h), scrapes of one target share its fetch
// (Topology). SetHttpStats and Prefetch are called by main before the server starts.
// Ownership: the exporter owns the subscriber, the configured topology and the /probe
// topologies; a scrape holds its probe topology by shared_ptr, so an evicted one lives until
// the scrapes using it end.
class Exporter {
 public:
  explicit Exporter(const Config& config);

  // A scrape's body: the text exposition in one piece, or one gzip member in pieces.
  struct Body {
    std::vector<std::string> pieces;
    bool gzipped = false;
  };
  // The configured topology's families plus the exporter's own (the telemetry path). With
  // `gzip_min_bytes` >= 0 (the client accepts gzip), a body the target's plan says is at least
  // that large is gzipped as it is rendered, collector by collector (collectors::MetricSink::
  // Flush), so it is never whole in memory; otherwise it is text.
  Body Metrics(std::chrono::milliseconds timeout, int gzip_min_bytes = -1);
  // The topology behind one Sentinel (the /probe endpoint), with the credentials of the first
  // --probe.config.file binding whose targets match `sentinel`, and none without one.
  Body Probe(const redis::Address& sentinel, const std::string& master, std::chrono::milliseconds timeout,
             int gzip_min_bytes = -1);
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
  // Recent events as a JSON document (the /events endpoint): the configured topology's, or with
  // `sentinel` those of the /probe target cached for it (an empty list when it is not cached:
  // this never starts a subscription). The caller checks ProbeRefused first.
  std::string EventsJson(const redis::Address* sentinel = nullptr, const std::string& master = "");

  // What the /status page shows: a snapshot from the same fetch the scrape uses (concurrent
  // callers share it; its groups are analysed, Snapshot::groups), and the topology's recent
  // events. `snapshot` is null without a topology.
  struct StatusData {
    std::shared_ptr<const collectors::Snapshot> snapshot;
    std::vector<collectors::RecordedEvent> events;
  };
  // A page view reuses a collection younger than the page's reload interval
  // (kStatusRefreshSeconds, Topology::Fetch's `reuse`).
  StatusData Status(std::chrono::milliseconds timeout);
  // The same for one /probe target (the caller checks ProbeRefused first).
  StatusData ProbeStatus(const redis::Address& sentinel, const std::string& master, std::chrono::milliseconds timeout);

 private:
  // Which /probe topology: the binding is part of it, so topologies (and their authenticated
  // connections) are never shared between bindings.
  struct ProbeKey {
    std::string binding;   // the --probe.config.file binding's name; "" for none
    std::string sentinel;  // the target, host:port
    std::string master;    // the master= parameter; "" for every group
    auto operator<=>(const ProbeKey&) const = default;
  };
  struct ProbeEntry {
    std::shared_ptr<Topology> topology;
    redis::Clock::time_point last_used;
  };

  // Each collector's families are flushed once it has run (collectors::MetricSink::Flush); one
  // that adds to a family an earlier collector wrote has a problem. `quiet`: the collectors'
  // problems are not logged (a pass that only measures the body).
  void Collect(const collectors::Snapshot& snapshot, collectors::MetricSink& sink, bool quiet = false) const;
  std::shared_ptr<Topology> ProbeTopology(const redis::Address& sentinel, const std::string& master);
  std::shared_ptr<Topology> CachedProbeTopology(const redis::Address& sentinel, const std::string& master);
  FetchOptions ProbeOptions(const ProbeBinding* binding) const;

  const Config config_;
  FetchOptions fetch_options_;  // set in the constructor, read-only after
  // Read-only after the constructor; called concurrently (stateless).
  std::vector<std::pair<std::string, std::unique_ptr<collectors::Collector>>> collectors_;
  // Declared before the topologies, so destroyed after them: they unsubscribe when destroyed.
  std::unique_ptr<redis::Subscriber> subscriber_;
  std::unique_ptr<Topology> configured_;  // null without --sentinel.addr; itself thread-safe
  // Every /probe topology's connections count against it (--probe.max-connections); thread-safe.
  const std::shared_ptr<redis::Budget> probe_sockets_;
  // Every /probe fetch's reply bytes count against it (--probe.max-reply-bytes); thread-safe.
  const std::shared_ptr<redis::Budget> probe_replies_;
  const http::ServerStats* http_stats_ = nullptr;  // set before serving, read-only after
  std::mutex probe_mu_;                            // Guards probes_ (the map; each Topology is thread-safe itself).
  std::map<ProbeKey, ProbeEntry> probes_;
};

}  // namespace rse
