#include "exporter/topology.h"

#include <algorithm>
#include <chrono>
#include <utility>
#include <vector>

#include "exporter/log.h"
#include "model/health.h"

namespace rse {

using collectors::Snapshot;
using redis::Address;
using redis::Status;

namespace {

double UnixNow() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }

// A log line of one topology: a /probe target's name it.
void Log(const std::string& probe, log::Level level, std::string_view msg, std::vector<log::Field> fields) {
  if (!probe.empty()) fields.emplace_back("target", probe);
  log::Write(level, msg, fields);
}

// Events into the target's state, and one log line each. Runs on the subscriber's thread.
class EventSink : public redis::Subscriber::Sink {
 public:
  EventSink(std::shared_ptr<collectors::EventState> state, std::string probe)
      : state_(std::move(state)), probe_(std::move(probe)) {}

  void OnState(const Address& address, bool up, const Status& why) override {
    const std::string label = address.ToString();
    state_->SetStreamUp(label, up);
    std::string state = up ? "up" : std::string(redis::CauseName(why.cause)) + ": " + why.message;
    std::lock_guard lock(mu_);
    auto& last = last_state_[label];
    if (last == state) return;  // a Sentinel that stays down is not logged on every retry
    last = state;
    if (up) {
      Log(probe_, log::Level::kInfo, "event stream subscribed", {{"sentinel", label}});
    } else {
      Log(probe_, log::Level::kWarn, "event stream down; the Sentinel is still polled",
          {{"sentinel", label}, {"cause", redis::CauseName(why.cause)}, {"err", why.message}});
    }
  }

  void OnMessage(const Address& address, const redis::Reply& reply) override {
    auto message = collectors::ParsePubSubMessage(reply);
    if (!message) return;
    auto event = collectors::ParseEvent(message->first, message->second);
    const std::string label = address.ToString();
    Log(probe_, collectors::IsWarningEvent(event.type) ? log::Level::kWarn : log::Level::kInfo, "sentinel event",
        {{"sentinel", label}, {"event", event.type}, {"master_name", event.master_name}, {"payload", event.payload}});
    state_->Record(label, std::move(event), UnixNow(), redis::Clock::now());
  }

 private:
  std::shared_ptr<collectors::EventState> state_;
  const std::string probe_;
  std::mutex mu_;                                  // Guards last_state_.
  std::map<std::string, std::string> last_state_;  // Sentinel label -> last logged state
};

}  // namespace

Topology::Topology(Target target, FetchOptions options, redis::Subscriber* subscriber, std::string probe)
    : target_(std::move(target)),
      options_(std::move(options)),
      probe_(std::move(probe)),
      subscriber_(subscriber),
      events_(std::make_shared<collectors::EventState>()) {
  if (subscriber_) event_sink_ = std::make_shared<EventSink>(events_, probe_);
}

Topology::~Topology() {
  if (subscriber_) subscriber_->Remove(this);
}

std::vector<collectors::RecordedEvent> Topology::RecentEvents() const { return events_->Recent(); }

redis::Deadline Topology::ScrapeFetchDeadline(redis::Clock::time_point start, std::chrono::milliseconds timeout) const {
  const auto reserve = std::min<redis::Clock::duration>(
      std::chrono::nanoseconds(render_ns_.load(std::memory_order_relaxed)), timeout / 10);
  return start + timeout - reserve;
}

void Topology::NoteRender(redis::Clock::duration took) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(took).count();
  render_ns_.store(std::max<std::int64_t>(ns, 0), std::memory_order_relaxed);
}

std::uint64_t Topology::connects() const {
  std::lock_guard lock(fetch_mu_);
  return pool_.Connects();
}

void Topology::Warm(redis::Deadline deadline) {
  Warming warming{redis::SharedDeadline(deadline)};
  {
    std::lock_guard lock(share_mu_);
    warm_ = &warming;
  }
  // warm_ points into this frame: it is reset on every way out, a throwing fetch included
  // (after fetch_mu_ is released, which the guard below outlives).
  struct Reset {
    Topology& t;
    ~Reset() {
      std::lock_guard lock(t.share_mu_);
      t.warm_ = nullptr;
    }
  } reset{*this};
  std::lock_guard lock(fetch_mu_);
  if (!warming.abandoned.load()) FetchLocked(warming.deadline, &warming.abandoned);
}

