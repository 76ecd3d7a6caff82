// redis/address.h: endpoints as configured (--sentinel host:port) and as SENTINEL replies
// name them (separate ip and port fields), and their label form.
#include <doctest/doctest.h>

#include <string>

#include "redis/address.h"

namespace {
using rse::redis::Address;
using rse::redis::MakeAddress;
using rse::redis::ParseAddress;
}  // namespace

TEST_CASE("address: ParseAddress accepts IPv4, bracketed IPv6 and host names") {
  auto v4 = ParseAddress("127.0.0.1:26379");
  REQUIRE(v4.has_value());
  CHECK(v4->host == "127.0.0.1");
  CHECK(v4->port == 26379);
  CHECK(v4->ToString() == "127.0.0.1:26379");

  auto v6 = ParseAddress("[::1]:26379");
  REQUIRE(v6.has_value());
  CHECK(v6->host == "::1");  // stored without brackets
  CHECK(v6->port == 26379);
  CHECK(v6->ToString() == "[::1]:26379");

  auto name = ParseAddress("sentinel-1:26379");
  REQUIRE(name.has_value());
  CHECK(name->host == "sentinel-1");
  CHECK(name->port == 26379);
  CHECK(name->ToString() == "sentinel-1:26379");

  auto edge = ParseAddress("h:65535");
  REQUIRE(edge.has_value());
  CHECK(edge->port == 65535);
  auto one = ParseAddress("h:1");
  REQUIRE(one.has_value());
  CHECK(one->port == 1);
}

TEST_CASE("address: ParseAddress rejects ambiguous or incomplete input") {
  for (const char* bad :
       {"::1:26379",  // unbracketed IPv6: where does the port start?
        "host", "host:", "host:0", "host:70000", "host:65536", "host:abc", "host:12a", "host:-1", "host:+1", ":26379",
        "", "[::1]", "[::1]26379", "[::1]:", "[]:26379", "[127.0.0.1]:26379", "ho st:1", "host:1 "}) {
    CAPTURE(bad);
    CHECK_FALSE(ParseAddress(bad).has_value());
  }
}

TEST_CASE("address: ToString round-trips through ParseAddress") {
  for (const char* text : {"127.0.0.1:26379", "[::1]:26379", "[fe80::1]:1", "sentinel-1.example:65535"}) {
    CAPTURE(text);
    auto a = ParseAddress(text);
    REQUIRE(a.has_value());
    CHECK(a->ToString() == text);
    CHECK(ParseAddress(a->ToString()) == a);
  }
}

TEST_CASE("address: MakeAddress builds an address from separate fields") {
  auto a = MakeAddress("127.0.0.1", "17001");
  REQUIRE(a.has_value());
  CHECK(*a == Address{"127.0.0.1", 17001});
  CHECK(*a == *ParseAddress("127.0.0.1:17001"));

  // SENTINEL replies give IPv6 hosts bare; brackets are tolerated and dropped.
  auto v6 = MakeAddress("::1", "26379");
  REQUIRE(v6.has_value());
  CHECK(v6->ToString() == "[::1]:26379");
  auto bracketed = MakeAddress("[::1]", "26379");
  REQUIRE(bracketed.has_value());
  CHECK(*bracketed == *v6);

  for (auto pair : {std::pair{"", "1"}, std::pair{"h", ""}, std::pair{"h", "0"}, std::pair{"h", "65536"},
                    std::pair{"h", "x"}, std::pair{"h", "1.5"}, std::pair{"h", " 1"}, std::pair{"a b", "1"},
                    std::pair{"a/b", "1"}, std::pair{"[]", "1"}}) {
    // Named variables, not structured bindings: clang 14 cannot capture those in CAPTURE's lambda.
    const char* host = pair.first;
    const char* port = pair.second;
    CAPTURE(host);
    CAPTURE(port);
    CHECK_FALSE(MakeAddress(host, port).has_value());
  }
}

TEST_CASE("address: addresses order and compare by host, then port") {
  Address a{"127.0.0.1", 17000};
  Address b{"127.0.0.1", 17001};
  Address c{"127.0.0.2", 1};
  CHECK(a < b);
  CHECK(b < c);
  CHECK(a != b);
  CHECK(a == Address{"127.0.0.1", 17000});
}
