#pragma once

// Pure functions from Redis and Sentinel replies to values. No I/O, no metrics: tested on
// replies recorded from real Redis 7 (tests/fixtures).

#include <compare>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "redis/address.h"
#include "redis/reply.h"

namespace rse::collectors {

// A parse result: a value, or an error that says what was expected and what arrived.
template <typename T>
struct Parsed {
  std::optional<T> value;
  std::string error;

  bool ok() const { return value.has_value(); }
  static Parsed Fail(std::string why) { return Parsed{std::nullopt, std::move(why)}; }
};

// Field name -> raw value, as Redis gives them (INFO lines, SENTINEL name/value arrays).
// A duplicate name keeps its last value; iteration is in ascending name order.
//
// Flat on purpose: one character buffer plus a sorted index of offsets into it. A node's INFO
// has 150 to 200 fields; as a std::map<std::string, std::string> each field cost a tree node
// and up to two heap strings (~340 allocations per INFO), which made ParseInfo 20% of a
// scrape's instructions and its largest heap peak (1.6 MB at 60 nodes). Here a map holds two
// allocations (the buffer, which ParseInfo can adopt from the reply, and the index) and a
// lookup is a binary search. The index holds offsets, not string_views, so copies and moves
// never dangle.
//
// Iterators and the string_views they give (and those from Field/Get) stay valid until the map
// is modified or destroyed. Offsets are 32-bit: a map holds at most 4 GiB of text.
class FieldNames;

class FieldMap {
 public:
  using key_type = std::string_view;
  using mapped_type = std::string_view;
  using value_type = std::pair<std::string_view, std::string_view>;
  using size_type = std::size_t;

  class const_iterator;
  using iterator = const_iterator;

  // What operator[] returns: assigning to it inserts or replaces the field; reading it gives
  // the value, or "" when the field is missing (without inserting it, unlike std::map).
  class ValueRef {
   public:
    ValueRef& operator=(std::string_view value) {
      map_->insert_or_assign(key_, value);
      return *this;
    }
    ValueRef& operator=(const ValueRef& other) { return *this = std::string_view(other); }
    operator std::string_view() const { return map_->Get(key_).value_or(std::string_view{}); }
    ValueRef(const ValueRef&) = default;

   private:
    friend class FieldMap;
    ValueRef(FieldMap& map, std::string_view key) : map_(&map), key_(key) {}
    FieldMap* map_;
    std::string key_;  // a copy: the name may point into the map's own buffer
  };

  FieldMap() = default;
  // {{"ip", "10.0.0.1"}, {"port", "6379"}}; a repeated name keeps its last value.
  FieldMap(std::initializer_list<value_type> fields);

  const_iterator begin() const;
  const_iterator end() const;
  size_type size() const { return index_.size(); }
  bool empty() const { return index_.empty(); }
  void clear() {
    buffer_.clear();
    index_.clear();
  }

  const_iterator find(std::string_view name) const;
  size_type count(std::string_view name) const { return Get(name) ? 1 : 0; }
  std::optional<std::string_view> Get(std::string_view name) const;

  // Sets a field, inserting it or replacing its value. Invalidates iterators and views.
  void insert_or_assign(std::string_view name, std::string_view value);
  size_type erase(std::string_view name);  // 1 if the field was there, else 0
  ValueRef operator[](std::string_view name) { return ValueRef(*this, name); }

  friend bool operator==(const FieldMap& a, const FieldMap& b);

 private:
  friend class FieldNames;
  friend FieldMap ParseInfo(std::string&& text);
  friend FieldMap ParseInfoList(std::string_view value);
  friend Parsed<FieldMap> ParseFieldArray(const redis::Reply& reply);

  struct Entry {
    // The name's first 8 bytes, big-endian, zero-padded: most comparisons of the sort and of
    // lookups end here, without a call to memcmp.
    std::uint64_t prefix;
    std::uint32_t key, key_size, value, value_size;  // offsets and lengths into buffer_
  };
  static std::uint64_t Prefix(std::string_view name);
  static Entry MakeEntry(std::string_view name, std::uint32_t key, std::uint32_t value, std::uint32_t value_size) {
    return Entry{Prefix(name), key, static_cast<std::uint32_t>(name.size()), value, value_size};
  }