std::shared_ptr<const Snapshot> Topology::TakeStaleLocked(redis::Clock::time_point now) {
  if (last_ && now - last_at_ >= last_reuse_) return std::move(last_);
  return nullptr;
}

void Topology::DropStaleSnapshot() {
  std::shared_ptr<const Snapshot> stale;  // freed after the lock is released
  std::lock_guard lock(share_mu_);
  stale = TakeStaleLocked(redis::Clock::now());
}

std::shared_ptr<const Snapshot> Topology::Fetch(redis::Deadline deadline, std::chrono::milliseconds reuse) {
  std::shared_ptr<InFlight> mine;
  std::shared_ptr<const Snapshot> stale;  // freed after share_mu_ is released
  {
    std::unique_lock lock(share_mu_);
    const auto now = redis::Clock::now();
    stale = TakeStaleLocked(now);
    if (reuse.count() > 0 && last_ && now - last_at_ < reuse) return last_;
    if (in_flight_) {
      // A fetch is under way: share its result rather than ask every node again.
      auto other = in_flight_;
      other->deadline.BringForward(deadline);
      lock.unlock();
      std::unique_lock wait(other->mu);
      other->cv.wait(wait, [&] { return other->done; });
      if (other->error) std::rethrow_exception(other->error);
      return other->result;
    }
    mine = in_flight_ = std::make_shared<InFlight>(deadline);
    if (warm_) {
      // The startup fetch: ended now (its batch sees this within kSharedDeadlineCheck), so this
      // caller waits for fetch_mu_ no longer than that.
      warm_->abandoned.store(true);
      warm_->deadline.BringForward(redis::Clock::now());
    }
  }
  std::shared_ptr<const Snapshot> result;
  std::exception_ptr error;
  try {
    std::lock_guard lock(fetch_mu_);
    result = FetchLocked(mine->deadline);
  } catch (...) {
    // Nothing in the fetch throws but allocation: the callers sharing it get the same
    // exception (an HTTP 500 each), and the next caller starts a fetch of its own, rather
    // than every later caller waiting for a fetch that will never end.
    error = std::current_exception();
  }
  {
    std::lock_guard lock(share_mu_);
    in_flight_.reset();
    // Kept only for the callers that reuse it: a scrape's snapshot (parsed replies, most of a
    // megabyte at 20 groups) is then freed before its body is compressed and sent.
    if (reuse.count() > 0) {
      last_ = result;
      last_at_ = redis::Clock::now();
      last_reuse_ = reuse;
    }
  }
  {
    std::lock_guard lock(mine->mu);
    mine->result = result;
    mine->error = error;
    mine->done = true;
  }
  mine->cv.notify_all();
  if (error) std::rethrow_exception(error);
  return result;
}

std::shared_ptr<const Snapshot> Topology::FetchLocked(const redis::SharedDeadline& deadline,
                                                      const std::atomic<bool>* abandoned) {
  std::shared_ptr<Snapshot> snap;
  {
    // Scoped: the transport's batch holds pool connections by pointer, so it ends before the
    // pool drops any.
    PoolTransport transport(options_, pool_, deadline);
    snap = Discover(target_, options_, transport, last_found_);
    snap->reply_hold = transport.TakeReplyHold();
  }
  // Cut short by a caller who fetches again at once: its timeouts are not the nodes' doing.
  if (abandoned && abandoned->load()) return nullptr;
  last_found_ = FoundIn(*snap);
  pool_.DropUnused();
  LogChanges(*snap);
  if (subscriber_) Subscribe(*snap);
  // Analysed once per fetch: the failover count here, the collectors and pages from the snapshot.
  auto groups = collectors::AnalyzeGroups(*snap);
  events_->ObserveAgreedMasters(collectors::AgreedMasters(groups), UnixNow(), redis::Clock::now());
  snap->fetched_at = UnixNow();
  snap->events = std::make_shared<const collectors::EventCounts>(events_->Counts());
  collectors::AddGroupsSeenBefore(*snap->events, groups);
  snap->groups = std::make_shared<const std::vector<collectors::GroupHealth>>(std::move(groups));
  fetched_.store(true);
  return snap;
}

