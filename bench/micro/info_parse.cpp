// Micro-benchmark behind bench/README.md recommendation 1: collectors::ParseInfo and
// ParseFieldArrays (the flat FieldMap of model/parse.h) against the
// std::map<std::string, std::string> they used to build, kept here only for comparison.
// For each: the parse, lookups (25 per INFO, about what the collectors read per node; 5 per
// Sentinel entry), the heap allocations, and the heap the maps keep (a scrape's snapshot keeps
// them all until the collectors have run).
// Not built by CMake; build the project, then (one command):
//   c++ -std=c++20 -O2 -I. bench/micro/info_parse.cpp build/librse_collectors.a build/librse_redis.a
//       -lhiredis -lssl -lcrypto -o /tmp/info_parse
//   /tmp/info_parse tests/fixtures/info-replica.resp tests/fixtures/sentinel-replicas.resp
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <new>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "model/parse.h"
#include "redis/reply.h"

// ---------------------------------------------------------------- heap accounting ----

// g++ warns that free() gets what operator new returned: it is malloc's, below.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

static size_t g_allocations = 0;
static long long g_live = 0;
static long long g_peak = 0;

void* operator new(size_t n) {
  void* p = std::malloc(n ? n : 1);
  if (!p) throw std::bad_alloc();
  ++g_allocations;
  g_live += static_cast<long long>(malloc_usable_size(p));
  g_peak = std::max(g_peak, g_live);
  return p;
}
void operator delete(void* p) noexcept {
  if (!p) return;
  g_live -= static_cast<long long>(malloc_usable_size(p));
  std::free(p);
}
void operator delete(void* p, size_t) noexcept { operator delete(p); }

// ------------------------------------------------- the std::map approach it replaced ----

using OldMap = std::map<std::string, std::string, std::less<>>;

