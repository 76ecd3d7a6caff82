#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "redis/address.h"
#include "redis/reply.h"
#include "redis/tls.h"

namespace rse::redis {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

// A deadline that other threads may bring forward while a Batch runs under it: callers who
// share one fetch then each get its result by their own deadline. Thread-safe.
class SharedDeadline {
 public:
  explicit SharedDeadline(Deadline deadline) : rep_(deadline.time_since_epoch().count()) {}
  Deadline get() const { return Deadline(Clock::duration(rep_.load(std::memory_order_relaxed))); }
  // The deadline becomes `deadline` if that is earlier.
  void BringForward(Deadline deadline);

 private:
  std::atomic<Clock::rep> rep_;
};

// Why a node could not be asked: a small closed set, so logs and tests can rely on it.
enum class Cause { kOk, kRefused, kTimeout, kAuth, kProtocol, kClosed, kResolve, kIo, kTls };
const char* CauseName(Cause cause);

struct Status {
  Cause cause = Cause::kOk;
  std::string message;  // never contains a secret: built from errno text and server replies

  bool ok() const { return cause == Cause::kOk; }
};

struct Credentials {
  std::string user;      // empty: AUTH <password> (requirepass); else AUTH <user> <password> (ACL)
  std::string password;  // empty: no AUTH is sent

  bool operator==(const Credentials&) const = default;
};

// A count that the holders sharing it may hold at once, all together. Sockets: a connection
// that would go over it does not open one, and fails (kIo, naming the budget) as a refused
// connection would; it gives its socket back on Close. Reply bytes: ExecuteOptions::reply_budget.
// Thread-safe.
class Budget {
 public:
  // `what` names the budget in failures, e.g. "not connected: <what> are in use".
  Budget(std::size_t max, std::string what) : max_(max), what_(std::move(what)) {}
  bool Take(std::size_t n = 1);  // false, taking nothing, when `n` more would go over `max`
  void Give(std::size_t n = 1);
  std::size_t held() const { return held_.load(std::memory_order_relaxed); }
  const std::string& what() const { return what_; }

 private:
  const std::size_t max_;
  const std::string what_;
  std::atomic<std::size_t> held_{0};
};

// One TCP connection to one node, kept open between requests so a scrape in steady state
// opens no new connection. Not thread-safe: a connection serves one request at a time.
// It is closed after any failure and reopened (and re-authenticated) by the next request.
class Connection {
 public:
  // With `tls`, every connection is a TLS session verified as the context says; with
  // `budget`, its socket counts against it.
  Connection(Address address, Credentials credentials, std::shared_ptr<const TlsContext> tls = nullptr,
             std::shared_ptr<Budget> budget = nullptr);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  const Address& address() const { return address_; }
  bool IsOpen() const { return fd_ >= 0; }
  // TCP connections opened so far (each failure and reconnect adds one).
  std::uint64_t connects() const { return connects_; }
  void Close();

  // For a connection a request has left subscribed (PSUBSCRIBE): reads what has arrived on
  // the open socket, TLS included, without blocking. kOk with n > 0 bytes; kOk with n == 0
  // when nothing is there yet (`want` says which poll event to wait for); any other status
  // means the connection is gone (it is closed). Not used by requests.
  int fd() const { return fd_; }
  Status ReadAvailable(char* buf, std::size_t len, std::size_t& n, short& want);
  // The same for writing, on a connection an Exchange with no commands has opened (a client
  // of another protocol: check's HTTP GET of /events). kOk with n == 0: wait for `want`.
  Status WriteAvailable(const char* buf, std::size_t len, std::size_t& n, short& want);