// Every Sentinel named, answering or not: a Sentinel down now is subscribed when it is back.
// A peer outside the pin is not subscribed: the subscription would carry the Sentinel
// password there (discovery asks it without AUTH).
void Topology::Subscribe(const Snapshot& snapshot) {
  std::vector<Address> sentinels = target_.sentinels;
  for (const auto& s : snapshot.sentinels) {
    if (std::find(sentinels.begin(), sentinels.end(), s.address) != sentinels.end()) continue;
    if (MayReceiveCredentials(options_, s.address, options_.sentinel_credentials)) sentinels.push_back(s.address);
  }
  redis::Subscriber::Options o;
  o.credentials = options_.sentinel_credentials;
  o.tls = options_.sentinel_tls;
  o.budget = options_.socket_budget;
  subscriber_->Set(this, sentinels, o, event_sink_);
  std::vector<std::string> labels;
  for (const auto& a : sentinels) labels.push_back(a.ToString());
  events_->SetSubscribed(labels);  // after Set: no callback of a dropped subscription runs now
}

// One log line when a node starts failing or its cause changes, and one when it recovers or
// leaves the topology: a down node does not flood the log on every scrape.
void Topology::LogChanges(const Snapshot& snapshot) {
  std::map<std::string, std::string> now;
  std::set<std::string> failing;  // the keys of the nodes down
  auto report = [&](const std::string& key, const std::string& what, log::Fields where, const Status& error) {
    std::string state = std::string(redis::CauseName(error.cause)) + ": " + error.message;
    now[key] = state;
    failing.insert(key);
    auto it = last_error_.find(key);
    const bool repeated = it != last_error_.end() && it->second == state;
    std::vector<log::Field> fields(where);
    fields.emplace_back("cause", redis::CauseName(error.cause));
    fields.emplace_back("err", error.message);
    Log(probe_, repeated ? log::Level::kDebug : log::Level::kWarn,
        what + (repeated ? " still unreachable" : " unreachable"), std::move(fields));
  };
  const auto sentinel_key = [](const collectors::SentinelNode& s) { return "sentinel " + s.label(); };
  const auto node_key = [](const collectors::DataNode& n) { return "node " + n.master_name + " " + n.label(); };
  for (const auto& s : snapshot.sentinels) {
    if (!s.up()) report(sentinel_key(s), "sentinel", {{"sentinel", s.label()}}, s.error);
  }
  for (const auto& n : snapshot.nodes) {
    if (!n.up()) report(node_key(n), "data node", {{"addr", n.label()}, {"master_name", n.master_name}}, n.error);
  }
  // Asked only of a node that was failing and is not any more: rarely.
  const auto in_snapshot = [&](const std::string& key) {
    return std::any_of(snapshot.sentinels.begin(), snapshot.sentinels.end(),
                       [&](const auto& s) { return sentinel_key(s) == key; }) ||
           std::any_of(snapshot.nodes.begin(), snapshot.nodes.end(), [&](const auto& n) { return node_key(n) == key; });
  };
  for (const auto& [subject, message] : snapshot.notes) {
    now[subject] = message;
    auto it = last_error_.find(subject);
    if (it == last_error_.end() || it->second != message) Log(probe_, log::Level::kWarn, message, {{"where", subject}});
  }
  for (const auto& [key, state] : last_error_) {
    if (now.count(key)) continue;
    // A failing node that no Sentinel names any more has left; it has not recovered.
    const bool left = last_failing_.count(key) && !in_snapshot(key);
    Log(probe_, log::Level::kInfo, left ? "no longer in the topology" : "recovered", {{"where", key}});
  }
  last_error_ = std::move(now);
  last_failing_ = std::move(failing);
}

}  // namespace rse
