#include "exporter/scrape.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <iterator>
#include <set>
#include <tuple>

#include "collectors/registry.h"
#include "exporter/log.h"
#include "version.h"

namespace rse {

using collectors::DataNode;
using collectors::FieldMap;
using collectors::MasterView;
using collectors::Needs;
using collectors::SentinelNode;
using collectors::Snapshot;
using redis::Address;
using redis::Cause;
using redis::Reply;
using redis::Request;
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

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

Status ReplyStatus(const Reply& reply, std::string_view command) {
  Cause cause = StartsWith(reply.str, "NOPERM") ? Cause::kAuth : Cause::kProtocol;
  return {cause, std::string(command) + " failed: " + reply.str};
}

// Commands for one master group on a Sentinel, after SENTINEL MASTER(S) named it.
void AddGroupCommands(std::vector<std::vector<std::string>>& cmds, const std::string& name, bool ckquorum) {
  cmds.push_back({"SENTINEL", "REPLICAS", name});
  cmds.push_back({"SENTINEL", "SENTINELS", name});
  if (ckquorum) cmds.push_back({"SENTINEL", "CKQUORUM", name});
}

// Reads the replies AddGroupCommands asked for, starting at replies[i]. Returns an error only
// for a reply that cannot come from a Sentinel; "no such master" races are left unanswered.
Status ReadGroupReplies(const std::vector<Reply>& replies, size_t& i, bool ckquorum, MasterView& view) {
  auto replicas = collectors::ParseFieldArrays(replies[i]);
  if (replicas.ok()) {
    view.replicas = std::move(replicas.value);
  } else if (!replies[i].IsError()) {
    return {Cause::kProtocol, "unexpected reply to SENTINEL REPLICAS: " + replicas.error};
  }
  ++i;
  auto sentinels = collectors::ParseFieldArrays(replies[i]);
  if (sentinels.ok()) {
    view.sentinels = std::move(sentinels.value);
  } else if (!replies[i].IsError()) {
    return {Cause::kProtocol, "unexpected reply to SENTINEL SENTINELS: " + sentinels.error};
  }
  ++i;
  if (ckquorum) {
    auto ck = collectors::ParseCkquorum(replies[i]);
    if (ck.ok()) {
      view.ckquorum = ck.value;
    } else if (!replies[i].IsError()) {
      return {Cause::kProtocol, "unexpected reply to SENTINEL CKQUORUM: " + ck.error};
    }
    ++i;
  }
  return {};
}

std::vector<std::string> DataCommand(Needs::DataInfo level) {
  switch (level) {
    case Needs::DataInfo::kFull: return {"INFO"};
    case Needs::DataInfo::kReplication: return {"INFO", "replication"};
    case Needs::DataInfo::kNone: break;
  }
  return {"PING"};
}

}  // namespace

Topology::Topology(Target target, FetchOptions options)
    : target_(std::move(target)), options_(std::move(options)), pool_(std::make_shared<ConnectionPool>()) {}

