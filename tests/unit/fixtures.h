#pragma once

// Loads the RESP replies recorded by scripts/record-fixtures.sh (tests/fixtures/README.md).

#include <doctest/doctest.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "model/parse.h"
#include "redis/reply.h"

namespace rse::test {

// The raw bytes of tests/fixtures/NAME.
inline std::string FixtureBytes(const std::string& name) {
  const std::string path = std::string(RSE_FIXTURES_DIR) + "/" + name;
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot open fixture " << path);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

// The one reply recorded in tests/fixtures/NAME.
inline redis::Reply LoadFixture(const std::string& name) {
  redis::Reply reply;
  std::string error;
  const bool ok = redis::ParseOneReply(FixtureBytes(name), reply, &error);
  REQUIRE_MESSAGE(ok, "fixture " << name << " does not parse: " << error);
  return reply;
}

// An INFO fixture (a bulk string) parsed into its fields.
inline collectors::FieldMap LoadInfoFixture(const std::string& name) {
  auto reply = LoadFixture(name);
  REQUIRE_MESSAGE(reply.type == redis::Reply::Type::kString, name << " is not a bulk string");
  return collectors::ParseInfo(std::move(reply.str));
}

// A SENTINEL MASTER / REPLICAS / SENTINELS fixture parsed into field maps.
inline collectors::FieldMap LoadFieldArrayFixture(const std::string& name) {
  auto parsed = collectors::ParseFieldArray(LoadFixture(name));
  REQUIRE_MESSAGE(parsed.ok(), name << ": " << parsed.error);
  return *parsed.value;
}
inline std::vector<collectors::FieldMap> LoadFieldArraysFixture(const std::string& name) {
  auto parsed = collectors::ParseFieldArrays(LoadFixture(name));
  REQUIRE_MESSAGE(parsed.ok(), name << ": " << parsed.error);
  return *parsed.value;
}

// The master's port P, from sentinel-master.resp. The recorded topology puts the replicas
// on P+1 and P+2 and the Sentinels on P+3..P+5 (tests/fixtures/README.md).
inline std::uint16_t FixtureMasterPort() {
  const auto master = LoadFieldArrayFixture("sentinel-master.resp");
  auto port = collectors::Field(master, "port");
  REQUIRE(port.has_value());
  auto value = collectors::ParseNumber(*port);
  REQUIRE(value.has_value());
  REQUIRE(*value > 0);
  REQUIRE(*value < 65530);
  return static_cast<std::uint16_t>(*value);
}

inline std::string LocalAddr(int port) { return "127.0.0.1:" + std::to_string(port); }

}  // namespace rse::test
