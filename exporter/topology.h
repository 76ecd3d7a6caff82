#pragma once

// One target's state between scrapes: its connections, the fetch under way (shared by
// concurrent callers), the nodes' last logged failures, its event subscriptions and failover
// history, and the sizes of its last scrape's families (collectors::SizePlan).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "collectors/metrics.h"
#include "exporter/discovery.h"
#include "exporter/pool.h"
#include "model/events.h"
#include "model/snapshot.h"
#include "redis/connection.h"
#include "redis/subscriber.h"

namespace rse {

// Fetches one topology: discovery through the Sentinels and every data node they name, all
// nodes concurrently under one deadline, each node asked as soon as a reply names it. Keeps
// its connections open between fetches.
//
// Threads: Fetch, RecentEvents, connects and fetched are called from any thread (the HTTP
// handlers of concurrent scrapes); concurrent Fetch callers share the fetch already under way
// instead of starting another. Warm is called once, at startup. The subscriber's thread calls
// into the event sink, which writes only to the EventState (itself thread-safe).
// Ownership: the topology owns its pool, its event state and its sink; the subscriber is
// borrowed and must outlive the topology.
class Topology {
 public:
  // With a `subscriber`, every Sentinel the topology knows (configured and discovered) keeps
  // an event subscription while the topology lives.
  // `probe`: the /probe target (host:port) that this topology serves, added to its log lines
  // as `target` (the same Sentinel may be watched by the configured topology too); "" for the
  // configured topology.
  Topology(Target target, FetchOptions options, redis::Subscriber* subscriber = nullptr, std::string probe = "");
  // Ends the subscriptions first: no sink callback runs once the members below are destroyed.
  ~Topology();
  Topology(const Topology&) = delete;
  Topology& operator=(const Topology&) = delete;

  // The snapshot of one fetch, its groups analysed (Snapshot::groups). With `reuse` above
  // zero, a snapshot whose fetch ended less than `reuse` ago is returned as it is (the status
  // page: any number of open pages cost no more than one fetch per interval); only such a
  // fetch's snapshot is kept for reuse. Scrapes pass 0 and always see a fetch that started
  // after they arrived, or share one under way. A shared fetch ends by the earliest deadline
  // of the callers sharing it (a node slower than that is a timeout for all of them).
  std::shared_ptr<const collectors::Snapshot> Fetch(redis::Deadline deadline,
                                                    std::chrono::milliseconds reuse = std::chrono::milliseconds(0));
  // A fetch no caller shares: the one at startup (it makes /-/ready ready without a scrape).
  // A Fetch that arrives meanwhile ends it at once and asks every node itself under its own
  // deadline: it neither waits for the startup fetch's longer deadline (a hung node) nor
  // answers with data from before it arrived. The ended startup fetch is then dropped unseen.
  void Warm(redis::Deadline deadline);
  // Drops the snapshot kept for reuse once it is older than the `reuse` it was fetched with
  // (Fetch does so too): a status page nobody views any more then holds no memory, nor /probe
  // reply budget.
  void DropStaleSnapshot();
  // New TCP connections opened so far (tests and benchmarks).
  std::uint64_t connects() const;
  // Whether a fetch has completed, whatever it found.
  bool fetched() const { return fetched_.load(); }
  // The events received, newest last (the /events endpoint).
  std::vector<collectors::RecordedEvent> RecentEvents() const;
  // Each family's size in the previous scrape, for laying out the next body (thread-safe).
  collectors::SizePlan& plan() { return plan_; }
  // A scrape's fetch deadline within its own, which starts at `start` and lasts `timeout`: the
  // time the previous scrape took from its snapshot to its finished body is held back, at most
  // a tenth of `timeout`, so that a node that never answers costs the timeout and not the
  // timeout plus the rendering (hundreds of groups take tens of milliseconds). Thread-safe.
  redis::Deadline ScrapeFetchDeadline(redis::Clock::time_point start, std::chrono::milliseconds timeout) const;
  // Records how long a scrape took from its snapshot to its finished body. Thread-safe.
  void NoteRender(redis::Clock::duration took);

 private:
  // A fetch under way, whose result every caller that arrived meanwhile receives.
  struct InFlight {
    explicit InFlight(redis::Deadline d) : deadline(d) {}
    // The earliest deadline of the callers sharing it: each brings it forward as it joins, so
    // none waits past its own (a scrape that joins a status page's longer fetch).
    redis::SharedDeadline deadline;
    std::mutex mu;  // Guards done, result, error.
    std::condition_variable cv;
    bool done = false;
    std::shared_ptr<const collectors::Snapshot> result;
    std::exception_ptr error;  // what the fetch threw (bad_alloc): rethrown to every caller
  };

  // The fetch itself, with fetch_mu_ held. With `abandoned` set by the time its nodes have
  // answered, nothing of it is kept, logged or counted, and it returns null.
  std::shared_ptr<const collectors::Snapshot> FetchLocked(const redis::SharedDeadline& deadline,
                                                          const std::atomic<bool>* abandoned = nullptr);
  // The snapshot kept for reuse once it is stale (older than its reuse), taken out of last_;
  // null otherwise. With share_mu_ held; the caller frees it after releasing the lock.
  std::shared_ptr<const collectors::Snapshot> TakeStaleLocked(redis::Clock::time_point now);
  void Subscribe(const collectors::Snapshot& snapshot);
  void LogChanges(const collectors::Snapshot& snapshot);

  const Target target_;
  const FetchOptions options_;
  const std::string probe_;
  // Held for a whole fetch: one fetch at a time uses the pool. Never taken while share_mu_ is held.
  mutable std::mutex fetch_mu_;  // Guards pool_, last_error_, last_failing_, last_found_.
  ConnectionPool pool_;
  std::map<std::string, std::string> last_error_;  // node key or note subject -> last logged cause
  std::set<std::string> last_failing_;             // the node keys among them
  Found last_found_;                               // the previous fetch's Sentinels and data nodes (Discover)
  std::mutex share_mu_;                            // Guards in_flight_, warm_, last_, last_at_, last_reuse_.
  std::shared_ptr<InFlight> in_flight_;
  // The startup fetch while it runs, for a Fetch to end it: its deadline, and whether a Fetch
  // did. Both live in Warm's frame; warm_ is null outside it.
  struct Warming {
    redis::SharedDeadline deadline;
    std::atomic<bool> abandoned{false};
  };
  Warming* warm_ = nullptr;
  std::shared_ptr<const collectors::Snapshot> last_;  // the newest reusable fetch's result, when it ended
  redis::Clock::time_point last_at_{};                // and the reuse it was fetched with
  std::chrono::milliseconds last_reuse_{0};
  std::atomic<bool> fetched_{false};
  redis::Subscriber* const subscriber_;  // borrowed; null without event subscriptions
  // Failovers and events: outlives scrapes, dies with the topology. Thread-safe itself.
  const std::shared_ptr<collectors::EventState> events_;
  std::shared_ptr<redis::Subscriber::Sink> event_sink_;  // set once in the constructor
  collectors::SizePlan plan_;
  std::atomic<std::int64_t> render_ns_{0};  // NoteRender's latest, in nanoseconds
};

}  // namespace rse
