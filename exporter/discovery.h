#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "collectors/collector.h"
#include "exporter/probe_config.h"
#include "model/snapshot.h"
#include "redis/connection.h"

namespace rse {

// Where a topology is discovered from: Sentinels, and optionally the master groups to watch.
struct Target {
  std::vector<redis::Address> sentinels;
  std::vector<std::string> master_names;  // empty: every master the Sentinels monitor
};

struct FetchOptions {
  redis::Credentials redis_credentials;
  std::map<std::string, redis::Credentials> group_credentials;  // per master group overrides
  redis::Credentials sentinel_credentials;
  std::shared_ptr<const redis::TlsContext> redis_tls;
  std::shared_ptr<const redis::TlsContext> sentinel_tls;
  // Nodes that replies name (data nodes, peer Sentinels) get a password only when they match;
  // empty: any. The target's own Sentinels always do.
  std::vector<AddressPattern> allowed_addresses;
  collectors::Needs needs;
  std::size_t max_sentinels = 64;  // discovered peers beyond this are ignored
  // Data nodes asked per fetch; those named beyond it are left out, with a note. Replies are
  // up to 64 MiB, enough to name a million addresses: without a bound one hostile Sentinel
  // would have the exporter open connections until it has no descriptor left.
  std::size_t max_data_nodes = 4096;
  // The /probe targets' sockets, shared by all of them (pools and subscriptions); null: none.
  std::shared_ptr<redis::Budget> socket_budget;
  // Reply bytes, taken as replies arrive and held by a fetch's snapshot while it lives
  // (Snapshot::reply_hold): the configured topology's own (--redis.max-reply-bytes), or one
  // shared by every /probe target (--probe.max-reply-bytes); null: none. Broken or hostile
  // nodes cannot make the exporter hold more than this.
  std::shared_ptr<redis::Budget> reply_budget;
};

// How discovery reaches the nodes: the exporter sends the commands over its connections
// (exporter/pool.h), the pipeline fuzzer answers them from its input (fuzz/pipeline.cpp).
class Transport {
 public:
  enum class Kind { kSentinel, kData };
  using Callback = std::function<void(redis::Request&)>;

  virtual ~Transport() = default;
  // Sends the commands, pipelined, to the node at `addr` (a data node of master group `group`;
  // empty for a Sentinel), after AUTH with the node's credentials only if `authenticate`. `done` runs during Run() once
  // the request has finished: its status says whether it did, and when it did, its replies hold one reply per command.
  // `done` may ask more.
  virtual void Ask(Kind kind, const redis::Address& addr, const std::string& group, bool authenticate,
                   std::vector<std::vector<std::string>> commands, Callback done) = 0;
  // Returns when every request, including those asked by callbacks, has finished.
  virtual void Run() = 0;
  // What a data node's connection is known to refuse: INFO with several sections (Redis
  // before 7), so discovery asks INFO all at once instead of being refused first. A transport
  // that keeps no connections remembers nothing, and every fetch learns it anew.
  virtual bool InfoOneSection(const redis::Address& /*addr*/, const std::string& /*group*/) const { return false; }
  virtual void SetInfoOneSection(const redis::Address& /*addr*/, const std::string& /*group*/) {}
};

// The credentials for the data nodes of master group `group`.
const redis::Credentials& DataCredentials(const FetchOptions& options, const std::string& group);

// Whether `creds` may be sent to `addr`, a node or peer Sentinel a reply named: always without a
// pin or without a password; with a pin (allowed_addresses), only inside it. The one rule for
// discovery and for the event subscriptions.
bool MayReceiveCredentials(const FetchOptions& options, const redis::Address& addr, const redis::Credentials& creds);

// The pipeline discovery sends each Sentinel: INFO sentinel, SENTINEL MYID, then per master
// group REPLICAS, SENTINELS, CKQUORUM (with `ckquorum`) and GET-MASTER-ADDR-BY-NAME. With
// `named` (configured master names) each group's commands follow its SENTINEL MASTER; without,
// SENTINEL MASTERS comes first and `names` are the groups the previous fetch found, which ride
// along so that a steady topology needs no second round trip.
std::vector<std::vector<std::string>> SentinelCommands(const std::vector<std::string>& names, bool named,
                                                       bool ckquorum);

// A data node by its master group and address.
using NodeKey = std::pair<std::string, redis::Address>;

// A Sentinel by its address and SENTINEL MYID ("" when it did not answer).
struct SentinelKey {
  redis::Address address;
  std::string run_id;
};

// What a fetch of a target found, for the next fetch of the same target (Discover).
struct Found {
  std::vector<NodeKey> nodes;
  std::vector<SentinelKey> sentinels;
};
Found FoundIn(const collectors::Snapshot& snapshot);

// One discovery: the configured Sentinels are asked first; peers and data nodes that a
// Sentinel of the topology names are asked as soon as its reply names them, so a hung node
// delays nothing but itself. Returns the snapshot: Sentinels ordered by address, data nodes by
// (group, address).
//
// The topology: the configured Sentinels, every Sentinel a Sentinel of the topology names as a
// peer, and the data nodes they name.
//
// `previous`: what the previous fetch of this target found. Its Sentinels and data nodes are
// asked at once, beside the configured Sentinels (those outside the pin wait to be named), and
// without configured master names their groups are asked of each Sentinel in the pipeline of
// SENTINEL MASTERS: a steady topology costs one round trip per node. Only the topology joins
// the snapshot, with one more way in: a Sentinel of the previous fetch that answers and names
// as a peer a configured Sentinel or one of the previous fetch (by address or run id). That is
// what keeps a topology in view while the one configured Sentinel is down or has lost its
// configuration, and keeps out a Sentinel that has left it (it names none of them). A node of
// the previous fetch that the topology does not name is dropped, with its reply and notes, and
// so are the replies about a group MASTERS no longer lists; a group new to it costs a second
// round.
std::shared_ptr<collectors::Snapshot> Discover(const Target& target, const FetchOptions& options, Transport& transport,
                                               const Found& previous = {});

}  // namespace rse