  std::string_view At(std::uint32_t offset, std::uint32_t size) const { return {buffer_.data() + offset, size}; }
  std::string_view KeyOf(const Entry& e) const { return At(e.key, e.key_size); }
  std::string_view ValueOf(const Entry& e) const { return At(e.value, e.value_size); }
  // <0, 0, >0 as e's name is less than, equal to or greater than `name` (whose prefix is given).
  int Compare(const Entry& e, std::uint64_t prefix, std::string_view name) const;
  // The first entry whose name is not less than `name`.
  std::vector<Entry>::const_iterator LowerBound(std::string_view name) const;
  // Copies bytes to the end of the buffer; returns their offset.
  std::uint32_t Append(std::string_view bytes);
  // Builds the index in any order with AddUnsorted, then sorts it once: cheaper than keeping it
  // sorted on every insertion.
  void AddUnsorted(std::string_view name, std::string_view value);
  void SortIndex();
  // Drops bytes no entry refers to (left by replaced or erased fields) once they dominate.
  void CompactIfSparse();

  std::string buffer_;
  std::vector<Entry> index_;  // sorted by name, names distinct
};

// Iterates the fields in name order; dereferencing gives a pair of views by value, so
// `for (const auto& [name, value] : fields)` works as with a std::map.
class FieldMap::const_iterator {
 public:
  // Random access, though it yields values, not references (as std::vector<bool>'s does).
  using iterator_concept = std::random_access_iterator_tag;
  using iterator_category = std::random_access_iterator_tag;
  using value_type = FieldMap::value_type;
  using difference_type = std::ptrdiff_t;
  using reference = value_type;
  struct pointer {
    value_type pair;
    const value_type* operator->() const { return &pair; }
  };

  const_iterator() = default;
  value_type operator*() const { return {map_->KeyOf(*entry_), map_->ValueOf(*entry_)}; }
  pointer operator->() const { return pointer{**this}; }
  value_type operator[](difference_type n) const { return *(*this + n); }

  const_iterator& operator++() {
    ++entry_;
    return *this;
  }
  const_iterator operator++(int) {
    auto old = *this;
    ++entry_;
    return old;
  }
  const_iterator& operator--() {
    --entry_;
    return *this;
  }
  const_iterator operator--(int) {
    auto old = *this;
    --entry_;
    return old;
  }
  const_iterator& operator+=(difference_type n) {
    entry_ += n;
    return *this;
  }
  const_iterator& operator-=(difference_type n) {
    entry_ -= n;
    return *this;
  }
  friend const_iterator operator+(const_iterator it, difference_type n) { return it += n; }
  friend const_iterator operator+(difference_type n, const_iterator it) { return it += n; }
  friend const_iterator operator-(const_iterator it, difference_type n) { return it -= n; }
  friend difference_type operator-(const const_iterator& a, const const_iterator& b) { return a.entry_ - b.entry_; }
  friend bool operator==(const const_iterator& a, const const_iterator& b) { return a.entry_ == b.entry_; }
  friend auto operator<=>(const const_iterator& a, const const_iterator& b) { return a.entry_ <=> b.entry_; }

 private:
  friend class FieldMap;
  const_iterator(const FieldMap* map, const Entry* entry) : map_(map), entry_(entry) {}
  const FieldMap* map_ = nullptr;
  const Entry* entry_ = nullptr;
};

inline FieldMap::const_iterator FieldMap::begin() const { return {this, index_.data()}; }
inline FieldMap::const_iterator FieldMap::end() const { return {this, index_.data() + index_.size()}; }

// A fixed list of field names, looked up together: one walk along the map's sorted index finds
// them all. A collector reading a hundred INFO fields of every node paid a binary search per
// field, an eighth of a scrape's rendering.
class FieldNames {
 public:
  // Any order; a name may repeat.
  FieldNames(std::initializer_list<std::string_view> names);
  explicit FieldNames(std::span<const std::string_view> names);

  std::size_t size() const { return sorted_.size(); }
  // values[i] = the value of the i-th name given, or nullopt when the map has no such field
  // (what FieldMap::Get gives). values.size() must be size().
  void Lookup(const FieldMap& fields, std::span<std::optional<std::string_view>> values) const;

