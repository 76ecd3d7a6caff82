#pragma once

// The connections a topology keeps open between fetches, and discovery's transport over them.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "exporter/discovery.h"
#include "redis/connection.h"

namespace rse {

// Connections kept open between fetches, one per (kind, address, group): a node named in two
// groups (a misconfiguration, but possible) is asked twice, each on its own connection.
// Entries a fetch did not use are closed at its end, so nodes that left the topology do not
// keep sockets open.
// Not thread-safe: the owning Topology lets one fetch at a time use it (its fetch_mu_).
class ConnectionPool {
 public:
  enum Kind { kSentinel, kData };

  ConnectionPool() = default;
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // The entry's connection, opened (lazily, by the connection itself) with `creds` and `tls`
  // the first time; marks it used by the current fetch.
  redis::Connection* Get(Kind kind, const redis::Address& addr, const redis::Credentials& creds,
                         const std::shared_ptr<const redis::TlsContext>& tls, const std::string& group = {},
                         const std::shared_ptr<redis::Budget>& budget = nullptr);
  // Whether the data node's connection is known to take INFO with one section only: the node
  // refused several (Redis before 7) on this very connection. A reconnect forgets it, so a node
  // upgraded in place is asked several sections again.
  bool InfoOneSection(const redis::Address& addr, const std::string& group) const;
  void SetInfoOneSection(const redis::Address& addr, const std::string& group);
  // Closes the entries the fetch just ended did not use; clears the mark of the others.
  void DropUnused();
  // New TCP connections opened so far, by live and dropped entries alike.
  std::uint64_t Connects() const;

 private:
  struct Key {
    Kind kind;
    redis::Address address;
    std::string group;  // data nodes: the master group that named it; "" for a Sentinel
    auto operator<=>(const Key&) const = default;
  };
  struct Entry {
    std::unique_ptr<redis::Connection> conn;
    bool used = false;  // by the fetch under way
    // conn->connects() when the node refused INFO with several sections; 0: it has not
    std::uint64_t info_one_section_at = 0;
  };
  std::map<Key, Entry> entries_;
  std::uint64_t closed_connects_ = 0;  // connects of connections already dropped
};

// Discovery's requests as one redis::Batch over a pool's connections; lives for one fetch.
// `options`, `pool` and `deadline` must outlive it. With FetchOptions::reply_budget, the bytes
// of the replies discovery keeps stay taken until the transport ends or TakeReplyHold.
class PoolTransport : public Transport {
 public:
  PoolTransport(const FetchOptions& options, ConnectionPool& pool, const redis::SharedDeadline& deadline)
      : options_(options),
        pool_(pool),
        batch_(&deadline, redis::ExecuteOptions{.reply_budget = options.reply_budget.get()}) {}
  ~PoolTransport() override;
  PoolTransport(const PoolTransport&) = delete;
  PoolTransport& operator=(const PoolTransport&) = delete;

  void Ask(Kind kind, const redis::Address& addr, const std::string& group, bool authenticate,
           std::vector<std::vector<std::string>> commands, Callback done) override;
  void Run() override { batch_.Run(); }
  bool InfoOneSection(const redis::Address& addr, const std::string& group) const override {
    return pool_.InfoOneSection(addr, group);
  }
  void SetInfoOneSection(const redis::Address& addr, const std::string& group) override {
    pool_.SetInfoOneSection(addr, group);
  }
  // The reply bytes kept so far, as a hold that gives them back when its last copy goes (for
  // the snapshot that holds the replies' contents); null without a budget. Call after Run.
  std::shared_ptr<const void> TakeReplyHold();

 private:
  const FetchOptions& options_;
  ConnectionPool& pool_;
  std::size_t kept_ = 0;  // reply bytes of finished requests, taken from options_.reply_budget
  redis::Batch batch_;
};

}  // namespace rse
