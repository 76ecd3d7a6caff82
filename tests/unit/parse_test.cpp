// model/parse.h: pure functions from recorded Redis / Sentinel replies to values.
#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "fixtures.h"
#include "model/parse.h"

namespace {

using rse::collectors::AddressOf;
using rse::collectors::Field;
using rse::collectors::FieldMap;
using rse::collectors::FieldNames;
using rse::collectors::HasFlag;
using rse::collectors::ParseCkquorum;
using rse::collectors::ParseConnectedReplicas;
using rse::collectors::ParseFieldArray;
using rse::collectors::ParseFieldArrays;
using rse::collectors::ParseInfo;
using rse::collectors::ParseInfoList;
using rse::collectors::ParseKeyspace;
using rse::collectors::ParseNumber;
using rse::collectors::SplitFlags;
using rse::redis::Reply;
using rse::test::FixtureMasterPort;
using rse::test::LoadFieldArrayFixture;
using rse::test::LoadFieldArraysFixture;
using rse::test::LoadFixture;
using rse::test::LoadInfoFixture;

std::string Get(const FieldMap& fields, std::string_view name) {
  auto v = Field(fields, name);
  REQUIRE_MESSAGE(v.has_value(), "field " << name << " missing");
  return std::string(*v);
}

double Num(const FieldMap& fields, std::string_view name) {
  auto v = ParseNumber(Get(fields, name));
  REQUIRE_MESSAGE(v.has_value(), "field " << name << " is not a number: " << Get(fields, name));
  return *v;
}

// No key is a section header, and no key or value keeps the CR of the CRLF line ends.
void CheckClean(const FieldMap& info) {
  for (const auto& [key, value] : info) {
    const auto& field = key;  // clang 14 cannot capture a structured binding in CAPTURE's lambda
    CAPTURE(field);
    CHECK_FALSE(key.empty());
    CHECK(key.front() != '#');
    CHECK(key.find('\r') == std::string::npos);
    CHECK(value.find('\r') == std::string::npos);
    CHECK(value.find('\n') == std::string::npos);
  }
}

Reply Str(std::string s) { return Reply::String(std::move(s)); }
Reply Int(long long v) {
  Reply r;
  r.type = Reply::Type::kInteger;
  r.integer = v;
  return r;
}
Reply Array(std::vector<Reply> elements) {
  Reply r;
  r.type = Reply::Type::kArray;
  r.elements = std::move(elements);
  return r;
}
Reply Status(std::string s) {
  Reply r;
  r.type = Reply::Type::kStatus;
  r.str = std::move(s);
  return r;
}

}  // namespace

// ------------------------------------------------------------------ INFO ----

TEST_CASE("parse: ParseInfo on INFO replication of the master") {
  const auto info = LoadInfoFixture("info-replication-master.resp");
  CheckClean(info);
  CHECK(Get(info, "role") == "master");
  CHECK(Num(info, "connected_slaves") == 2);
  CHECK(Num(info, "master_repl_offset") > 0);
  CHECK(Num(info, "second_repl_offset") == -1);
  // One section of about fifteen fields: the header and the blank line are not fields.
  CHECK(info.size() >= 10);
  CHECK(info.size() <= 25);
  CHECK_FALSE(Field(info, "redis_version").has_value());  // no other section
}

TEST_CASE("parse: ParseInfo on INFO replication of a replica") {
  const int p = FixtureMasterPort();
  const auto info = LoadInfoFixture("info-replication-replica.resp");
  CheckClean(info);
  CHECK(Get(info, "role") == "slave");
  CHECK(Get(info, "master_host") == "127.0.0.1");
  CHECK(Num(info, "master_port") == p);
  CHECK(Get(info, "master_link_status") == "up");
  CHECK(Num(info, "connected_slaves") == 0);
  CHECK(Num(info, "slave_repl_offset") > 0);
  CHECK(ParseConnectedReplicas(info).empty());
}

TEST_CASE("parse: ParseInfo on full INFO reads every section into one map") {
  for (const char* name : {"info-master.resp", "info-replica.resp"}) {
    CAPTURE(name);
    const auto info = LoadInfoFixture(name);
    CheckClean(info);
    CHECK(info.size() >= 100);  // Server .. Keyspace: well over a hundred fields
    CHECK(Get(info, "redis_version").rfind("7.", 0) == 0);
    CHECK(Num(info, "uptime_in_seconds") >= 0);
    CHECK(Num(info, "used_memory") > 0);
    CHECK(Get(info, "rdb_last_bgsave_status") == "ok");
    CHECK(Field(info, "db0").has_value());
  }
  CHECK(Get(LoadInfoFixture("info-master.resp"), "role") == "master");
  CHECK(Get(LoadInfoFixture("info-replica.resp"), "role") == "slave");
}