 private:
  struct Name {
    std::uint64_t prefix;  // FieldMap::Prefix
    std::string_view name;
    std::size_t slot;  // position in the list given
  };
  std::vector<Name> sorted_;  // by name
};

// INFO text (any sections) -> one map of every "key:value" line. Section headers, blank
// lines and lines without a colon are skipped. The map indexes a copy of the text; the
// std::string&& overload adopts the string instead (pass std::move(reply.str)).
FieldMap ParseInfo(std::string_view text);
FieldMap ParseInfo(std::string&& text);
inline FieldMap ParseInfo(const char* text) { return ParseInfo(std::string_view(text)); }

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

// SENTINEL GET-MASTER-ADDR-BY-NAME: the address the Sentinel gives clients, a two-element
// array of host and port. A nil reply (unknown master) parses to an empty optional.
Parsed<std::optional<redis::Address>> ParseMasterAddr(const redis::Reply& reply);

// The states Sentinel reports in SENTINEL MASTER's "failover-state" field while a failover is
// in progress (sentinelFailoverStateStr), in the order a failover goes through them. "none"
// is also what a master without a failover is in.
inline constexpr std::string_view kFailoverStates[] = {
    "none", "wait_start", "select_slave", "send_slaveof_noone", "wait_promotion", "reconf_slaves", "update_config"};
// The master's failover state: "none" without the failover_in_progress flag, else the
// "failover-state" field when it names a known state, else "" (unknown).
std::string_view FailoverState(const FieldMap& master);

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
  std::string state;  // "online", "wait_bgsave", ...
  std::optional<double> offset;
  std::optional<double> lag_seconds;
};
std::vector<ConnectedReplica> ParseConnectedReplicas(const FieldMap& info);

// One "dbN" value of INFO keyspace.
struct KeyspaceEntry {
  std::string db;  // "db0"
  std::optional<double> keys;
  std::optional<double> expires;
  std::optional<double> avg_ttl_ms;
};
std::vector<KeyspaceEntry> ParseKeyspace(const FieldMap& info);

// The views below point into the FieldMap they were read from, and live as long as it does.

// One "cmdstat_NAME" value of INFO commandstats ("calls=3,usec=12,usec_per_call=4.00,
// rejected_calls=0,failed_calls=0"; the last two since Redis 6.2). In command name order.
struct CommandStat {
  std::string_view cmd;  // "get", "config|get"
  std::optional<double> calls, usec, rejected_calls, failed_calls;
};
std::vector<CommandStat> ParseCommandStats(const FieldMap& info);

// One "latency_percentiles_usec_NAME" value of INFO latencystats ("p50=1.003,p99=4.015,
// p99.9=4.015"). `percentiles` holds ("50", 1.003), ...; items that are not "pN=number" are
// skipped. In command name order.
struct LatencyStat {
  std::string_view cmd;
  std::vector<std::pair<std::string_view, double>> percentiles;
};
std::vector<LatencyStat> ParseLatencyStats(const FieldMap& info);

// One "errorstat_PREFIX" value of INFO errorstats ("count=3").
struct ErrorStat {
  std::string_view prefix;  // "ERR", "NOAUTH"
  std::optional<double> count;
};
std::vector<ErrorStat> ParseErrorStats(const FieldMap& info);

// The slowlog's length and newest entry, from the replies to SLOWLOG LEN and SLOWLOG GET 1.
struct Slowlog {
  double length = 0;
  double last_id = 0;  // 0 with an empty slowlog, as redis_exporter reports it
  double last_duration_seconds = 0;
};
Parsed<Slowlog> ParseSlowlog(const redis::Reply& len, const redis::Reply& get);

// The server's mode: "redis_mode" (Redis), or "server_mode" (Valkey 8, which has no redis_mode).
std::optional<std::string_view> ServerMode(const FieldMap& info);
// The version the server calls its own: "valkey_version" on Valkey (whose "redis_version" stays
// 7.2.4, the Redis it is compatible with), else "redis_version".
std::optional<std::string_view> ServerVersion(const FieldMap& info);
// A role (INFO replication's `role`, or a Sentinel's flags for a node, exactly), with Valkey's
// spellings: "master" or "primary"; "slave" or "replica".
bool IsPrimaryRole(std::string_view role);
bool IsReplicaRole(std::string_view role);

// Returns the value of a field, if present.
std::optional<std::string_view> Field(const FieldMap& fields, std::string_view name);

}  // namespace rse::collectors
