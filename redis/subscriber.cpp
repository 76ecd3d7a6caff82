#include "redis/subscriber.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

namespace rse::redis {

struct Subscriber::Sub {
  Sub(Address a, Options o, std::shared_ptr<Sink> s)
      : address(a),
        options(std::move(o)),
        sink(std::move(s)),
        conn(std::make_unique<Connection>(a, options.credentials, options.tls, options.budget)) {}
  Address address;
  Options options;
  std::shared_ptr<Sink> sink;
  std::unique_ptr<Connection> conn;
  std::unique_ptr<Exchange> opening;   // set while opening; declared after conn, which it uses
  std::unique_ptr<RespParser> parser;  // set while the subscription is confirmed
  std::size_t pending_bytes = 0;       // fed since the last complete push
  short want = POLLIN;
  Clock::time_point next_attempt{};  // when down: the next try
  std::chrono::milliseconds backoff{0};
  std::atomic<bool> removed{false};
  std::atomic<bool> up{false};
  std::atomic<std::uint64_t> connects{0};  // conn->connects(), published by the loop
};

Subscriber::Subscriber() {
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  thread_ = std::thread([this] { Loop(); });
}

Subscriber::~Subscriber() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  Wake();
  thread_.join();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void Subscriber::Wake() {
  if (wake_fd_ < 0) return;
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof(one));
}

void Subscriber::Set(const void* owner, const std::vector<Address>& addresses, const Options& options,
                     std::shared_ptr<Sink> sink) {
  std::unique_lock lock(mu_);
  bool changed = false, removed = false;
  for (auto it = subs_.lower_bound({owner, Address{}}); it != subs_.end() && it->first.first == owner;) {
    if (std::find(addresses.begin(), addresses.end(), it->first.second) == addresses.end()) {
      it->second->removed = true;
      closed_connects_ += it->second->connects;
      it = subs_.erase(it);
      changed = removed = true;
    } else {
      ++it;
    }
  }
  for (const auto& a : addresses) {
    auto& sub = subs_[{owner, a}];
    if (!sub) {
      sub = std::make_shared<Sub>(a, options, sink);
      changed = true;
    }
  }
  // Only a removal waits for the loop (no callback after it); additions just wake it.
  if (removed) idle_cv_.wait(lock, [&] { return !in_callbacks_; });
  lock.unlock();
  if (changed) Wake();  // new subscriptions start, closed sockets are let go
}

void Subscriber::Remove(const void* owner) {
  std::unique_lock lock(mu_);
  for (auto it = subs_.lower_bound({owner, Address{}}); it != subs_.end() && it->first.first == owner;) {
    it->second->removed = true;
    closed_connects_ += it->second->connects;
    it = subs_.erase(it);
  }
  idle_cv_.wait(lock, [&] { return !in_callbacks_; });
  lock.unlock();
  Wake();  // the loop lets go of the closed sockets now, not at its next timeout
}

std::uint64_t Subscriber::connects() const {
  std::lock_guard lock(mu_);
  std::uint64_t n = closed_connects_;
  for (const auto& [k, s] : subs_) n += s->connects;
  return n;
}

std::size_t Subscriber::confirmed() const {
  std::lock_guard lock(mu_);
  std::size_t n = 0;
  for (const auto& [k, s] : subs_) n += s->up;
  return n;
}

void Subscriber::Down(Sub& sub, const Status& why) {
  sub.conn->Close();
  sub.parser.reset();
  sub.up = false;
  sub.pending_bytes = 0;
  sub.backoff = std::clamp(sub.backoff * 2, sub.options.min_backoff, sub.options.max_backoff);
  sub.next_attempt = Clock::now() + sub.backoff;
  if (!sub.removed) sub.sink->OnState(sub.address, false, why);
}

// Starts opening one subscription (connect, TLS, AUTH, the subscribe command), bounded by
// its own connect timeout; the loop advances it as its socket becomes ready.
void Subscriber::Begin(Sub& sub) {
  // The confirmation is a few dozen bytes: a peer that sends more in its place is cut off as
  // a huge push is, not after the 64 MiB a reply may have.
  sub.opening = std::make_unique<Exchange>(sub.conn.get(), std::vector<std::vector<std::string>>{sub.options.command},
                                           Clock::now() + sub.options.connect_timeout,
                                           ExecuteOptions{.max_reply_bytes = sub.options.max_message_bytes});
  Advance(sub, 0);
}

// Steps an opening subscription with what poll reported (0: nothing, or its deadline came).
void Subscriber::Advance(Sub& sub, short revents) {
  sub.opening->Step(revents);
  sub.connects = sub.conn->connects();
  if (!sub.opening->done()) return;
  Request req = std::move(sub.opening->request());
  sub.opening.reset();
  Opened(sub, req);
}

void Subscriber::Opened(Sub& sub, Request& req) {
  if (!req.status.ok()) return Down(sub, req.status);
  const Reply& reply = req.replies.at(0);
  if (reply.IsError()) {
    const Cause cause = reply.str.rfind("NOPERM", 0) == 0 ? Cause::kAuth : Cause::kProtocol;
    return Down(sub, {cause, "subscription refused: " + reply.str});
  }
  if (!reply.IsArray() || reply.elements.empty() || !reply.elements[0].IsText() ||
      reply.elements[0].str != "psubscribe") {
    return Down(sub, {Cause::kProtocol, "unexpected reply to " + sub.options.command[0]});
  }
  sub.parser = req.rest ? std::move(req.rest) : std::make_unique<RespParser>();
  sub.pending_bytes = 0;
  sub.want = POLLIN;
  sub.backoff = std::chrono::milliseconds(0);
  sub.up = true;
  if (!sub.removed) sub.sink->OnState(sub.address, true, {});
  Deliver(sub);
}