TEST_CASE("parse: ParseInfo on INFO sentinel") {
  const int p = FixtureMasterPort();
  const auto info = LoadInfoFixture("info-sentinel.resp");
  CheckClean(info);
  CHECK(Num(info, "sentinel_masters") == 1);
  CHECK(Num(info, "sentinel_tilt") == 0);
  CHECK(Num(info, "sentinel_running_scripts") == 0);
  CHECK_FALSE(Field(info, "role").has_value());
  const auto master0 = ParseInfoList(Get(info, "master0"));
  CHECK(Get(master0, "name") == "aragora-master");
  CHECK(Get(master0, "status") == "ok");
  CHECK(Get(master0, "address") == rse::test::LocalAddr(p));  // "=" splits, ":" stays in the value
  CHECK(Num(master0, "slaves") == 2);
  CHECK(Num(master0, "sentinels") == 3);
}

TEST_CASE("parse: INFO replication answered by a Sentinel has no fields") {
  const auto info = LoadInfoFixture("info-replication-on-sentinel.resp");
  CHECK(info.empty());
  CHECK_FALSE(Field(info, "role").has_value());
}

TEST_CASE("parse: ParseInfo skips headers, blank and colon-less lines, and handles LF or CRLF") {
  const auto info = ParseInfo(
      "# Server\r\nredis_version:7.0.15\r\n\r\nnot a field\r\n:novalue\r\n"
      "executable:/usr/bin/redis-server\nrole:master");
  CHECK(info.size() == 3);
  CHECK(Get(info, "redis_version") == "7.0.15");
  CHECK(Get(info, "executable") == "/usr/bin/redis-server");  // only the first colon splits
  CHECK(Get(info, "role") == "master");
  CHECK(ParseInfo("").empty());
  CHECK(ParseInfo("\r\n\r\n").empty());
}

TEST_CASE("parse: ParseConnectedReplicas on the master's INFO") {
  const int p = FixtureMasterPort();
  for (const char* name : {"info-master.resp", "info-replication-master.resp"}) {
    CAPTURE(name);
    const auto replicas = ParseConnectedReplicas(LoadInfoFixture(name));
    REQUIRE(replicas.size() == 2);
    std::set<int> ports;
    for (const auto& r : replicas) {
      CHECK(r.address.host == "127.0.0.1");
      ports.insert(r.address.port);
      CHECK(r.state == "online");
      REQUIRE(r.offset.has_value());
      CHECK(*r.offset >= 0);
      REQUIRE(r.lag_seconds.has_value());
      CHECK(*r.lag_seconds >= 0);
    }
    CHECK(ports == std::set<int>{p + 1, p + 2});
  }
}

TEST_CASE("parse: ParseConnectedReplicas keeps garbled numbers missing and skips entries without an address") {
  FieldMap info{{"slave0", "ip=10.0.0.1,port=6380,state=wait_bgsave,offset=abc"},
                {"slave1", "ip=10.0.0.2,state=online,offset=1"},   // no port
                {"slave2", "ip=10.0.0.3,port=0,state=online"},     // invalid port
                {"slavex", "ip=10.0.0.4,port=6381,state=online"},  // not slaveN
                {"slave_repl_offset", "100"}};
  const auto replicas = ParseConnectedReplicas(info);
  REQUIRE(replicas.size() == 1);
  CHECK(replicas[0].address.ToString() == "10.0.0.1:6380");
  CHECK(replicas[0].state == "wait_bgsave");
  CHECK_FALSE(replicas[0].offset.has_value());  // "abc": missing, never 0
  CHECK_FALSE(replicas[0].lag_seconds.has_value());
}

TEST_CASE("parse: ParseKeyspace") {
  auto ks = ParseKeyspace(ParseInfo("db0:keys=3,expires=1,avg_ttl=0"));
  REQUIRE(ks.size() == 1);
  CHECK(ks[0].db == "db0");
  CHECK(ks[0].keys == 3);
  CHECK(ks[0].expires == 1);

  // Only dbN keys count (not e.g. "dbfilename"), and a garbled count stays missing.
  ks = ParseKeyspace(FieldMap{{"dbfilename", "dump.rdb"}, {"db", "keys=1"}, {"db10", "keys=x,expires=0"}});
  REQUIRE(ks.size() == 1);
  CHECK(ks[0].db == "db10");
  CHECK_FALSE(ks[0].keys.has_value());
  CHECK(ks[0].expires == 0);

  // The recorded master has the two keys scripts/record-fixtures.sh wrote, one expiring.
  ks = ParseKeyspace(LoadInfoFixture("info-master.resp"));
  REQUIRE(ks.size() == 1);
  CHECK(ks[0].db == "db0");
  CHECK(ks[0].keys == 2);
  CHECK(ks[0].expires == 1);
}

// ------------------------------------------------------------ SENTINEL ------

