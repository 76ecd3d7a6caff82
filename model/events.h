#pragma once

// Sentinel's event stream: what sentinelEvent() publishes on a Pub/Sub channel named after the
// event ("+sdown", "+switch-master", ...), parsed without I/O; and the state the events of one
// target build up between scrapes (counters, failovers deduplicated across Sentinels, failover
// durations, a ring of recent events). The state belongs to the target's Topology
// (exporter/topology.h); collectors read a copy of it (EventCounts) and keep none.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "redis/address.h"
#include "redis/reply.h"

namespace rse::collectors {

// Event names counted under their own `event` label value; any other counts as "other", so a
// peer that invents names cannot grow the label set.
std::span<const std::string_view> KnownEvents();
// The `event` label value of a channel: the name when known, else "other".
std::string_view EventLabel(std::string_view channel);
// Sentinel logs (and runs notification scripts for) these at warning level; the rest at notice.
bool IsWarningEvent(std::string_view channel);

// Longest channel and payload kept; longer ones are cut (sentinelEvent's own buffer is 1 KiB).
inline constexpr std::size_t kMaxEventName = 64;
inline constexpr std::size_t kMaxEventPayload = 1024;

// One event. Payload formats (sentinel.c, sentinelEvent's "%@"):
//   master:  "master <name> <ip> <port>[ extra]"
//   other:   "<slave|sentinel> <name> <ip> <port> @ <master-name> <master-ip> <master-port>[ extra]"
//   +switch-master: "<master-name> <old-ip> <old-port> <new-ip> <new-port>"
//   +new-epoch: "<epoch>";  +vote-for-leader: "<leader-runid> <epoch>";  +tilt: "#tilt mode entered"
// Fields the payload does not give stay empty.
struct Event {
  std::string type;                              // the channel, cut to kMaxEventName
  std::string payload;                           // cut to kMaxEventPayload
  std::string instance_type;                     // "master", "slave", "sentinel"; "" when there is no instance
  std::string instance;                          // the instance's name
  std::optional<redis::Address> address;         // the instance's address
  std::string master_name;                       // the group the event is about; "" when none (+tilt, +new-epoch)
  std::optional<redis::Address> master_address;  // the group's master (old master for +switch-master)
  std::optional<redis::Address> new_master;      // +switch-master
  std::optional<std::uint64_t> epoch;            // +new-epoch, +vote-for-leader
};

Event ParseEvent(std::string_view channel, std::string_view payload);

// A Pub/Sub push of PSUBSCRIBE: ["pmessage", pattern, channel, payload] gives (channel,
// payload); ["psubscribe", pattern, count] and anything else gives nullopt.
std::optional<std::pair<std::string, std::string>> ParsePubSubMessage(const redis::Reply& reply);

// Upper bounds of the failover-duration histogram, in seconds.
inline constexpr std::array<double, 12> kFailoverDurationBuckets = {0.1, 0.25, 0.5, 1,  2.5, 5,
                                                                    10,  20,   30,  60, 120, 300};

struct RecordedEvent {
  double time = 0;       // Unix seconds when received
  std::string sentinel;  // the Sentinel that published it (label)
  Event event;
};

struct FailoverStats {
  double failovers = 0;                                           // distinct failovers (deduplicated across Sentinels)
  double last_time = 0;                                           // Unix seconds of the latest; 0 none
  std::array<double, kFailoverDurationBuckets.size()> buckets{};  // per bucket, not cumulative
  double duration_count = 0;
  double duration_sum = 0;
};

// One group's agreed master in one scrape (model/health.h's AnalyzeGroups).
struct AgreedMaster {
  std::string name;
  std::string master;  // "host:port"; "" when no Sentinel named one
  std::optional<double> config_epoch;
  std::vector<std::string> sentinels;  // the Sentinels that report the group (labels)
};

// Orders (sentinel, master_name, event label) keys held as strings or given as string_views
// alike: the collector finds hundreds of keys per scrape without copying their three strings.
// (std::less<> would compare tuples of different element types, which clang with libstdc++
// 12 refuses in C++20.)
struct EventKeyLess {
  using is_transparent = void;
  using View = std::tuple<std::string_view, std::string_view, std::string_view>;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return Of(a) < Of(b);
  }
  template <typename T>
  static View Of(const std::tuple<T, T, T>& k) {
    return {std::get<0>(k), std::get<1>(k), std::get<2>(k)};
  }
};

