#include "exporter/scrape.h"

#include <algorithm>
#include <condition_variable>
#include <iterator>
#include <tuple>

#include <nlohmann/json.hpp>

#include "collectors/events.h"
#include "collectors/health.h"
#include "collectors/registry.h"
#include "exporter/log.h"
#include "version.h"

namespace rse {

using collectors::Snapshot;
using redis::Address;
using redis::Status;

namespace detail {

// Connections kept open between fetches, one per (kind, address, group): a node named in two
// groups (a misconfiguration, but possible) is asked twice, each on its own connection.
// Entries a fetch did not use are closed at its end, so nodes that left the topology do not
// keep sockets open.
class ConnectionPool {
 public:
  enum Kind { kSentinel, kData };

  redis::Connection* Get(Kind kind, const Address& addr, const redis::Credentials& creds,
                         const std::shared_ptr<const redis::TlsContext>& tls, const std::string& group = {}) {
    auto& e = entries_[{kind, addr, group}];
    if (!e.conn) e.conn = std::make_unique<redis::Connection>(addr, creds, tls);
    e.used = true;
    return e.conn.get();
  }
  void DropUnused() {
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (!it->second.used) {
        closed_connects_ += it->second.conn->connects();
        it = entries_.erase(it);
      } else {
        it->second.used = false;
        ++it;
      }
    }
  }
  std::uint64_t Connects() const {
    std::uint64_t n = closed_connects_;
    for (const auto& [k, e] : entries_) n += e.conn->connects();
    return n;
  }

 private:
  struct Entry {
    std::unique_ptr<redis::Connection> conn;
    bool used = false;
  };
  std::map<std::tuple<Kind, Address, std::string>, Entry> entries_;
  std::uint64_t closed_connects_ = 0;  // connects of connections already dropped
};

}  // namespace detail

using detail::ConnectionPool;

struct InFlight {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::shared_ptr<const Snapshot> result;
};

namespace {

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Events into the target's state, and one log line each. Runs on the subscriber's thread.
class EventSink : public redis::Subscriber::Sink {
 public:
  explicit EventSink(std::shared_ptr<collectors::EventState> state) : state_(std::move(state)) {}

  void OnState(const Address& address, bool up, const Status& why) override {
    const std::string label = address.ToString();
    state_->SetStreamUp(label, up);
    std::string state = up ? "up" : std::string(redis::CauseName(why.cause)) + ": " + why.message;
    std::lock_guard lock(mu_);
    auto& last = last_state_[label];
    if (last == state) return;  // a Sentinel that stays down is not logged on every retry
    last = state;
    if (up) {
      log::Info("event stream subscribed", {{"sentinel", label}});
    } else {
      log::Warn("event stream down; the Sentinel is still polled",
                {{"sentinel", label}, {"cause", redis::CauseName(why.cause)}, {"err", why.message}});
    }
  }

  void OnMessage(const Address& address, const redis::Reply& reply) override {
    auto message = collectors::ParsePubSubMessage(reply);
    if (!message) return;
    auto event = collectors::ParseEvent(message->first, message->second);
    const std::string label = address.ToString();
    log::Write(collectors::IsWarningEvent(event.type) ? spdlog::level::warn : spdlog::level::info, "sentinel event",
               {{"sentinel", label}, {"event", event.type}, {"master_name", event.master_name},
                {"payload", event.payload}});
    state_->Record(label, std::move(event), UnixNow(), redis::Clock::now());
  }

 private:
  std::shared_ptr<collectors::EventState> state_;
  std::mutex mu_;
  std::map<std::string, std::string> last_state_;
};

}  // namespace

Topology::Topology(Target target, FetchOptions options, redis::Subscriber* subscriber)
    : target_(std::move(target)),
      options_(std::move(options)),
      pool_(std::make_shared<ConnectionPool>()),
      subscriber_(subscriber),
      events_(std::make_shared<collectors::EventState>()) {
  if (subscriber_) event_sink_ = std::make_shared<EventSink>(events_);
}

Topology::~Topology() {
  if (subscriber_) subscriber_->Remove(this);
}