TEST_CASE("parse: ParseFieldArray on SENTINEL MASTER") {
  const int p = FixtureMasterPort();
  const auto m = LoadFieldArrayFixture("sentinel-master.resp");
  CHECK(Get(m, "name") == "aragora-master");
  CHECK(Get(m, "ip") == "127.0.0.1");
  CHECK(Num(m, "port") == p);
  CHECK(Get(m, "flags") == "master");
  CHECK(Num(m, "num-slaves") == 2);
  CHECK(Num(m, "num-other-sentinels") == 2);
  CHECK(Num(m, "quorum") == 2);
  CHECK(Num(m, "down-after-milliseconds") == 1000);
  CHECK(Num(m, "failover-timeout") == 60000);
  CHECK(Num(m, "parallel-syncs") == 1);
  CHECK(Get(m, "runid").size() == 40);
  auto addr = AddressOf(m);
  REQUIRE(addr.has_value());
  CHECK(addr->ToString() == rse::test::LocalAddr(p));
}

TEST_CASE("parse: ParseFieldArrays on SENTINEL MASTERS matches SENTINEL MASTER") {
  const auto masters = LoadFieldArraysFixture("sentinel-masters.resp");
  REQUIRE(masters.size() == 1);
  const auto one = LoadFieldArrayFixture("sentinel-master.resp");
  for (const char* key : {"name", "ip", "port", "runid", "flags", "num-slaves", "num-other-sentinels", "quorum",
                          "down-after-milliseconds", "config-epoch"}) {
    CAPTURE(key);
    CHECK(Get(masters[0], key) == Get(one, key));
  }
  CHECK(masters[0].size() == one.size());
}

TEST_CASE("parse: ParseFieldArrays on SENTINEL REPLICAS") {
  const int p = FixtureMasterPort();
  const auto replicas = LoadFieldArraysFixture("sentinel-replicas.resp");
  REQUIRE(replicas.size() == 2);
  std::set<std::string> addrs;
  for (const auto& r : replicas) {
    CHECK(Get(r, "flags") == "slave");
    CHECK(Get(r, "ip") == "127.0.0.1");
    CHECK(Get(r, "master-host") == "127.0.0.1");
    CHECK(Num(r, "master-port") == p);
    CHECK(Get(r, "master-link-status") == "ok");
    CHECK(Num(r, "slave-repl-offset") >= 0);
    auto addr = AddressOf(r);
    REQUIRE(addr.has_value());
    CHECK(Get(r, "name") == addr->ToString());  // Sentinel names a replica by its address
    addrs.insert(addr->ToString());
  }
  CHECK(addrs == std::set<std::string>{rse::test::LocalAddr(p + 1), rse::test::LocalAddr(p + 2)});
}

TEST_CASE("parse: ParseFieldArrays on SENTINEL SENTINELS, healthy and with two peers stopped") {
  const int p = FixtureMasterPort();
  const std::set<std::string> peers{rse::test::LocalAddr(p + 4), rse::test::LocalAddr(p + 5)};

  const auto healthy = LoadFieldArraysFixture("sentinel-sentinels.resp");
  REQUIRE(healthy.size() == 2);  // peers only, not the Sentinel that answered
  std::set<std::string> addrs;
  for (const auto& s : healthy) {
    CHECK(Get(s, "flags") == "sentinel");
    CHECK(Get(s, "runid").size() == 40);
    CHECK(Num(s, "last-hello-message") >= 0);
    auto addr = AddressOf(s);
    REQUIRE(addr.has_value());
    addrs.insert(addr->ToString());
  }
  CHECK(addrs == peers);

  const auto stopped = LoadFieldArraysFixture("sentinel-sentinels-2-stopped.resp");
  REQUIRE(stopped.size() == 2);  // stopped peers stay listed: only their flags change
  addrs.clear();
  for (const auto& s : stopped) {
    const std::string flags = Get(s, "flags");
    CHECK(HasFlag(flags, "s_down"));
    CHECK(HasFlag(flags, "sentinel"));
    CHECK(HasFlag(flags, "disconnected"));
    CHECK(flags != "sentinel");
    addrs.insert(AddressOf(s)->ToString());
  }
  CHECK(addrs == peers);
}