std::uint64_t Topology::connects() const {
  std::lock_guard lock(fetch_mu_);
  return pool_->Connects();
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

// One fetch: a batch of requests in which each reply may start more requests. Sentinels
// configured are asked first; peers they name and data nodes they name are asked as soon as
// a reply names them, so a hung node delays nothing but itself.
class Discovery {
 public:
  Discovery(const Target& target, const FetchOptions& options, ConnectionPool& pool, redis::Deadline deadline)
      : target_(target),
        options_(options),
        pool_(pool),
        batch_(deadline),
        named_(!target.master_names.empty()),
        ckquorum_(options.needs.ckquorum),
        data_command_(DataCommand(options.needs.data_info)) {}

  std::shared_ptr<Snapshot> Run() {
    for (const auto& addr : target_.sentinels) AskSentinel(addr);
    batch_.Run();
    auto snap = std::make_shared<Snapshot>();
    for (auto& s : sentinels_) {
      if (!s.duplicate) snap->sentinels.push_back(std::move(s.node));
    }
    snap->nodes.assign(std::make_move_iterator(nodes_.begin()), std::make_move_iterator(nodes_.end()));
    // Replies arrive in any order; a stable order makes reports and diffs readable.
    std::sort(snap->sentinels.begin(), snap->sentinels.end(),
              [](const auto& a, const auto& b) { return a.address < b.address; });
    std::sort(snap->nodes.begin(), snap->nodes.end(), [](const auto& a, const auto& b) {
      return std::tie(a.master_name, a.address) < std::tie(b.master_name, b.address);
    });
    snap->notes = std::move(notes_);
    return snap;
  }

 private:
  struct Asked {
    SentinelNode node;
    bool duplicate = false;  // the same Sentinel as one asked under another address
  };

  void AskSentinel(const Address& addr) {
    if (!known_sentinels_.insert(addr).second) return;
    if (known_sentinels_.size() > options_.max_sentinels) return;
    Asked& asked = sentinels_.emplace_back();
    asked.node.address = addr;
    asked.node.label = addr.ToString();
    std::vector<std::vector<std::string>> cmds = {{"INFO", "sentinel"}, {"SENTINEL", "MYID"}};
    if (named_) {
      for (const auto& name : target_.master_names) {
        cmds.push_back({"SENTINEL", "MASTER", name});
        AddGroupCommands(cmds, name, ckquorum_);
      }
    } else {
      cmds.push_back({"SENTINEL", "MASTERS"});
    }
    auto* conn = pool_.Get(ConnectionPool::kSentinel, addr, options_.sentinel_credentials, options_.sentinel_tls);
    batch_.Add(conn, std::move(cmds), [this, &asked, conn](Request& r) { OnSentinelReply(asked, conn, r); });
  }

  void OnSentinelReply(Asked& asked, redis::Connection* conn, Request& req) {
    SentinelNode& node = asked.node;
    node.error = req.status;
    if (node.error.ok()) ReadSentinelReplies(asked, req.replies);
    if (asked.duplicate) return;
    if (node.error.ok() && !named_ && !node.masters.empty()) {
      // Second round trip: the groups this Sentinel named in SENTINEL MASTERS.
      std::vector<std::vector<std::string>> cmds;
      for (const auto& view : node.masters) AddGroupCommands(cmds, view.name, ckquorum_);
      batch_.Add(conn, std::move(cmds), [this, &node](Request& r) {
        node.error = r.status;
        size_t i = 0;
        for (auto& view : node.masters) {
          if (!node.error.ok()) break;
          node.error = ReadGroupReplies(r.replies, i, ckquorum_, view);
        }
        SentinelDone(node);
      });
      return;
    }
    SentinelDone(node);
  }

  void ReadSentinelReplies(Asked& asked, const std::vector<Reply>& rs) {
    SentinelNode& node = asked.node;
    if (!rs[0].IsText()) {
      node.error = rs[0].IsError() ? ReplyStatus(rs[0], "INFO sentinel")
                                   : Status{Cause::kProtocol, "unexpected reply to INFO"};
      return;
    }
    node.info = collectors::ParseInfo(rs[0].str);
    if (!collectors::Field(node.info, "sentinel_masters")) {
      node.error = {Cause::kProtocol, "not a Sentinel: INFO has no sentinel section (a data node?)"};
      return;
    }
    if (rs[1].type == Reply::Type::kString && !ids_.insert(rs[1].str).second) {
      asked.duplicate = true;
      return;
    }
    if (!named_) {
      auto masters = collectors::ParseFieldArrays(rs[2]);
      if (!masters.ok()) {
        node.error = rs[2].IsError() ? ReplyStatus(rs[2], "SENTINEL MASTERS")
                                     : Status{Cause::kProtocol, "unexpected reply to SENTINEL MASTERS: " +
                                                                    masters.error};
        return;
      }
      for (auto& m : *masters.value) {
        MasterView view;
        view.name = std::string(collectors::Field(m, "name").value_or(""));
        view.master = std::move(m);
        if (!view.name.empty()) node.masters.push_back(std::move(view));
      }
      return;
    }
    size_t i = 2;
    for (const auto& name : target_.master_names) {
      auto master = collectors::ParseFieldArray(rs[i++]);
      if (!master.ok()) {
        if (!rs[i - 1].IsError()) {
          node.error = {Cause::kProtocol, "unexpected reply to SENTINEL MASTER: " + master.error};
          return;
        }
        notes_.push_back({"sentinel " + node.label + " master " + name,
                          "Sentinel does not know the master: " + master.error});
        i += ckquorum_ ? 3 : 2;
        continue;
      }
      MasterView view;
      view.name = name;
      view.master = std::move(*master.value);
      node.error = ReadGroupReplies(rs, i, ckquorum_, view);
      if (!node.error.ok()) return;
      node.masters.push_back(std::move(view));
    }
  }

  // A Sentinel has answered everything: ask the peers and data nodes it names.
  void SentinelDone(SentinelNode& node) {
    if (node.error.cause == Cause::kAuth && options_.sentinel_credentials.password.empty()) {
      // Sentinels usually have no password; one that wants it is often a data node.
      node.error.message += " (a data node given as a Sentinel? if this Sentinel has its own password, "
                            "set --sentinel.password-file)";
    }
    node.up = node.error.ok();
    if (!node.up) {
      node.masters.clear();
      return;
    }
    for (const auto& view : node.masters) {
      AskDataNode(view.name, collectors::AddressOf(view.master));
      if (view.replicas) {
        for (const auto& r : *view.replicas) AskDataNode(view.name, collectors::AddressOf(r));
      }
    }
    for (const auto& view : node.masters) {
      if (!view.sentinels) continue;
      for (const auto& peer : *view.sentinels) {
        auto addr = collectors::AddressOf(peer);
        if (!addr) continue;
        if (auto id = collectors::Field(peer, "runid"); id && ids_.count(std::string(*id))) continue;
        AskSentinel(*addr);
      }
    }
  }

  void AskDataNode(const std::string& group, const std::optional<Address>& addr) {
    if (!addr || !known_nodes_.insert({group, *addr}).second) return;
    DataNode& node = nodes_.emplace_back();
    node.master_name = group;
    node.address = *addr;
    node.label = addr->ToString();
    auto creds = options_.group_credentials.find(group);
    auto* conn = pool_.Get(ConnectionPool::kData, *addr,
                           creds != options_.group_credentials.end() ? creds->second : options_.redis_credentials,
                           options_.redis_tls, group);
    batch_.Add(conn, {data_command_}, [this, &node](Request& r) { OnDataReply(node, r); });
  }

  void OnDataReply(DataNode& node, Request& req) {
    node.error = req.status;
    if (node.error.ok()) {
      Reply& reply = req.replies[0];
      const std::string& command = data_command_[0];
      if (reply.IsError()) {
        node.error = ReplyStatus(reply, command);
      } else if (!reply.IsText()) {
        node.error = {Cause::kProtocol, std::string("unexpected ") + redis::TypeName(reply.type) + " reply to " +
                                            command};
      } else if (command == "INFO") {
        node.info = collectors::ParseInfo(std::move(reply.str));  // the map keeps the text: no copy
        if (collectors::Field(node.info, "redis_mode") == std::optional<std::string_view>("sentinel") ||
            !collectors::Field(node.info, "role")) {
          node.error = {Cause::kProtocol, "not a Redis data node: INFO has no role (a Sentinel?)"};
          node.info.clear();
        }
      }
    }
    node.up = node.error.ok();
  }

  const Target& target_;
  const FetchOptions& options_;
  ConnectionPool& pool_;
  redis::Batch batch_;
  const bool named_;
  const bool ckquorum_;
  const std::vector<std::string> data_command_;
  std::deque<Asked> sentinels_;  // deques: callbacks hold references while more are added
  std::deque<DataNode> nodes_;
  std::set<Address> known_sentinels_;
  std::set<std::pair<std::string, Address>> known_nodes_;
  std::set<std::string> ids_;  // SENTINEL MYID of every Sentinel that answered
  std::vector<std::pair<std::string, std::string>> notes_;
};

}  // namespace