std::vector<collectors::RecordedEvent> Topology::RecentEvents() const {
  return events_->Recent();
}

std::uint64_t Topology::connects() const {
  std::lock_guard lock(fetch_mu_);
  return pool_->Connects();
}

void Topology::Warm(redis::Deadline deadline) {
  std::lock_guard lock(fetch_mu_);
  FetchLocked(deadline);
}

std::shared_ptr<const Snapshot> Topology::Fetch(redis::Deadline deadline) {
  std::shared_ptr<InFlight> mine;
  {
    std::unique_lock lock(share_mu_);
    if (in_flight_) {
      // A fetch is under way: share its result rather than ask every node again.
      auto other = in_flight_;
      lock.unlock();
      std::unique_lock wait(other->mu);
      other->cv.wait(wait, [&] { return other->done; });
      return other->result;
    }
    mine = in_flight_ = std::make_shared<InFlight>();
  }
  std::shared_ptr<const Snapshot> result;
  {
    std::lock_guard lock(fetch_mu_);
    result = FetchLocked(deadline);
  }
  {
    std::lock_guard lock(share_mu_);
    in_flight_.reset();
  }
  {
    std::lock_guard lock(mine->mu);
    mine->result = result;
    mine->done = true;
  }
  mine->cv.notify_all();
  return result;
}

namespace {

// Discovery's requests as one redis::Batch over the pool's connections.
class PoolTransport : public Transport {
 public:
  PoolTransport(const FetchOptions& options, ConnectionPool& pool, redis::Deadline deadline)
      : options_(options), pool_(pool), batch_(deadline) {}

  // A node's pool entry is keyed by its address and group, and whether it authenticates is a
  // function of those for a given Topology, so an entry never changes credentials.
  void Ask(Kind kind, const Address& addr, const std::string& group, bool authenticate,
           std::vector<std::vector<std::string>> commands, Callback done) override {
    static const redis::Credentials kNone;
    redis::Connection* conn;
    if (kind == Kind::kSentinel) {
      conn = pool_.Get(ConnectionPool::kSentinel, addr, authenticate ? options_.sentinel_credentials : kNone,
                       options_.sentinel_tls);
    } else {
      conn = pool_.Get(ConnectionPool::kData, addr, authenticate ? DataCredentials(options_, group) : kNone,
                       options_.redis_tls, group);
    }
    batch_.Add(conn, std::move(commands), std::move(done));
  }
  void Run() override { batch_.Run(); }

 private:
  const FetchOptions& options_;
  ConnectionPool& pool_;
  redis::Batch batch_;
};

}  // namespace

std::shared_ptr<const Snapshot> Topology::FetchLocked(redis::Deadline deadline) {
  std::shared_ptr<Snapshot> snap;
  {
    PoolTransport transport(options_, *pool_, deadline);
    snap = Discover(target_, options_, transport);
  }
  pool_->DropUnused();
  LogChanges(*snap);
  if (subscriber_) {
    // Every Sentinel named, answering or not: a Sentinel down now is subscribed when it is back.
    // A peer outside the pin is not subscribed: the subscription would carry the Sentinel
    // password there (discovery asks it without AUTH).
    std::vector<Address> sentinels = target_.sentinels;
    for (const auto& s : snap->sentinels) {
      if (std::find(sentinels.begin(), sentinels.end(), s.address) != sentinels.end()) continue;
      if (MayReceiveCredentials(options_, s.address, options_.sentinel_credentials)) sentinels.push_back(s.address);
    }
    redis::Subscriber::Options o;
    o.credentials = options_.sentinel_credentials;
    o.tls = options_.sentinel_tls;
    subscriber_->Set(this, sentinels, o, event_sink_);
  }
  events_->ObserveAgreedMasters(collectors::AgreedMasters(collectors::AnalyzeGroups(*snap)), UnixNow(),
                                redis::Clock::now());
  snap->events = std::make_shared<const collectors::EventCounts>(events_->Counts());
  fetched_.store(true);
  return snap;
}