TEST_CASE("parse: wrong shapes fail with what was expected and what arrived") {
  SUBCASE("odd-length array") {
    auto r = ParseFieldArray(Array({Str("name"), Str("x"), Str("flags")}));
    CHECK_FALSE(r.ok());
    CHECK(r.error.find("even") != std::string::npos);
    CHECK(r.error.find('3') != std::string::npos);
  }
  SUBCASE("an integer among the strings") {
    auto r = ParseFieldArray(Array({Str("port"), Int(26379)}));
    CHECK_FALSE(r.ok());
    CHECK(r.error.find("string") != std::string::npos);
    CHECK(r.error.find("integer") != std::string::npos);
  }
  SUBCASE("a nil among the strings") {
    auto r = ParseFieldArray(Array({Str("ip"), Reply{}}));
    CHECK_FALSE(r.ok());
    CHECK(r.error.find("nil") != std::string::npos);
  }
  SUBCASE("a status where an array is expected") {
    auto r = ParseFieldArray(Status("OK"));
    CHECK_FALSE(r.ok());
    CHECK(r.error.find("array") != std::string::npos);
    CHECK(r.error.find("status") != std::string::npos);
    auto rs = ParseFieldArrays(Status("OK"));
    CHECK_FALSE(rs.ok());
    CHECK(rs.error.find("array") != std::string::npos);
    CHECK(rs.error.find("status") != std::string::npos);
  }
  SUBCASE("a bulk string where an array of arrays is expected") {
    auto rs = ParseFieldArrays(LoadFixture("sentinel-myid.resp"));
    CHECK_FALSE(rs.ok());
    CHECK(rs.error.find("bulk string") != std::string::npos);
  }
  SUBCASE("a flat array where an array of arrays is expected names the element") {
    auto rs = ParseFieldArrays(LoadFixture("sentinel-master.resp"));
    CHECK_FALSE(rs.ok());
    CHECK(rs.error.find("element 0") != std::string::npos);
    CHECK(rs.error.find("bulk string") != std::string::npos);
  }
  SUBCASE("a server error is passed through as the error text") {
    auto r = ParseFieldArray(LoadFixture("sentinel-master-unknown.resp"));
    CHECK_FALSE(r.ok());
    CHECK(r.error == "ERR No such master with that name");
    auto rs = ParseFieldArrays(LoadFixture("sentinel-on-data-node.resp"));
    CHECK_FALSE(rs.ok());
    CHECK(rs.error.rfind("ERR unknown command 'SENTINEL'", 0) == 0);
  }
  SUBCASE("an empty array is valid: no masters") {
    auto rs = ParseFieldArrays(Array({}));
    REQUIRE(rs.ok());
    CHECK(rs.value->empty());
  }
}

TEST_CASE("parse: ParseCkquorum") {
  auto ok = ParseCkquorum(LoadFixture("sentinel-ckquorum-ok.resp"));
  REQUIRE(ok.ok());
  CHECK(ok.value->ok);
  CHECK(ok.value->usable_sentinels == 3);

  auto no = ParseCkquorum(LoadFixture("sentinel-ckquorum-noquorum.resp"));
  REQUIRE(no.ok());  // NOQUORUM is an answer, not a failure to get one
  CHECK_FALSE(no.value->ok);
  CHECK(no.value->usable_sentinels == 1);

  auto unknown = ParseCkquorum(LoadFixture("sentinel-ckquorum-unknown.resp"));
  CHECK_FALSE(unknown.ok());
  CHECK(unknown.error == "ERR No such master with that name");

  auto array = ParseCkquorum(Array({}));
  CHECK_FALSE(array.ok());
  CHECK(array.error.find("array") != std::string::npos);

  // An OK whose count cannot be read still says OK, with the count missing (not 0).
  auto odd = ParseCkquorum(Status("OK many usable Sentinels"));
  REQUIRE(odd.ok());
  CHECK(odd.value->ok);
  CHECK_FALSE(odd.value->usable_sentinels.has_value());

  // A status that is not OK is not a quorum.
  CHECK_FALSE(ParseCkquorum(Status("QUEUED")).ok());
}

// ------------------------------------------------------------- helpers ------

TEST_CASE("parse: ParseNumber keeps missing distinguishable from zero") {
  CHECK(ParseNumber("12") == 12.0);
  CHECK(ParseNumber("-1") == -1.0);
  CHECK(ParseNumber("0.5") == 0.5);
  CHECK(ParseNumber("+7") == 7.0);
  auto zero = ParseNumber("0");
  REQUIRE(zero.has_value());
  CHECK(*zero == 0.0);
  CHECK(ParseNumber("18446744073709551615").has_value());  // beyond int64: still a number
  for (const char* bad :
       {"", "abc", "1x", "x1", " 12", "12 ", "inf", "-inf", "nan", "NaN", "1,5", "0x10", "--1", "+", "-", "."}) {
    CAPTURE(bad);
    CHECK_FALSE(ParseNumber(bad).has_value());
  }
}

TEST_CASE("parse: ParseNumber reads decimals to the double from_chars gives") {
  // The decimals INFO writes (latency percentiles, CPU seconds, ratios) take a shorter path
  // than from_chars; the double must be the same, to the bit.
  auto from_chars = [](std::string_view text) {
    double v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    REQUIRE(ec == std::errc());
    REQUIRE(end == text.data() + text.size());
    return v;
  };
  for (const char* text : {"1.003", "182.271", "99.9", "0.1", "0.3", "-0.5", "12.031", "0.000001", "123456.789012",
                           "999999999999.999", "1.00000000000001", "0.123456789012345", "4503599627370.497",
                           "-99999.0000000001", "1.5", "2.675", "00.10", "7.0", "0.0"}) {
    CAPTURE(text);
    auto v = ParseNumber(text);
    REQUIRE(v.has_value());
    CHECK(std::bit_cast<std::uint64_t>(*v) == std::bit_cast<std::uint64_t>(from_chars(text)));
  }
  // Beyond 15 digits, and forms other than digits.digits, still go through from_chars.
  CHECK(ParseNumber("1234567890.1234567") == from_chars("1234567890.1234567"));
  CHECK(ParseNumber("1e3") == 1000.0);
  CHECK(ParseNumber("-0.0").has_value());
  CHECK(std::signbit(*ParseNumber("-0.0")));
  // Pseudo-random decimals of every length the short path takes.
  std::uint64_t x = 88172645463325252ull;
  for (int i = 0; i < 20000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    std::string digits = std::to_string(x % 1000000000000000ull).substr(0, 1 + x % 15);
    const size_t point = 1 + (x >> 20) % digits.size();
    if (point >= digits.size()) continue;
    const std::string text = digits.substr(0, point) + "." + digits.substr(point);
    CAPTURE(text);
    auto v = ParseNumber(text);
    REQUIRE(v.has_value());
    REQUIRE(std::bit_cast<std::uint64_t>(*v) == std::bit_cast<std::uint64_t>(from_chars(text)));
  }
  // Near misses of the short path: whatever from_chars makes of them, ParseNumber makes too.
  for (const char* odd : {"1.", ".5", "1..2", "1.2.3", "-.5", "1.-2", "1.2x", "-1.", "1.e5", "1.5e-3"}) {
    CAPTURE(odd);
    const std::string_view text = odd;
    double v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    const bool whole = ec == std::errc() && end == text.data() + text.size();
    REQUIRE(ParseNumber(text).has_value() == whole);
    if (whole) CHECK(*ParseNumber(text) == v);
  }
}