static std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  return s;
}
static OldMap OldParseInfo(std::string_view text) {
  OldMap out;
  while (!text.empty()) {
    auto eol = text.find('\n');
    std::string_view line = Trim(text.substr(0, eol));
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    if (line.empty() || line.front() == '#') continue;
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;
    out.insert_or_assign(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
  }
  return out;
}
static std::vector<OldMap> OldParseFieldArrays(const rse::redis::Reply& reply) {
  std::vector<OldMap> out;
  out.reserve(reply.elements.size());
  for (const auto& e : reply.elements) {
    OldMap m;
    for (size_t i = 0; i + 1 < e.elements.size(); i += 2) m.insert_or_assign(e.elements[i].str, e.elements[i + 1].str);
    out.push_back(std::move(m));
  }
  return out;
}
static std::optional<std::string_view> OldField(const OldMap& m, std::string_view name) {
  auto it = m.find(name);
  if (it == m.end()) return std::nullopt;
  return std::string_view(it->second);
}

// ---------------------------------------------------------------------------- runs ----

static std::string ReadFile(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot open %s\n", path);
    std::exit(2);
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

static rse::redis::Reply ReadReply(const char* path) {
  rse::redis::Reply reply;
  std::string error;
  if (!rse::redis::ParseOneReply(ReadFile(path), reply, &error)) {
    std::fprintf(stderr, "%s: %s\n", path, error.c_str());
    std::exit(2);
  }
  return reply;
}

struct Result {
  double parse_ms = 0;
  double lookup_ms = 0;
  double allocations = 0;    // per parse (one INFO, or one reply of several entries)
  long long held_bytes = 0;  // live heap of all the maps, once their inputs are freed
};

// Times `parse` building `count` maps (prepare() makes each one's input outside the timing),
// then 25 lookups of `names` in each; median of 50 rounds.
template <typename Prepare, typename Parse, typename Lookup>
static Result Measure(int count, Prepare prepare, Parse parse, Lookup lookup) {
  std::vector<double> parse_t, lookup_t;
  Result r;
  for (int round = 0; round < 50; ++round) {
    const long long before = g_live;
    auto inputs = prepare(count);
    std::vector<decltype(parse(inputs[0]))> maps;
    maps.reserve(count);
    const size_t allocations = g_allocations;
    auto a = std::chrono::steady_clock::now();
    for (int n = 0; n < count; ++n) maps.push_back(parse(inputs[n]));
    auto b = std::chrono::steady_clock::now();
    r.allocations = double(g_allocations - allocations) / count;
    // What the maps keep once the replies are gone (an adopted reply string stays, in its map).
    inputs.clear();
    inputs.shrink_to_fit();
    r.held_bytes = g_live - before;
    size_t found = 0;
    auto c = std::chrono::steady_clock::now();
    for (const auto& m : maps) found += lookup(m);
    auto d = std::chrono::steady_clock::now();
    if (found == 0) std::fprintf(stderr, "no lookup found anything\n");
    parse_t.push_back(std::chrono::duration<double, std::milli>(b - a).count());
    lookup_t.push_back(std::chrono::duration<double, std::milli>(d - c).count());
  }
  std::sort(parse_t.begin(), parse_t.end());
  std::sort(lookup_t.begin(), lookup_t.end());
  r.parse_ms = parse_t[parse_t.size() / 2];
  r.lookup_ms = lookup_t[lookup_t.size() / 2];
  return r;
}

static void Print(const char* name, const Result& r) {
  std::printf("  %-46s parse %6.3f ms  lookups %6.3f ms  %6.1f allocs/parse  held %8lld bytes\n", name, r.parse_ms,
              r.lookup_ms, r.allocations, r.held_bytes);
}

// A straight sequence of measurements, each printed as it ends: one function (~90 lines) to
// read top to bottom.
int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: info_parse INFO.resp SENTINEL-ARRAYS.resp\n");
    return 2;
  }
  using rse::collectors::FieldMap;
  const std::string text = ReadReply(argv[1]).str;
  const rse::redis::Reply arrays = ReadReply(argv[2]);

  // The fields the collectors read from a data node's INFO (some missing on purpose).
  const std::vector<std::string_view> info_names{"role",
                                                 "connected_slaves",
                                                 "master_repl_offset",
                                                 "master_host",
                                                 "master_port",
                                                 "slave_repl_offset",
                                                 "master_link_status",
                                                 "master_last_io_seconds_ago",
                                                 "master_sync_in_progress",
                                                 "redis_version",
                                                 "uptime_in_seconds",
                                                 "connected_clients",
                                                 "blocked_clients",
                                                 "used_memory",
                                                 "used_memory_rss",
                                                 "maxmemory",
                                                 "mem_fragmentation_ratio",
                                                 "total_commands_processed",
                                                 "total_connections_received",
                                                 "expired_keys",
                                                 "evicted_keys",
                                                 "rdb_last_bgsave_status",
                                                 "aof_last_bgrewrite_status",
                                                 "db0",
                                                 "no_such_field"};
  const std::vector<std::string_view> sentinel_names{"name", "ip", "port", "flags", "master-link-status"};

  const int nodes = 60;
  std::printf("INFO: %s, %zu bytes, %zu fields; %d nodes\n", argv[1], text.size(),
              rse::collectors::ParseInfo(text).size(), nodes);
  auto copies = [&](int n) { return std::vector<std::string>(n, text); };
  auto info_lookup = [&](const auto& m) {
    size_t found = 0;
    for (auto name : info_names) {
      if constexpr (std::is_same_v<std::decay_t<decltype(m)>, OldMap>) {
        found += OldField(m, name).has_value();
      } else {
        found += rse::collectors::Field(m, name).has_value();
      }
    }
    return found;
  };
  Print("std::map<string,string> (before)",
        Measure(
            nodes, copies, [](const std::string& t) { return OldParseInfo(t); }, info_lookup));
  Print("FieldMap, ParseInfo(string_view): a copy",
        Measure(
            nodes, copies, [](const std::string& t) { return rse::collectors::ParseInfo(std::string_view(t)); },
            info_lookup));
  Print("FieldMap, ParseInfo(string&&): adopts",
        Measure(
            nodes, copies, [](std::string& t) { return rse::collectors::ParseInfo(std::move(t)); }, info_lookup));

  // One such reply per (Sentinel, group): 3 Sentinels x 20 groups.
  const int replies = 60;
  std::printf("\nSENTINEL REPLICAS/SENTINELS/MASTERS reply: %s, %zu entries; %d replies\n", argv[2],
              arrays.elements.size(), replies);
  auto reply_copies = [&](int n) { return std::vector<rse::redis::Reply>(n, arrays); };
  auto arrays_lookup = [&](const auto& maps) {
    size_t found = 0;
    for (const auto& m : maps) {
      for (auto name : sentinel_names) {
        if constexpr (std::is_same_v<std::decay_t<decltype(m)>, OldMap>) {
          found += OldField(m, name).has_value();
        } else {
          found += rse::collectors::Field(m, name).has_value();
        }
      }
    }
    return found;
  };
  Print("std::vector<std::map<string,string>> (before)",
        Measure(
            replies, reply_copies, [](const rse::redis::Reply& r) { return OldParseFieldArrays(r); }, arrays_lookup));
  Print("FieldMap, ParseFieldArrays",
        Measure(
            replies, reply_copies,
            [](const rse::redis::Reply& r) { return *rse::collectors::ParseFieldArrays(r).value; }, arrays_lookup));
}