// One log line when a node starts failing or its cause changes, and one when it recovers:
// a down node does not flood the log on every scrape.
void Topology::LogChanges(const Snapshot& snapshot) {
  std::map<std::string, std::string> now;
  auto report = [&](const std::string& key, const std::string& what, log::Fields where, const Status& error) {
    std::string state = std::string(redis::CauseName(error.cause)) + ": " + error.message;
    now[key] = state;
    auto it = last_error_.find(key);
    const bool repeated = it != last_error_.end() && it->second == state;
    std::vector<std::pair<std::string_view, std::string_view>> fields(where);
    fields.emplace_back("cause", redis::CauseName(error.cause));
    fields.emplace_back("err", error.message);
    log::Write(repeated ? spdlog::level::debug : spdlog::level::warn,
               what + (repeated ? " still unreachable" : " unreachable"), fields);
  };
  for (const auto& s : snapshot.sentinels) {
    if (!s.up) report("sentinel " + s.label, "sentinel", {{"sentinel", s.label}}, s.error);
  }
  for (const auto& n : snapshot.nodes) {
    if (!n.up) {
      report("node " + n.master_name + " " + n.label, "data node",
             {{"addr", n.label}, {"master_name", n.master_name}}, n.error);
    }
  }
  for (const auto& [subject, message] : snapshot.notes) {
    now[subject] = message;
    auto it = last_error_.find(subject);
    if (it == last_error_.end() || it->second != message) log::Warn(message, {{"where", subject}});
  }
  for (const auto& [key, state] : last_error_) {
    if (!now.count(key)) log::Info("recovered", {{"where", key}});
  }
  last_error_ = std::move(now);
}

// ---------------------------------------------------------------------------------------

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
const collectors::Desc kHttpClosed{"redis_sentinel_exporter_http_connections_closed_total",
                                   "HTTP connections closed, by reason: client_closed (or done), header_timeout, "
                                   "idle_timeout, write_timeout, evicted (at --web.max-connections), bad_request, "
                                   "tls_error, server_closed.",
                                   prometheus::MetricType::Counter};
const collectors::Desc kHttpRequests{"redis_sentinel_exporter_http_requests_total",
                                     "Complete HTTP requests handed to a handler.", prometheus::MetricType::Counter};
const collectors::Desc kProbeSuccess{"probe_success", "1 when at least one Sentinel of the target answered."};
const collectors::Desc kProbeDuration{"probe_duration_seconds", "Seconds the probe took."};

double SecondsSince(redis::Clock::time_point start) {
  return std::chrono::duration<double>(redis::Clock::now() - start).count();
}

constexpr size_t kMaxProbeTopologies = 256;
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
  return o;
}

Exporter::Exporter(const Config& config) : config_(config), fetch_options_(FetchOptionsFrom(config)) {
  for (const auto& name : config.collectors) {
    const auto* spec = collectors::FindCollector(name);
    if (!spec) continue;
    fetch_options_.needs.Merge(spec->needs);
    collectors_.emplace_back(name, spec->factory());
  }
  if (fetch_options_.needs.events) subscriber_ = std::make_unique<redis::Subscriber>();
  if (!config.sentinels.empty()) {
    configured_ = std::make_unique<Topology>(Target{config.sentinels, config.master_names}, fetch_options_,
                                             subscriber_.get());
  }
}

void Exporter::Collect(const Snapshot& snapshot, collectors::MetricSink& sink) {
  std::lock_guard lock(collect_mu_);
  collectors::CollectReachability(snapshot, sink);
  struct Outcome {
    const std::string* name;
    double seconds;
    bool ok;
  };
  std::vector<Outcome> outcomes;
  for (auto& [name, collector] : collectors_) {
    auto start = redis::Clock::now();
    std::vector<std::string> problems;
    collector->Collect(snapshot, sink, problems);
    for (const auto& p : problems) log::Warn("collector problem", {{"collector", name}, {"problem", p}});
    outcomes.push_back({&name, SecondsSince(start), problems.empty()});
  }
  // The exporter's own families after the topology's, each family in one block.
  for (const auto& o : outcomes) sink.Add(kCollectorDuration, {{"collector", *o.name}}, o.seconds);
  for (const auto& o : outcomes) sink.Add(kCollectorSuccess, {{"collector", *o.name}}, o.ok ? 1 : 0);
}