TEST_CASE("parse: FieldNames finds many fields in one pass, as FieldMap::Get does one by one") {
  const auto info = LoadInfoFixture("info-full-master.resp");
  // In no order, with a repeat, names before the first field, after the last, between two,
  // and names sharing 8 or more first bytes (the index compares those first).
  const std::vector<std::string_view> names{
      "used_memory_rss", "role",          "aaa",         "zzzz", "used_memory", "used_memory_peak",  "role",
      "used_memor",      "used_memory_x", "cmdstat_set", "",     "db0",         "uptime_in_seconds", "used_cpu_sys"};
  const FieldNames lookup(names);
  REQUIRE(lookup.size() == names.size());
  std::vector<std::optional<std::string_view>> values(names.size(), std::string_view("stale"));
  lookup.Lookup(info, values);
  int found = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    CAPTURE(names[i]);
    CHECK(values[i] == info.Get(names[i]));
    found += values[i].has_value();
  }
  CHECK(found == 9);

  // Every field of the map at once; and an empty map has none of them.
  std::vector<std::string_view> all;
  for (const auto& [name, value] : info) all.push_back(name);
  std::reverse(all.begin(), all.end());
  std::vector<std::optional<std::string_view>> got(all.size());
  FieldNames(all).Lookup(info, got);
  for (size_t i = 0; i < all.size(); ++i) CHECK(got[i] == info.Get(all[i]));
  FieldNames(all).Lookup(FieldMap{}, got);
  CHECK(std::none_of(got.begin(), got.end(), [](const auto& v) { return v.has_value(); }));
}

TEST_CASE("parse: SplitFlags and HasFlag") {
  CHECK(SplitFlags("s_down,master,disconnected") == std::vector<std::string>{"s_down", "master", "disconnected"});
  CHECK(SplitFlags("master") == std::vector<std::string>{"master"});
  CHECK(SplitFlags("").empty());
  CHECK(SplitFlags("master,,slave,") == std::vector<std::string>{"master", "slave"});

  CHECK(HasFlag("s_down,master,disconnected", "s_down"));
  CHECK(HasFlag("s_down,master,disconnected", "master"));
  CHECK(HasFlag("s_down,master,disconnected", "disconnected"));
  CHECK_FALSE(HasFlag("s_down,master,disconnected", "o_down"));
  CHECK_FALSE(HasFlag("s_down,master,disconnected", "down"));  // whole flags only, not substrings
  CHECK_FALSE(HasFlag("s_down,master,disconnected", "s_down,master"));
  CHECK_FALSE(HasFlag("", "master"));
  CHECK(HasFlag("master,,slave,", "slave"));
  CHECK_FALSE(HasFlag("master,,slave,", ""));
}

TEST_CASE("parse: AddressOf needs a valid ip and port") {
  CHECK(AddressOf(FieldMap{{"ip", "10.0.0.1"}, {"port", "6379"}})->ToString() == "10.0.0.1:6379");
  CHECK(AddressOf(FieldMap{{"ip", "::1"}, {"port", "6379"}})->ToString() == "[::1]:6379");
  CHECK_FALSE(AddressOf(FieldMap{{"ip", "10.0.0.1"}}).has_value());
  CHECK_FALSE(AddressOf(FieldMap{{"port", "6379"}}).has_value());
  CHECK_FALSE(AddressOf(FieldMap{{"ip", "10.0.0.1"}, {"port", "?"}}).has_value());
}

// ------------------------------------------------------------- FieldMap -----