 private:
  friend class Executor;
  Address address_;
  Credentials credentials_;
  std::shared_ptr<const TlsContext> tls_;
  std::shared_ptr<Budget> budget_;  // null: none
  bool budgeted_ = false;           // holds one of budget_'s sockets
  int fd_ = -1;
  std::unique_ptr<TlsSession> tls_session_;  // null for plain TCP
  bool authenticated_ = false;
  std::uint64_t connects_ = 0;
};

// One pipelined batch of commands for one connection, and what came back.
struct Request {
  Connection* connection = nullptr;
  std::vector<std::vector<std::string>> commands;
  Status status;               // set when the request has finished
  std::vector<Reply> replies;  // one per command when status.ok(); error replies included
  // Bytes that arrived after the last expected reply, with the parser holding them: set only
  // then. A subscription's first pushes can come in the same read as its confirmation.
  std::unique_ptr<RespParser> rest;
  // Reply bytes taken from ExecuteOptions::reply_budget for this request's replies. A callback
  // that keeps the replies' contents moves this to its own account (and sets it to 0); what is
  // left is given back once the callback returns.
  std::size_t budgeted = 0;
};

struct ExecuteOptions {
  std::size_t max_reply_bytes = 64 * 1024 * 1024;  // a peer that streams forever is cut off
  // Reply bytes count against it as they arrive; a request that would go over it fails (kIo,
  // naming the budget), and a failed request gives its bytes back at once. Borrowed; null: none.
  Budget* reply_budget = nullptr;
};

class Executor;

// One request driven step by step by the caller's own poll loop: the same connect, TLS,
// AUTH and pipelined write and read as a Batch, with a deadline of its own and no loop of
// its own. A loop that also serves other sockets (the event stream's subscriptions) opens a
// connection this way without blocking them. It starts in the constructor (it may finish
// there); until done(), the caller polls fd() for events() and calls Step() with what poll
// reported (0 when poll timed out), at the latest at deadline(), when it fails with kTimeout.
// With no commands it ends once connected (TLS handshake and any AUTH done): a client of
// another protocol then uses the socket with ReadAvailable() and WriteAvailable().
// Not thread-safe; the connection must outlive it and serve nothing else meanwhile.
class Exchange {
 public:
  Exchange(Connection* connection, std::vector<std::vector<std::string>> commands, Deadline deadline,
           ExecuteOptions options = {});
  ~Exchange();
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;

  bool done() const;
  int fd() const;
  short events() const;
  Deadline deadline() const { return deadline_; }
  void Step(short revents);
  // The finished request (status, replies, rest), for the caller to move from once done().
  Request& request();

 private:
  struct State;
  Deadline deadline_;
  std::unique_ptr<State> state_;
};

// Runs requests concurrently on the calling thread (non-blocking sockets and poll), each
// node's commands pipelined in one round trip. A request's completion callback may add
// further requests (discovery: a Sentinel's reply names more nodes), so one slow node delays
// only what depends on it. Everything ends by the deadline: requests still running then fail
// with kTimeout, and requests added after it fail at once.
class Batch {
 public:
  using Callback = std::function<void(Request&)>;

  explicit Batch(Deadline deadline, ExecuteOptions options = {});
  // Under a deadline that may be brought forward meanwhile: Run notices it within
  // kSharedDeadlineCheck. `deadline` is borrowed and must outlive the batch.
  explicit Batch(const SharedDeadline* deadline, ExecuteOptions options = {});
  static constexpr std::chrono::milliseconds kSharedDeadlineCheck{20};
  ~Batch();
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;

  // Starts a request; `done` runs on this thread once it has finished, during Run().
  // The connection must not be in use by another unfinished request of this batch.
  void Add(Connection* connection, std::vector<std::vector<std::string>> commands, Callback done);
  // Returns when every request, including those added by callbacks, has finished.
  void Run();

 private:
  struct Entry;
  bool NotifyFinished();

  Deadline deadline_;                       // shared_'s, as last read, when there is one
  const SharedDeadline* shared_ = nullptr;  // borrowed
  ExecuteOptions options_;
  std::vector<char> read_buffer_;  // shared by the batch's requests: they run on one thread
  std::deque<Entry> entries_;
  size_t first_unfinished_ = 0;
};

}  // namespace rse::redis
