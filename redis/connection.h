#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "redis/address.h"
#include "redis/reply.h"

namespace rse::redis {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

// Why a node could not be asked: a small closed set, so logs and tests can rely on it.
enum class Cause { kOk, kRefused, kTimeout, kAuth, kProtocol, kClosed, kResolve, kIo };
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

// One TCP connection to one node, kept open between requests so a scrape in steady state
// opens no new connection. Not thread-safe: a connection serves one request at a time.
// It is closed after any failure and reopened (and re-authenticated) by the next request.
class Connection {
 public:
  Connection(Address address, Credentials credentials);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  const Address& address() const { return address_; }
  bool IsOpen() const { return fd_ >= 0; }
  // TCP connections opened so far (each failure and reconnect adds one).
  std::uint64_t connects() const { return connects_; }
  void Close();

 private:
  friend class Executor;
  Address address_;
  Credentials credentials_;
  int fd_ = -1;
  bool authenticated_ = false;
  std::uint64_t connects_ = 0;
};

// One pipelined batch of commands for one connection, and what came back.
struct Request {
  Connection* connection = nullptr;
  std::vector<std::vector<std::string>> commands;
  Status status;               // set by Execute
  std::vector<Reply> replies;  // one per command when status.ok(); error replies included
};

struct ExecuteOptions {
  std::size_t max_reply_bytes = 64 * 1024 * 1024;  // a peer that streams forever is cut off
};

// Runs all requests concurrently on the calling thread (non-blocking sockets and poll),
// each node with one round trip for its whole batch. Returns when every request has
// finished or the deadline has passed; those still running then fail with kTimeout.
void Execute(std::vector<Request>& requests, Deadline deadline, const ExecuteOptions& options = {});

}  // namespace rse::redis