TEST_CASE("parse: FieldMap keeps the last of duplicate names") {
  const auto info = ParseInfo("role:master\nused_memory:1\nrole:slave\nused_memory:2\nrole:sentinel\n");
  CHECK(info.size() == 2);
  CHECK(Get(info, "role") == "sentinel");
  CHECK(Get(info, "used_memory") == "2");

  auto fields = ParseFieldArray(
      Array({Str("flags"), Str("master"), Str("ip"), Str("10.0.0.1"), Str("flags"), Str("s_down,master")}));
  REQUIRE(fields.ok());
  CHECK(fields.value->size() == 2);
  CHECK(Get(*fields.value, "flags") == "s_down,master");

  const auto list = ParseInfoList("ip=10.0.0.1,port=6379,ip=10.0.0.2");
  CHECK(list.size() == 2);
  CHECK(Get(list, "ip") == "10.0.0.2");

  // Empty names and values, which take no bytes, keep their order too.
  for (const auto& [pairs, expected] : {std::pair{std::vector<const char*>{"", "", "", "", "", "replica"}, "replica"},
                                        std::pair{std::vector<const char*>{"", "a", "", "", "", ""}, ""},
                                        std::pair{std::vector<const char*>{"", "", "x", "", "", "b", "x", "y"}, "b"}}) {
    std::vector<Reply> elements;
    for (const char* e : pairs) elements.push_back(Str(e));
    auto empty_names = ParseFieldArray(Array(std::move(elements)));
    REQUIRE(empty_names.ok());
    CHECK(Get(*empty_names.value, "") == expected);
  }
  // Many of them, among other names, as fuzz/sentinel_reply.cpp found: the last stays last
  // through the sort.
  for (int n : {20, 40, 100, 300}) {
    for (const std::string last : {"replica", ""}) {
      CAPTURE(n);
      CAPTURE(last);
      std::vector<Reply> elements;
      for (int i = 0; i < n; ++i) {
        elements.push_back(Str(i % 3 == 0 ? "" : "k" + std::to_string(i)));
        elements.push_back(Str(i % 2 == 0 ? "" : "v" + std::to_string(i)));
      }
      elements.push_back(Str(""));
      elements.push_back(Str(last));
      auto empty_names = ParseFieldArray(Array(std::move(elements)));
      REQUIRE(empty_names.ok());
      CHECK(Get(*empty_names.value, "") == last);
    }
  }

  const FieldMap init{{"port", "1"}, {"ip", "a"}, {"port", "2"}};
  CHECK(init.size() == 2);
  CHECK(Get(init, "port") == "2");

  // The connected replica list reads its items the same way.
  const auto replicas = ParseConnectedReplicas(FieldMap{{"slave0", "ip=10.0.0.1,port=1,state=x,port=6380"}});
  REQUIRE(replicas.size() == 1);
  CHECK(replicas[0].address.ToString() == "10.0.0.1:6380");
}

TEST_CASE("parse: FieldMap iterates in ascending name order") {
  const auto info = ParseInfo("# Replication\r\nslave2:a\r\nslave10:b\r\nrole:master\r\nslave1:c\r\nslave0:d\r\n");
  std::vector<std::string> keys;
  std::vector<std::string> values;
  for (const auto& [key, value] : info) {
    keys.emplace_back(key);
    values.emplace_back(value);
  }
  CHECK(keys == std::vector<std::string>{"role", "slave0", "slave1", "slave10", "slave2"});
  CHECK(values == std::vector<std::string>{"master", "d", "c", "b", "a"});

  // The same order as the std::map it replaced, whatever order the reply had.
  const auto full = LoadInfoFixture("info-master.resp");
  std::vector<std::string> names;
  for (const auto& [key, value] : full) names.emplace_back(key);
  CHECK(std::is_sorted(names.begin(), names.end()));
  CHECK(std::adjacent_find(names.begin(), names.end()) == names.end());
  CHECK(names.size() == full.size());

  // Connected replicas come in key order too.
  const auto replicas = ParseConnectedReplicas(
      FieldMap{{"slave10", "ip=10.0.0.10,port=1"}, {"slave2", "ip=10.0.0.2,port=1"}, {"slave1", "ip=10.0.0.1,port=1"}});
  REQUIRE(replicas.size() == 3);
  CHECK(replicas[0].address.host == "10.0.0.1");
  CHECK(replicas[1].address.host == "10.0.0.10");
  CHECK(replicas[2].address.host == "10.0.0.2");
}

TEST_CASE("parse: a FieldMap copy or move keeps its values after the original is gone") {
  const std::string long_value(100, 'v');  // beyond any small-string buffer
  auto original =
      std::make_unique<FieldMap>(ParseInfo(std::string("# Server\r\nname:" + long_value + "\r\nport:6379\r\n")));
  FieldMap copy = *original;
  FieldMap assigned;
  assigned = *original;
  FieldMap moved = std::move(*original);
  original.reset();
  for (const FieldMap* m : {&copy, &assigned, &moved}) {
    CHECK(m->size() == 2);
    CHECK(Get(*m, "name") == long_value);
    CHECK(Get(*m, "port") == "6379");
  }
  CHECK(copy == moved);

  // Small maps (the text fits a small-string buffer, which moves by copying) as well.
  auto small = std::make_unique<FieldMap>(FieldMap{{"ip", "a"}, {"port", "1"}});
  FieldMap small_moved = std::move(*small);
  small.reset();
  CHECK(Get(small_moved, "ip") == "a");
  CHECK(Get(small_moved, "port") == "1");

  std::vector<FieldMap> maps;
  for (int i = 0; i < 50; ++i) maps.push_back(ParseInfo("n:" + std::to_string(i)));  // reallocations move them
  for (int i = 0; i < 50; ++i) CHECK(Get(maps[i], "n") == std::to_string(i));
}

