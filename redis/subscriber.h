#pragma once

// Long-lived Pub/Sub subscriptions (Sentinel's event stream), all served by one thread: one
// poll() over every subscribed socket, whatever the number of Sentinels and targets. Each
// subscription opens inside that same poll loop through the connection layer's steppable
// Exchange (connect, TLS, AUTH, the subscribe command and its confirmation), with a deadline
// of its own, while the confirmed ones keep being read: a Sentinel that never answers delays
// no other's events. A subscription that fails or is refused is retried with exponential
// backoff.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "redis/connection.h"

struct pollfd;

namespace rse::redis {

class Subscriber {
 public:
  // Callbacks run on the subscriber's thread; they must not block or call back into it.
  class Sink {
   public:
    virtual ~Sink() = default;
    // The subscription is confirmed (up), or lost or refused (down, with why).
    virtual void OnState(const Address& address, bool up, const Status& why) = 0;
    // A push on a confirmed subscription (["pmessage", pattern, channel, payload], ...).
    virtual void OnMessage(const Address& address, const Reply& reply) = 0;
  };

  struct Options {
    Credentials credentials;
    std::shared_ptr<const TlsContext> tls;
    std::shared_ptr<Budget> budget;  // the subscriptions' sockets count against it; null: none
    std::vector<std::string> command{"PSUBSCRIBE", "*"};
    std::chrono::milliseconds connect_timeout{2000};
    std::chrono::milliseconds min_backoff{500};
    std::chrono::milliseconds max_backoff{30000};
    // A push still incomplete after this many bytes ends the subscription (a peer that
    // streams a huge payload cannot grow our memory).
    std::size_t max_message_bytes = 64 * 1024;
  };

  Subscriber();
  ~Subscriber();  // closes every subscription and joins the thread
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

  // Keeps one subscription to each of `addresses` for `owner`, replacing the owner's previous
  // set: subscriptions kept are not reopened, those no longer listed are closed.
  void Set(const void* owner, const std::vector<Address>& addresses, const Options& options,
           std::shared_ptr<Sink> sink);
  // Closes the owner's subscriptions; no callback for them runs after this returns. It waits
  // only for callbacks under way (the loop never blocks: an opening is a step, not a wait).
  void Remove(const void* owner);

  // New TCP connections opened so far, and subscriptions currently confirmed (tests).
  std::uint64_t connects() const;
  std::size_t confirmed() const;

 private:
  struct Sub;
  void Loop();
  Clock::time_point PollSet(const std::vector<std::shared_ptr<Sub>>& all, std::vector<pollfd>& fds,
                            std::vector<Sub*>& owners);
  void Dispatch(std::vector<pollfd>& fds, const std::vector<Sub*>& owners, int n, int poll_errno);
  void Wake();
  void Begin(Sub& sub);
  void Advance(Sub& sub, short revents);
  void Opened(Sub& sub, Request& req);
  bool Deliver(Sub& sub);
  void Drain(Sub& sub);
  void Down(Sub& sub, const Status& why);

  mutable std::mutex mu_;
  std::condition_variable idle_cv_;
  bool in_callbacks_ = false;  // the loop is running callbacks; Remove waits for it
  bool stop_ = false;
  int wake_fd_ = -1;
  std::map<std::pair<const void*, Address>, std::shared_ptr<Sub>> subs_;
  std::uint64_t closed_connects_ = 0;
  std::thread thread_;
};

}  // namespace rse::redis