// A copy of a target's event state, for one scrape.
struct EventCounts {
  // (sentinel, master_name, event label) -> count.
  std::map<std::tuple<std::string, std::string, std::string>, double, EventKeyLess> events;
  std::map<std::string, bool> stream_up;     // Sentinel label -> subscription confirmed
  std::map<std::string, double> last_event;  // Sentinel label -> Unix seconds of its last event
  // Master name -> failovers, from the event stream and from scrapes that saw the agreed master
  // change, each failover once. Holds every group the target's scrapes have seen, up to
  // EventState::kMaxGroups names (the same that get their own event series).
  std::map<std::string, FailoverStats> failovers;
  // Master name -> agreed master at the last scrape that had the group: every group a scrape
  // has seen, so that one no Sentinel reports any more is still told (0 Sentinels up), until
  // every Sentinel that last reported it has published -monitor for it (SENTINEL REMOVE).
  std::map<std::string, std::string> agreed;
};

// The event state of one target. Thread-safe: the subscription loop records, scrapes read.
class EventState {
 public:
  static constexpr std::size_t kMaxRecent = 256;    // events kept for /events
  static constexpr std::size_t kMaxGroups = 256;    // master names with their own series
  static constexpr std::size_t kMaxSentinels = 64;  // Sentinels kept when not subscribed
  static constexpr std::size_t kMaxSeen = 1024;     // failovers remembered for deduplication

  // `unix_now` labels the event; `now` times failovers.
  void Record(const std::string& sentinel, Event event, double unix_now, std::chrono::steady_clock::time_point now);
  void SetStreamUp(const std::string& sentinel, bool up);
  // The Sentinels subscribed now (after each change of the subscriptions). One no longer
  // subscribed has no stream state (not watched: neither up nor down). Its counters stay, so a
  // Sentinel one discovery missed keeps its history, while at most kMaxSentinels Sentinels are
  // tracked; beyond that, every one not subscribed is forgotten (a hostile Sentinel naming new
  // peers each scrape cannot grow the state).
  void SetSubscribed(const std::vector<std::string>& sentinels);
  // A scrape's agreed masters: a group whose agreed master changed since the previous scrape
  // had a failover, counted unless the event stream already counted it (same epoch, or the
  // same switch recently). Catches failovers while no stream was up. A group absent from the
  // scrape is left as it was, unless every Sentinel that reported it last has published
  // -monitor for it since: removed on purpose, it is forgotten (EventCounts::agreed).
  void ObserveAgreedMasters(const std::vector<AgreedMaster>& groups, double unix_now,
                            std::chrono::steady_clock::time_point now);
  EventCounts Counts() const;
  // Newest last.
  std::vector<RecordedEvent> Recent() const;

 private:
  struct Pending {  // a failover this Sentinel tried
    std::chrono::steady_clock::time_point start;
    bool elected = false;
  };
  struct PerSentinel {
    std::optional<std::uint64_t> epoch;      // the Sentinel's current epoch, as its events told
    std::map<std::string, Pending> pending;  // master name
  };
  struct Seen {
    std::string master_name;
    std::optional<redis::Address> from, to;
    std::optional<std::uint64_t> epoch;
    std::chrono::steady_clock::time_point when;
    bool timed = false;  // its duration was observed
  };
  Seen* FindFailover(const Seen& f);
  // Counts f unless already counted; returns its entry.
  Seen& CountFailover(Seen f, double unix_now);
  std::string GroupLabel(const std::string& name);

  mutable std::mutex mu_;
  EventCounts counts_;
  std::map<std::string, PerSentinel> sentinels_;
  std::deque<Seen> seen_;
  std::deque<RecordedEvent> recent_;
  std::set<std::string> groups_;  // master names with their own series (at most kMaxGroups)
  // Per tracked group: the Sentinels that reported it in the last scrape that had it, and
  // those of them that have published -monitor for it since.
  std::map<std::string, std::set<std::string>> reporters_;
  std::map<std::string, std::set<std::string>> removed_;
};

}  // namespace rse::collectors