TEST_CASE("parse: FieldMap operator[] assignment replaces or inserts") {
  FieldMap fields = LoadFieldArrayFixture("sentinel-master.resp");
  const auto size = fields.size();
  fields["flags"] = "s_down,o_down,master";  // longer than "master": replaced
  CHECK(Get(fields, "flags") == "s_down,o_down,master");
  fields["quorum"] = std::to_string(7);  // a temporary std::string
  CHECK(Get(fields, "quorum") == "7");
  fields["flags"] = "";  // shorter
  CHECK(Get(fields, "flags").empty());
  CHECK(fields.size() == size);

  fields["aaa-new"] = "first";
  fields["zzz-new"] = "last";
  CHECK(fields.size() == size + 2);
  CHECK((*fields.begin()).first == "aaa-new");
  CHECK((*std::prev(fields.end())).second == "last");
  CHECK(Get(fields, "name") == "aragora-master");  // the others keep their values

  // A value or name taken from the map itself.
  fields["copy-of-name"] = *Field(fields, "name");
  fields["copy-of-ip"] = fields["ip"];
  CHECK(Get(fields, "copy-of-name") == "aragora-master");
  CHECK(Get(fields, "copy-of-ip") == "127.0.0.1");
  std::string_view first_key = (*fields.begin()).first;
  fields[first_key] = "x";
  CHECK(Get(fields, "aaa-new") == "x");

  // Reading a missing name through operator[] gives "" and inserts nothing.
  CHECK(std::string_view(fields["missing"]).empty());
  CHECK_FALSE(Field(fields, "missing").has_value());

  CHECK(fields.erase("aaa-new") == 1);
  CHECK(fields.erase("aaa-new") == 0);
  CHECK(fields.count("aaa-new") == 0);
  CHECK(fields.find("aaa-new") == fields.end());
  CHECK(fields.find("ip")->second == "127.0.0.1");
  CHECK(fields.count("ip") == 1);

  // Many replacements: the values stay right while the buffer is compacted.
  FieldMap info = ParseInfo("a:1\nb:2\nc:3");
  for (int i = 0; i < 1000; ++i) {
    info["b"] = std::string(static_cast<size_t>(i % 97), 'x');
    info["k" + std::to_string(i % 10)] = std::to_string(i);
  }
  CHECK(info.size() == 13);
  CHECK(Get(info, "a") == "1");
  CHECK(Get(info, "b") == std::string(999 % 97, 'x'));
  CHECK(Get(info, "c") == "3");
  CHECK(Get(info, "k9") == "999");

  info.clear();
  CHECK(info.empty());
  CHECK(info.begin() == info.end());
}

TEST_CASE("parse: ParseInfo adopting the reply's string reads the same as from a view") {
  auto reply = LoadFixture("info-master.resp");
  const auto from_view = ParseInfo(std::string_view(reply.str));
  const auto adopted = ParseInfo(std::move(reply.str));
  CHECK(adopted.size() == from_view.size());
  CHECK(adopted == from_view);
}

// ------------------------------------- commandstats, latencystats, errorstats, slowlog ----

TEST_CASE("ParseCommandStats: both formats, subcommands, in name order, other fields ignored") {
  const auto info = ParseInfo(
      "# Commandstats\r\n"
      "cmdstat_set:calls=61,usec=3139,usec_per_call=51.46\r\n"  // before Redis 6.2
      "cmdstat_config|get:calls=2,usec=1318,usec_per_call=659.00,rejected_calls=1,failed_calls=3\r\n"
      "cmdstat_get:calls=x,usec=7\r\n"
      "cmdstat_:calls=1\r\n"
      "cmdstats_bogus:calls=1\r\n"
      "connected_clients:1\r\n");
  const auto stats = rse::collectors::ParseCommandStats(info);
  REQUIRE(stats.size() == 3);
  CHECK(stats[0].cmd == "config|get");
  CHECK(stats[0].calls == 2);
  CHECK(stats[0].usec == 1318);
  CHECK(stats[0].rejected_calls == 1);
  CHECK(stats[0].failed_calls == 3);
  CHECK(stats[1].cmd == "get");
  CHECK_FALSE(stats[1].calls.has_value());  // garbled: missing, never 0
  CHECK(stats[1].usec == 7);
  CHECK(stats[2].cmd == "set");
  CHECK(stats[2].calls == 61);
  CHECK_FALSE(stats[2].rejected_calls.has_value());
}