std::shared_ptr<const Snapshot> Topology::FetchLocked(redis::Deadline deadline) {
  auto snap = Discovery(target_, options_, *pool_, deadline).Run();
  for (const auto& s : target_.sentinels) snap->target += s.ToString() + ",";
  for (const auto& m : target_.master_names) snap->target += "/" + m;
  pool_->DropUnused();
  LogChanges(*snap);
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
  return o;
}

Exporter::Exporter(const Config& config) : config_(config), fetch_options_(FetchOptionsFrom(config)) {
  for (const auto& name : config.collectors) {
    const auto* spec = collectors::FindCollector(name);
    if (!spec) continue;
    fetch_options_.needs.Merge(spec->needs);
    collectors_.emplace_back(name, spec->factory());
  }
  if (!config.sentinels.empty()) {
    configured_ = std::make_unique<Topology>(Target{config.sentinels, config.master_names}, fetch_options_);
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
  return sink.Take();
}

bool Exporter::ProbeAllowed(const redis::Address& sentinel) const {
  if (config_.probe_allowed_targets.empty()) return true;
  return std::find(config_.probe_allowed_targets.begin(), config_.probe_allowed_targets.end(), sentinel) !=
         config_.probe_allowed_targets.end();
}

std::shared_ptr<Topology> Exporter::ProbeTopology(const redis::Address& sentinel, const std::string& master) {
  std::lock_guard lock(probe_mu_);
  const auto now = redis::Clock::now();
  for (auto it = probes_.begin(); it != probes_.end();) {
    it = now - it->second.second > kProbeIdle ? probes_.erase(it) : std::next(it);
  }
  auto key = std::make_pair(sentinel.ToString(), master);
  auto it = probes_.find(key);
  if (it == probes_.end()) {
    if (probes_.size() >= kMaxProbeTopologies) {
      auto oldest = std::min_element(probes_.begin(), probes_.end(), [](const auto& a, const auto& b) {
        return a.second.second < b.second.second;
      });
      probes_.erase(oldest);
    }
    Target target{{sentinel}, master.empty() ? std::vector<std::string>{} : std::vector<std::string>{master}};
    it = probes_.emplace(key, std::make_pair(std::make_shared<Topology>(target, fetch_options_), now)).first;
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

}  // namespace rse