// Hands every complete push the parser holds to the sink. False when the subscription ended.
bool Subscriber::Deliver(Sub& sub) {
  for (;;) {
    Reply reply;
    auto r = sub.parser->Next(reply);
    if (r == RespParser::Result::kError) {
      Down(sub, {Cause::kProtocol, "not a Redis reply: " + sub.parser->Error()});
      return false;
    }
    if (r == RespParser::Result::kNeedMore) return true;
    sub.pending_bytes = 0;
    if (!sub.removed) sub.sink->OnMessage(sub.address, reply);
  }
}

void Subscriber::Drain(Sub& sub) {
  char buf[16384];
  for (int rounds = 0; rounds < 64 && sub.parser; ++rounds) {
    std::size_t n = 0;
    Status st = sub.conn->ReadAvailable(buf, sizeof(buf), n, sub.want);
    if (!st.ok()) return Down(sub, st);
    if (n == 0) return;
    if (!sub.parser->Feed(buf, n)) return Down(sub, {Cause::kProtocol, "not a Redis reply: " + sub.parser->Error()});
    sub.pending_bytes += n;
    if (!Deliver(sub)) return;
    if (sub.parser->HasUnreadBytes() && sub.pending_bytes > sub.options.max_message_bytes) {
      return Down(
          sub, {Cause::kProtocol, "message larger than " + std::to_string(sub.options.max_message_bytes) + " bytes"});
    }
    // The parser keeps no more than one message's bytes: a fresh one frees hiredis' buffer.
    if (!sub.parser->HasUnreadBytes()) sub.parser = std::make_unique<RespParser>();
  }
}

// Opens what is due, times out openings past their deadline, and lists every socket to poll,
// the wake eventfd first. Returns when poll must return at the latest.
Clock::time_point Subscriber::PollSet(const std::vector<std::shared_ptr<Sub>>& all, std::vector<pollfd>& fds,
                                      std::vector<Sub*>& owners) {
  const auto now = Clock::now();
  Clock::time_point wake_at = now + std::chrono::seconds(60);
  fds.clear();
  owners.clear();
  fds.push_back({wake_fd_, POLLIN, 0});
  for (const auto& s : all) {
    if (s->removed) continue;
    if (!s->parser && !s->opening && s->next_attempt <= now) Begin(*s);
    if (s->opening && Clock::now() >= s->opening->deadline()) Advance(*s, 0);
    if (s->opening) {
      fds.push_back({s->opening->fd(), s->opening->events(), 0});
      owners.push_back(s.get());
      wake_at = std::min(wake_at, s->opening->deadline());
    } else if (s->parser) {
      fds.push_back({s->conn->fd(), s->want, 0});
      owners.push_back(s.get());
    } else {
      wake_at = std::min(wake_at, s->next_attempt);
    }
  }
  return wake_at;
}

// What poll returned: openings advance, confirmed streams are read. A failed poll (n < 0)
// takes every polled subscription down to back off, rather than the loop spinning on it.
void Subscriber::Dispatch(std::vector<pollfd>& fds, const std::vector<Sub*>& owners, int n, int poll_errno) {
  if (n < 0) {
    const Status why{Cause::kIo, std::string("poll: ") + std::strerror(poll_errno)};
    for (Sub* s : owners) {
      s->opening.reset();
      if (!s->removed) Down(*s, why);
    }
    for (auto& pfd : fds) pfd.revents = 0;
  }
  if (fds[0].revents) {
    std::uint64_t v;
    [[maybe_unused]] auto r = ::read(wake_fd_, &v, sizeof(v));  // EAGAIN too means only "awake"
  }
  for (size_t i = 1; i < fds.size(); ++i) {
    Sub& s = *owners[i - 1];
    if (fds[i].revents == 0 || s.removed) continue;
    if (s.opening) {
      Advance(s, fds[i].revents);
    } else if (s.parser) {
      Drain(s);
    }
  }
}

void Subscriber::Loop() {
  std::vector<pollfd> fds;
  std::vector<Sub*> owners;
  std::vector<std::shared_ptr<Sub>> all;  // keeps every polled socket's owner alive until the next round
  for (;;) {
    all.clear();
    {
      std::lock_guard lock(mu_);
      if (stop_) break;
      for (const auto& [k, s] : subs_) all.push_back(s);
      in_callbacks_ = true;
    }
    // Idle subscriptions cost nothing: poll sleeps until a socket is ready, an opening's
    // deadline or a retry is due, or Set, Remove or the destructor wakes it.
    const Clock::time_point wake_at = PollSet(all, fds, owners);
    {
      std::lock_guard lock(mu_);
      in_callbacks_ = false;
    }
    idle_cv_.notify_all();
    const auto now = Clock::now();
    // Rounded up: waking a millisecond early would only spin once more.
    const long long wait =
        wake_at <= now ? 0 : std::chrono::duration_cast<std::chrono::milliseconds>(wake_at - now).count() + 1;
    const int n = ::poll(fds.data(), fds.size(), static_cast<int>(wait));
    const int poll_errno = errno;
    if (n == 0 || (n < 0 && poll_errno == EINTR)) continue;  // the next round times out or retries what is due
    {
      std::lock_guard lock(mu_);
      if (stop_) break;
      in_callbacks_ = true;
    }
    Dispatch(fds, owners, n, poll_errno);
    {
      std::lock_guard lock(mu_);
      in_callbacks_ = false;
    }
    idle_cv_.notify_all();
  }
  std::lock_guard lock(mu_);
  in_callbacks_ = false;
  idle_cv_.notify_all();
}

}  // namespace rse::redis