TEST_CASE("ParseLatencyStats and ParseErrorStats") {
  const auto info = ParseInfo(
      "latency_percentiles_usec_get:p50=1.003,p99=4.015,p99.9=4.015\r\n"
      "latency_percentiles_usec_set:p50=x,q99=1,p=2,p99=3\r\n"
      "errorstat_ERR:count=4\r\n"
      "errorstat_NOAUTH:count=\r\n");
  const auto lat = rse::collectors::ParseLatencyStats(info);
  REQUIRE(lat.size() == 2);
  CHECK(lat[0].cmd == "get");
  REQUIRE(lat[0].percentiles.size() == 3);
  CHECK(lat[0].percentiles[2].first == "99.9");
  CHECK(lat[0].percentiles[2].second == doctest::Approx(4.015));
  REQUIRE(lat[1].percentiles.size() == 1);  // only p99=3 is a percentile with a number
  CHECK(lat[1].percentiles[0].first == "99");
  const auto errors = rse::collectors::ParseErrorStats(info);
  REQUIRE(errors.size() == 2);
  CHECK(errors[0].prefix == "ERR");
  CHECK(errors[0].count == 4);
  CHECK(errors[1].prefix == "NOAUTH");
  CHECK_FALSE(errors[1].count.has_value());
}

TEST_CASE("ParseSlowlog: recorded replies, an empty slowlog, refusals and wrong shapes") {
  auto recorded = rse::collectors::ParseSlowlog(rse::test::LoadFixture("slowlog-len.resp"),
                                                rse::test::LoadFixture("slowlog-get.resp"));
  REQUIRE(recorded.ok());
  CHECK(recorded.value->length == 2);
  CHECK(recorded.value->last_id == 1);
  CHECK(recorded.value->last_duration_seconds == doctest::Approx(60e-6));

  auto empty = rse::collectors::ParseSlowlog(Int(0), Array({}));
  REQUIRE(empty.ok());
  CHECK(empty.value->length == 0);
  CHECK(empty.value->last_id == 0);

  auto refused = rse::collectors::ParseSlowlog(rse::test::LoadFixture("slowlog-len-noperm.resp"), Array({}));
  CHECK_FALSE(refused.ok());
  CHECK(refused.error.find("NOPERM") != std::string::npos);
  CHECK_FALSE(rse::collectors::ParseSlowlog(Str("2"), Array({})).ok());
  CHECK_FALSE(rse::collectors::ParseSlowlog(Int(1), Int(1)).ok());
  CHECK_FALSE(rse::collectors::ParseSlowlog(Int(1), Array({Array({Int(1), Int(2)})})).ok());
  CHECK_FALSE(rse::collectors::ParseSlowlog(Int(1), Array({Array({Str("1"), Int(2), Int(3)})})).ok());
}

TEST_CASE("parse: ParseMasterAddr on SENTINEL GET-MASTER-ADDR-BY-NAME replies") {
  auto reply = [](std::string_view bytes) {
    rse::redis::Reply r;
    REQUIRE(rse::redis::ParseOneReply(bytes, r));
    return r;
  };
  // As Redis 7.0 sends them: a two-element array of bulk strings, or a nil for an unknown name.
  auto ok = rse::collectors::ParseMasterAddr(reply("*2\r\n$9\r\n127.0.0.1\r\n$4\r\n6379\r\n"));
  REQUIRE(ok.ok());
  CHECK(*ok.value == rse::redis::Address{"127.0.0.1", 6379});
  auto unknown = rse::collectors::ParseMasterAddr(reply("*-1\r\n"));
  REQUIRE(unknown.ok());
  CHECK(!unknown.value->has_value());
  CHECK(!rse::collectors::ParseMasterAddr(reply("*1\r\n$9\r\n127.0.0.1\r\n")).ok());
  CHECK(!rse::collectors::ParseMasterAddr(reply("*2\r\n$9\r\n127.0.0.1\r\n$5\r\n99999\r\n")).ok());
  CHECK(!rse::collectors::ParseMasterAddr(reply("*2\r\n$9\r\n127.0.0.1\r\n*0\r\n")).ok());
  CHECK(!rse::collectors::ParseMasterAddr(reply("+OK\r\n")).ok());
}

TEST_CASE("parse: FailoverState reads the flag, then the failover-state field") {
  using rse::collectors::FailoverState;
  CHECK(FailoverState(FieldMap{{"flags", "master"}}) == "none");
  CHECK(FailoverState(FieldMap{{"flags", "master"}, {"failover-state", "reconf_slaves"}}) == "none");
  CHECK(FailoverState(FieldMap{{"flags", "master,failover_in_progress"}, {"failover-state", "reconf_slaves"}}) ==
        "reconf_slaves");
  CHECK(FailoverState(FieldMap{{"flags", "s_down,o_down,master,failover_in_progress"},
                               {"failover-state", "wait_start"}}) == "wait_start");
  CHECK(FailoverState(FieldMap{{"flags", "master,failover_in_progress"}}).empty());
  CHECK(FailoverState(FieldMap{{"flags", "master,failover_in_progress"}, {"failover-state", "bogus"}}).empty());
}
