#include "exporter/exporter.h"

#include "exporter/status_page.h"

#include <algorithm>
#include <iterator>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "collectors/registry.h"
#include "exporter/log.h"
#include "exporter/version.h"

namespace rse {

using collectors::Snapshot;

namespace {
const collectors::Desc kBuildInfo{"redis_sentinel_exporter_build_info",
                                  "The exporter's version and revision (value 1)."};
const collectors::Desc kScrapeDuration{"redis_sentinel_exporter_scrape_duration_seconds",
                                       "Seconds the last scrape of the topology took."};
const collectors::Desc kCollectorDuration{"redis_sentinel_exporter_collector_duration_seconds",
                                          "Seconds each collector took to build its metrics."};
const collectors::Desc kCollectorSuccess{"redis_sentinel_exporter_collector_success",
                                         "1 when the collector built its metrics without a problem."};
const collectors::Desc kHttpConnections{"redis_sentinel_exporter_http_connections",
                                        "HTTP connections open now, idle ones included."};
const collectors::Desc kHttpAccepted{"redis_sentinel_exporter_http_connections_accepted_total",
                                     "HTTP connections accepted.", prometheus::MetricType::Counter};
const collectors::Desc kHttpClosed{
    "redis_sentinel_exporter_http_connections_closed_total",
    "HTTP connections closed, by reason: client_closed (or done), header_timeout, "
    "idle_timeout, write_timeout, evicted (at --web.max-connections or --web.max-unsent-bytes), bad_request, "
    "tls_error, server_closed.",
    prometheus::MetricType::Counter};
const collectors::Desc kHttpRequests{"redis_sentinel_exporter_http_requests_total",
                                     "Complete HTTP requests handed to a handler.", prometheus::MetricType::Counter};
const collectors::Desc kProbeConnections{
    "redis_sentinel_exporter_probe_connections",
    "Connections all /probe targets hold open now (at most --probe.max-connections)."};
const collectors::Desc kProbeReplyBytes{
    "redis_sentinel_exporter_probe_reply_bytes",
    "Reply bytes all /probe targets hold now, until their scrapes end (at most --probe.max-reply-bytes)."};
const collectors::Desc kReplyBytes{
    "redis_sentinel_exporter_reply_bytes",
    "Reply bytes the configured topology holds now, until its scrape ends (at most --redis.max-reply-bytes)."};
const collectors::Desc kProbeSuccess{"probe_success",
                                     "1 when at least one Sentinel of the target's topology answered."};
const collectors::Desc kProbeDuration{"probe_duration_seconds", "Seconds the probe took."};

// A budget whose refusal names it: "the 4096 connections /probe targets may hold are in use".
std::shared_ptr<redis::Budget> NamedBudget(std::size_t max, const std::string& what) {
  return std::make_shared<redis::Budget>(max, "the " + std::to_string(max) + " " + what + " may hold");
}

double SecondsSince(redis::Clock::time_point start) {
  return std::chrono::duration<double>(redis::Clock::now() - start).count();
}

// A scrape's body, the families `add` renders (add(sink, measure)), laid out by the target's
// plan (collectors::MetricSink). A target's first scrape has no plan yet: `add` then runs once
// before, only to measure, so that no scrape copies its body. A body of at least
// `gzip_min_bytes` (>= 0) by the plan is gzipped flush by flush: it exists only compressed,
// and the text buffer holds one collector's families at a time. Otherwise the text is one
// buffer (the server gzips it when it is worth it, http::Gzip). The time it took is noted in
// the target's topology, which holds it back from the next scrape's fetch (ScrapeFetchDeadline).
template <typename Add>
Exporter::Body Render(Topology* topology, int gzip_min_bytes, const Add& add) {
  const auto start = redis::Clock::now();
  collectors::SizePlan* plan = topology ? &topology->plan() : nullptr;
  if (plan && plan->empty()) {
    collectors::MetricSink measure(plan, collectors::MetricSink::Mode::kMeasure);
    add(measure, true);
    measure.Take();
  }
  Exporter::Body body;
  if (plan && gzip_min_bytes >= 0 && plan->bytes() >= static_cast<size_t>(gzip_min_bytes)) {
    http::GzipStream gzip;
    if (gzip.ok()) {
      collectors::MetricSink sink(plan, collectors::MetricSink::Mode::kRender,
                                  [&gzip](std::string_view text) { gzip.Write(text); });
      add(sink, false);
      sink.Take();
      std::string error;
      // Only a broken igzip fails here, and the text is gone: the request fails (500).
      if (!gzip.Finish(body.pieces, error)) throw std::runtime_error("gzip: " + error);
      body.gzipped = true;
    }
  }
  if (!body.gzipped) {
    collectors::MetricSink sink(plan);
    add(sink, false);
    body.pieces.push_back(sink.Take());
  }
  if (topology) topology->NoteRender(redis::Clock::now() - start);
  return body;
}

constexpr size_t kMaxProbeTopologies = 256;
constexpr size_t kMaxProbeDataNodes = 1024;
constexpr auto kProbeIdle = std::chrono::minutes(10);
}  // namespace

FetchOptions FetchOptionsFrom(const Config& config) {
  FetchOptions o;
  o.redis_credentials = config.redis_credentials;
  o.group_credentials = config.group_credentials;
  o.sentinel_credentials = config.sentinel_credentials;
  o.redis_tls = config.redis_tls;
  o.sentinel_tls = config.sentinel_tls;
  o.allowed_addresses = config.redis_allowed_addresses;
  o.reply_budget = NamedBudget(config.redis_max_reply_bytes, "reply bytes the configured topology");
  return o;
}

Exporter::Exporter(const Config& config)
    : config_(config),
      fetch_options_(FetchOptionsFrom(config)),
      probe_sockets_(NamedBudget(config.probe_max_connections, "connections /probe targets")),
      probe_replies_(NamedBudget(config.probe_max_reply_bytes, "reply bytes /probe targets")) {
  for (const auto& name : config.collectors) {
    const auto* spec = collectors::FindCollector(name);
    if (!spec) continue;
    fetch_options_.needs.Merge(spec->needs);
    collectors_.emplace_back(name, spec->factory());
  }
  if (fetch_options_.needs.events) subscriber_ = std::make_unique<redis::Subscriber>();
  if (!config.sentinels.empty()) {
    configured_ =
        std::make_unique<Topology>(Target{config.sentinels, config.master_names}, fetch_options_, subscriber_.get());
  }
}

// No lock: the collectors keep no state and collectors_ is not written after construction,
// so scrapes of different targets collect at once.
void Exporter::Collect(const Snapshot& snapshot, collectors::MetricSink& sink, bool quiet) const {
  collectors::CollectReachability(snapshot, sink);
  sink.Flush();
  struct Outcome {
    const std::string* name;
    double seconds;
    bool ok;
  };
  std::vector<Outcome> outcomes;
  for (const auto& [name, collector] : collectors_) {
    auto start = redis::Clock::now();
    std::vector<std::string> problems;
    collector->Collect(snapshot, sink, problems);
    const double seconds = SecondsSince(start);  // building its metrics, not sending them on
    collectors::FlushCollector(sink, problems);
    if (!quiet) {
      for (const auto& p : problems) log::Warn("collector problem", {{"collector", name}, {"problem", p}});
    }
    outcomes.push_back({&name, seconds, problems.empty()});
  }
  // The exporter's own families after the topology's, each family in one block.
  for (const auto& o : outcomes) sink.Add(kCollectorDuration, {{"collector", *o.name}}, o.seconds);
  for (const auto& o : outcomes) sink.Add(kCollectorSuccess, {{"collector", *o.name}}, o.ok ? 1 : 0);
  sink.Flush();
}

Exporter::Body Exporter::Metrics(std::chrono::milliseconds timeout, int gzip_min_bytes) {
  auto start = redis::Clock::now();
  std::shared_ptr<const Snapshot> snapshot;
  if (configured_) snapshot = configured_->Fetch(configured_->ScrapeFetchDeadline(start, timeout));
  return Render(configured_.get(), gzip_min_bytes, [&](collectors::MetricSink& sink, bool measure) {
    if (snapshot) Collect(*snapshot, sink, measure);
    // The snapshot (every node's INFO) is freed before the body is finished and sent.
    if (!measure) snapshot.reset();
    sink.Add(kBuildInfo, {{"version", kVersion}, {"revision", kRevision}}, 1);
    sink.Add(kScrapeDuration, {}, SecondsSince(start));
    sink.Add(kProbeConnections, {}, static_cast<double>(probe_sockets_->held()));
    sink.Add(kProbeReplyBytes, {}, static_cast<double>(probe_replies_->held()));
    if (configured_) sink.Add(kReplyBytes, {}, static_cast<double>(fetch_options_.reply_budget->held()));
    if (const http::ServerStats* h = http_stats_) {
      sink.Add(kHttpConnections, {}, static_cast<double>(h->open.load(std::memory_order_relaxed)));
      sink.Add(kHttpAccepted, {}, static_cast<double>(h->accepted.load(std::memory_order_relaxed)));
      for (int r = 0; r < http::ServerStats::kCloseReasons; ++r) {
        sink.Add(kHttpClosed, {{"reason", http::ServerStats::CloseName(r)}},
                 static_cast<double>(h->closed[r].load(std::memory_order_relaxed)));
      }
      sink.Add(kHttpRequests, {}, static_cast<double>(h->requests.load(std::memory_order_relaxed)));
    }
  });
}

void Exporter::Prefetch() {
  if (!configured_) return;
  try {
    configured_->Warm(redis::Clock::now() + config_.timeout);
  } catch (const std::exception& e) {
    // Only allocation can fail here; the first scrape fetches anyway.
    log::Error("startup fetch failed", {{"err", e.what()}});
  }
}

std::string Exporter::ProbeRefused(const redis::Address& sentinel) const {
  if (config_.probe_allowed_targets.empty() || MatchesAny(config_.probe_allowed_targets, sentinel)) return {};
  return "target " + sentinel.ToString() + " is not allowed by --probe.allowed-targets";
}

// A /probe target's options: TLS and needs from the flags, credentials only from the binding
// the operator made for it (none without one), never the configured topology's.
FetchOptions Exporter::ProbeOptions(const ProbeBinding* binding) const {
  FetchOptions o = fetch_options_;
  o.redis_credentials = {};
  o.group_credentials.clear();
  o.sentinel_credentials = {};
  o.allowed_addresses.clear();
  // A caller names the target, so a caller's Sentinel names the nodes: fewer per fetch than the
  // operator's own topology may have (each is a connection kept while the target is cached).
  o.max_data_nodes = kMaxProbeDataNodes;
  o.socket_budget = probe_sockets_;
  o.reply_budget = probe_replies_;
  if (binding) {
    o.redis_credentials = binding->redis_credentials;
    o.group_credentials = binding->group_credentials;
    o.sentinel_credentials = binding->sentinel_credentials;
    o.allowed_addresses = binding->allowed_addresses;
  }
  return o;
}

std::shared_ptr<Topology> Exporter::ProbeTopology(const redis::Address& sentinel, const std::string& master) {
  const ProbeBinding* binding = config_.probe.Match(sentinel);
  std::lock_guard lock(probe_mu_);
  const auto now = redis::Clock::now();
  for (auto it = probes_.begin(); it != probes_.end();) {
    if (now - it->second.last_used > kProbeIdle) {
      it = probes_.erase(it);
    } else {
      it->second.topology->DropStaleSnapshot();
      ++it;
    }
  }
  ProbeKey key{binding ? binding->name : std::string(), sentinel.ToString(), master};
  auto it = probes_.find(key);
  if (it == probes_.end()) {
    if (probes_.size() >= kMaxProbeTopologies) {
      auto oldest = std::min_element(probes_.begin(), probes_.end(), [](const auto& a, const auto& b) {
        return a.second.last_used < b.second.last_used;
      });
      probes_.erase(oldest);
    }
    Target target{{sentinel}, master.empty() ? std::vector<std::string>{} : std::vector<std::string>{master}};
    auto topology = std::make_shared<Topology>(target, ProbeOptions(binding), subscriber_.get(), sentinel.ToString());
    it = probes_.emplace(std::move(key), ProbeEntry{std::move(topology), now}).first;
  }
  it->second.last_used = now;
  return it->second.topology;
}

Exporter::Body Exporter::Probe(const redis::Address& sentinel, const std::string& master,
                               std::chrono::milliseconds timeout, int gzip_min_bytes) {
  auto start = redis::Clock::now();
  auto topology = ProbeTopology(sentinel, master);
  auto snapshot = topology->Fetch(topology->ScrapeFetchDeadline(start, timeout));
  bool any_up =
      std::any_of(snapshot->sentinels.begin(), snapshot->sentinels.end(), [](const auto& s) { return s.up(); });
  return Render(topology.get(), gzip_min_bytes, [&](collectors::MetricSink& sink, bool measure) {
    Collect(*snapshot, sink, measure);
    if (!measure) snapshot.reset();  // as in Metrics
    sink.Add(kProbeSuccess, {}, any_up ? 1 : 0);
    sink.Add(kProbeDuration, {}, SecondsSince(start));
  });
}

Exporter::StatusData Exporter::Status(std::chrono::milliseconds timeout) {
  if (!configured_) return {};
  return {configured_->Fetch(redis::Clock::now() + timeout, std::chrono::seconds(kStatusRefreshSeconds)),
          configured_->RecentEvents()};
}

Exporter::StatusData Exporter::ProbeStatus(const redis::Address& sentinel, const std::string& master,
                                           std::chrono::milliseconds timeout) {
  auto topology = ProbeTopology(sentinel, master);
  return {topology->Fetch(redis::Clock::now() + timeout, std::chrono::seconds(kStatusRefreshSeconds)),
          topology->RecentEvents()};
}

std::shared_ptr<Topology> Exporter::CachedProbeTopology(const redis::Address& sentinel, const std::string& master) {
  const ProbeBinding* binding = config_.probe.Match(sentinel);
  std::lock_guard lock(probe_mu_);
  auto it = probes_.find(ProbeKey{binding ? binding->name : std::string(), sentinel.ToString(), master});
  return it == probes_.end() ? nullptr : it->second.topology;
}

std::string Exporter::EventsJson(const redis::Address* sentinel, const std::string& master) {
  std::shared_ptr<Topology> probe;
  if (sentinel) probe = CachedProbeTopology(*sentinel, master);
  const Topology* topology = sentinel ? probe.get() : configured_.get();
  nlohmann::json events = nlohmann::json::array();
  if (topology) {
    for (const auto& r : topology->RecentEvents()) {
      nlohmann::json e{{"time", r.time},
                       {"sentinel", r.sentinel},
                       {"event", r.event.type},
                       {"master_name", r.event.master_name},
                       {"payload", r.event.payload}};
      if (r.event.new_master) e["new_master"] = r.event.new_master->ToString();
      events.push_back(std::move(e));
    }
  }
  // Peers' text may hold any bytes: replace invalid UTF-8 rather than throw.
  return nlohmann::json{{"events", std::move(events)}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
         "\n";
}

}  // namespace rse
