#pragma once

// What every data node is asked, and how the replies after INFO fill a DataNode. Discovery
// sends the commands and reads INFO itself (it decides whether the node is up); the rest is
// optional: a node that refuses CONFIG or SLOWLOG (an ACL without @admin) is still up.

#include <string>
#include <utility>
#include <vector>

#include "collectors/collector.h"
#include "model/snapshot.h"
#include "redis/reply.h"

namespace rse::collectors {

// The settings CONFIG GET asks for: redis_exporter's redis_config_* gauges, and `databases`
// (its keyspace series for empty databases). Nothing else: values such as requirepass never leave
// the node.
inline constexpr const char* kConfigNames[] = {"maxmemory", "maxclients", "io-threads", "databases"};

// INFO first (its reply decides whether the node is up), then CONFIG GET, then SLOWLOG LEN and
// SLOWLOG GET 1, as `needs` asks.
std::vector<std::vector<std::string>> DataNodeCommands(const Needs& needs);
// The same for a node that refused the first INFO because it names several sections (Redis
// before 7 takes one): INFO all, which has commandstats and errorstats there. Empty when
// DataNodeCommands asks one section or none, so there is nothing to fall back to.
std::vector<std::vector<std::string>> DataNodeCommandsBefore7(const Needs& needs);

// Reads the replies after INFO (replies[0]) into `node`. A refused or failed command leaves its
// part empty and adds a note (subject, message), which the scrape logs when it first appears.
void ReadOptionalReplies(const Needs& needs, const std::vector<redis::Reply>& replies, DataNode& node,
                         std::vector<std::pair<std::string, std::string>>& notes);

}  // namespace rse::collectors