std::vector<std::string> Exporter::Metrics(std::chrono::milliseconds timeout) {
  auto start = redis::Clock::now();
  collectors::MetricSink sink;
  if (configured_) {
    auto snapshot = configured_->Fetch(start + timeout);
    Collect(*snapshot, sink);
  }
  sink.Add(kBuildInfo, {{"version", kVersion}, {"revision", kRevision}}, 1);
  sink.Add(kScrapeDuration, {}, SecondsSince(start));
  if (const http::ServerStats* h = http_stats_) {
    sink.Add(kHttpConnections, {}, static_cast<double>(h->open.load(std::memory_order_relaxed)));
    sink.Add(kHttpAccepted, {}, static_cast<double>(h->accepted.load(std::memory_order_relaxed)));
    for (int r = 0; r < http::ServerStats::kCloseReasons; ++r) {
      sink.Add(kHttpClosed, {{"reason", http::ServerStats::CloseName(r)}},
               static_cast<double>(h->closed[r].load(std::memory_order_relaxed)));
    }
    sink.Add(kHttpRequests, {}, static_cast<double>(h->requests.load(std::memory_order_relaxed)));
  }
  return sink.Take();
}

void Exporter::Prefetch() {
  if (configured_) configured_->Warm(redis::Clock::now() + config_.timeout);
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
    it = now - it->second.second > kProbeIdle ? probes_.erase(it) : std::next(it);
  }
  // The binding is part of the key: topologies (and their authenticated connections) are never
  // shared between bindings.
  ProbeKey key{binding ? binding->name : std::string(), sentinel.ToString(), master};
  auto it = probes_.find(key);
  if (it == probes_.end()) {
    if (probes_.size() >= kMaxProbeTopologies) {
      auto oldest = std::min_element(probes_.begin(), probes_.end(), [](const auto& a, const auto& b) {
        return a.second.second < b.second.second;
      });
      probes_.erase(oldest);
    }
    Target target{{sentinel}, master.empty() ? std::vector<std::string>{} : std::vector<std::string>{master}};
    it = probes_.emplace(key, std::make_pair(std::make_shared<Topology>(target, ProbeOptions(binding), subscriber_.get()), now)).first;
  }
  it->second.second = now;
  return it->second.first;
}

std::vector<std::string> Exporter::Probe(const redis::Address& sentinel, const std::string& master,
                                         std::chrono::milliseconds timeout) {
  auto start = redis::Clock::now();
  auto topology = ProbeTopology(sentinel, master);
  auto snapshot = topology->Fetch(start + timeout);
  collectors::MetricSink sink;
  Collect(*snapshot, sink);
  bool any_up = std::any_of(snapshot->sentinels.begin(), snapshot->sentinels.end(),
                            [](const auto& s) { return s.up; });
  sink.Add(kProbeSuccess, {}, any_up ? 1 : 0);
  sink.Add(kProbeDuration, {}, SecondsSince(start));
  return sink.Take();
}

Exporter::StatusData Exporter::Status(std::chrono::milliseconds timeout) {
  if (!configured_) return {};
  return {configured_->Fetch(redis::Clock::now() + timeout), configured_->RecentEvents()};
}

Exporter::StatusData Exporter::ProbeStatus(const redis::Address& sentinel, const std::string& master,
                                           std::chrono::milliseconds timeout) {
  auto topology = ProbeTopology(sentinel, master);
  return {topology->Fetch(redis::Clock::now() + timeout), topology->RecentEvents()};
}

std::string Exporter::EventsJson() const {
  nlohmann::json events = nlohmann::json::array();
  if (configured_) {
    for (const auto& r : configured_->RecentEvents()) {
      nlohmann::json e{{"time", r.time},         {"sentinel", r.sentinel},
                       {"event", r.event.type},  {"master_name", r.event.master_name},
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
