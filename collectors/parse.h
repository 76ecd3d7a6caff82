#pragma once

// Pure functions from Redis and Sentinel replies to values. No I/O, no metrics: tested on
// replies recorded from real Redis 7 (tests/fixtures).

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "redis/address.h"
#include "redis/reply.h"

namespace rse::collectors {

// Field name -> raw value, as Redis gives them (INFO lines, SENTINEL name/value arrays).
using FieldMap = std::map<std::string, std::string, std::less<>>;

// A parse result: a value, or an error that says what was expected and what arrived.
template <typename T>
struct Parsed {
  std::optional<T> value;
  std::string error;

  bool ok() const { return value.has_value(); }
  static Parsed Fail(std::string why) { return Parsed{std::nullopt, std::move(why)}; }
};

// INFO text (any sections) -> one map of every "key:value" line. Section headers, blank
// lines and lines without a colon are skipped.
FieldMap ParseInfo(std::string_view text);

// "ip=127.0.0.1,port=17001,state=online" (INFO slaveN, masterN, dbN values) -> map.
FieldMap ParseInfoList(std::string_view value);

// The reply of SENTINEL MASTER: a flat array of name, value, name, value, ...
Parsed<FieldMap> ParseFieldArray(const redis::Reply& reply);

// The reply of SENTINEL MASTERS / REPLICAS / SENTINELS: an array of flat name/value arrays.
Parsed<std::vector<FieldMap>> ParseFieldArrays(const redis::Reply& reply);

struct Ckquorum {
  bool ok = false;
  std::optional<double> usable_sentinels;  // "+OK 3 usable Sentinels..." -> 3
};

// SENTINEL CKQUORUM: "+OK n usable ..." or "-NOQUORUM n usable ...". Other errors (such as
// "ERR No such master") are returned as a failed parse carrying the server's text.
Parsed<Ckquorum> ParseCkquorum(const redis::Reply& reply);

// A whole decimal number (integer or float, optional sign); nullopt for anything else,
// so a missing or garbled field is never mistaken for zero.
std::optional<double> ParseNumber(std::string_view text);

// "s_down,master,disconnected" -> {"s_down", "master", "disconnected"}.
std::vector<std::string> SplitFlags(std::string_view flags);
bool HasFlag(std::string_view flags, std::string_view flag);

// An address from two fields: "ip"/"port" of SENTINEL replies, "master-host"/"master-port"
// of SENTINEL REPLICAS, "master_host"/"master_port" of INFO replication.
std::optional<redis::Address> AddressOf(const FieldMap& fields, std::string_view host_field = "ip",
                                        std::string_view port_field = "port");

// One "slaveN" value of INFO replication on a master.
struct ConnectedReplica {
  redis::Address address;
  std::string state;                // "online", "wait_bgsave", ...
  std::optional<double> offset;
  std::optional<double> lag_seconds;
};
std::vector<ConnectedReplica> ParseConnectedReplicas(const FieldMap& info);

// One "dbN" value of INFO keyspace.
struct KeyspaceEntry {
  std::string db;  // "db0"
  std::optional<double> keys;
  std::optional<double> expires;
};
std::vector<KeyspaceEntry> ParseKeyspace(const FieldMap& info);

// Returns the value of a field, if present.
std::optional<std::string_view> Field(const FieldMap& fields, std::string_view name);

}  // namespace rse::collectors
