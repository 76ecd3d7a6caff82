// Credentials go only where the operator bound them: fake Sentinels and fake data nodes on
// 127.0.0.1 record every command they receive, and the real exporter is pointed at them.
// An attacker's Sentinel names the attacker's data node; that node must never see AUTH.
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "tests/support/exporter.h"
#include "tests/support/fake_sentinel.h"
#include "tests/support/http.h"
#include "tests/support/process.h"

using namespace rse::test;

namespace {

// A private directory for secrets and the probe config, removed at the end.
struct Files {
  Files() {
    char tmpl[] = "/tmp/rse-bindings-test-XXXXXX";
    dir = mkdtemp(tmpl);
  }
  ~Files() { Run({"rm", "-rf", dir}); }
  std::string Write(const std::string& name, const std::string& content) {
    std::ofstream(dir + "/" + name) << content;
    return dir + "/" + name;
  }
  std::string dir;
};

// Every AUTH the peer received is exactly `want` (and it received at least one).
void CheckOnlyAuth(const Recording& peer, const Command& want) {
  const auto auths = peer.Auths();
  CHECK(!auths.empty());
  for (const auto& a : auths) CHECK(a == want);
}

const std::string kDataPw = "configured-data-pw-0c1";
const std::string kSentinelPw = "configured-sentinel-pw-77e";

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("bindings: /probe with defaults sends the configured passwords to no target") {
  Files files;
  FakeTopology evil("evil");
  ExporterProcess exporter({"--sentinel.password-file=" + files.Write("s", kSentinelPw + "\n")},
                           {"REDIS_PASSWORD_FILE=" + files.Write("r", kDataPw + "\n")});
  for (int i = 0; i < 2; ++i) {
    auto r = exporter.Get("/probe?target=" + evil.sentinel->addr());
    REQUIRE(r.status == 200);
    CHECK(Sample(r.body, "redis_up", {L("addr", evil.node->addr())}) == 1);
  }
  // Asked, but without AUTH: neither the Sentinel nor the node it named saw a password.
  CHECK(evil.node->Received("INFO"));
  CHECK(evil.node->Auths().empty());
  CHECK(evil.sentinel->Received("SENTINEL"));
  CHECK(evil.sentinel->Auths().empty());
  const std::string log = exporter.Log();
  CHECK(log.find(kDataPw) == std::string::npos);
  CHECK(log.find(kSentinelPw) == std::string::npos);
}

TEST_CASE("bindings: a target outside --probe.allowed-targets is refused with 403, even when a binding matches") {
  Files files;
  FakeTopology good("good");
  FakeTopology evil("evil");
  // The binding's pattern is broad (any port of 127.0.0.1); the allow-list is what limits it.
  const std::string config = files.Write("probe.yml",
                                         "bindings:\n"
                                         "  - name: local\n"
                                         "    targets: ['127.0.0.1']\n"
                                         "    redis: {password_file: pw}\n");
  files.Write("pw", kDataPw + "\n");
  ExporterProcess exporter({"--probe.config.file=" + config, "--probe.allowed-targets=" + good.sentinel->addr()});
  auto refused = exporter.Get("/probe?target=" + evil.sentinel->addr());
  CHECK(refused.status == 403);
  CHECK(refused.body.find("--probe.allowed-targets") != std::string::npos);
  CHECK(refused.body.find(evil.sentinel->addr()) != std::string::npos);
  CHECK(evil.sentinel->accepted() == 0);
  CHECK(evil.node->accepted() == 0);
  CHECK(exporter.Log().find("probe target refused") != std::string::npos);

  auto allowed = exporter.Get("/probe?target=" + good.sentinel->addr());
  REQUIRE(allowed.status == 200);
  CHECK(Sample(allowed.body, "redis_up", {L("addr", good.node->addr())}) == 1);
  CheckOnlyAuth(*good.node, {"AUTH", kDataPw});
}

TEST_CASE("bindings: a configured Sentinel that names a node outside --redis.allowed-addresses gives it no password") {
  Files files;
  FakeTopology good("good");
  FakeTopology evil("evil");  // a Sentinel of the configured topology, turned against it
  ExporterProcess exporter({"--sentinel.addr=" + good.sentinel->addr() + "," + evil.sentinel->addr(),
                            "--redis.password-file=" + files.Write("pw", kDataPw + "\n"),
                            "--redis.allowed-addresses=10.0.0.0/8," + good.node->addr()});
  for (int i = 0; i < 2; ++i) {
    const std::string m = exporter.Metrics();
    CHECK(Sample(m, "redis_up", {L("addr", good.node->addr())}) == 1);
    CHECK(Sample(m, "redis_up", {L("addr", evil.node->addr())}) == 1);  // asked, without AUTH
  }
  CheckOnlyAuth(*good.node, {"AUTH", kDataPw});
  CHECK(evil.node->Received("INFO"));
  CHECK(evil.node->Auths().empty());
  // One log line says so, not one per scrape.
  const std::string log = exporter.Log();
  CHECK(Count(log, "outside the allowed addresses") == 1);
  CHECK(log.find(evil.node->addr()) != std::string::npos);
  CHECK(log.find(kDataPw) == std::string::npos);
}

TEST_CASE(
    "bindings: a peer Sentinel outside --redis.allowed-addresses gets neither the Sentinel password nor a "
    "subscription") {
  Files files;
  auto node = FakeNode();
  auto peer = FakeSentinel("good", node->port());  // a Sentinel the operator never configured
  auto configured = FakeSentinel("good", node->port(), {}, {peer->port()});
  const std::string sentinel_pw = files.Write("spw", kSentinelPw + "\n");
  const std::string data_pw = files.Write("pw", kDataPw + "\n");
  // Deadline for the subscriptions: the first fetch runs at start-up, subscriptions follow it.
  const auto subscribed = [](const Recording& r) {
    return WaitFor([&] { return r.Received("PSUBSCRIBE"); }, std::chrono::seconds(10));
  };

  SUBCASE("pinned out: asked without AUTH, never subscribed") {
    ExporterProcess exporter({"--sentinel.addr=" + configured->addr(), "--sentinel.password-file=" + sentinel_pw,
                              "--redis.password-file=" + data_pw, "--redis.allowed-addresses=" + node->addr()});
    (void)exporter.Metrics();
    REQUIRE(subscribed(*configured));
    CHECK(exporter.Metrics().find(peer->addr()) != std::string::npos);  // discovery did see the peer
    CHECK(peer->Received("INFO"));
    CHECK(peer->Auths().empty());
    CHECK_FALSE(peer->Received("PSUBSCRIBE"));
    CheckOnlyAuth(*configured, {"AUTH", kSentinelPw});
    CheckOnlyAuth(*node, {"AUTH", kDataPw});
    const std::string log = exporter.Log();
    CHECK(log.find("sentinel " + peer->addr()) != std::string::npos);
    CHECK(log.find(kSentinelPw) == std::string::npos);
  }
  SUBCASE("pinned in: the same peer is authenticated and subscribed") {
    ExporterProcess exporter({"--sentinel.addr=" + configured->addr(), "--sentinel.password-file=" + sentinel_pw,
                              "--redis.password-file=" + data_pw,
                              "--redis.allowed-addresses=" + node->addr() + "," + peer->addr()});
    (void)exporter.Metrics();
    REQUIRE(subscribed(*peer));
    CheckOnlyAuth(*peer, {"AUTH", kSentinelPw});
  }
}

TEST_CASE("bindings: a bound target receives its own credentials and no other") {
  Files files;
  FakeTopology a("group-a");
  FakeTopology b("group-b");
  FakeTopology c("group-c");        // bound, with a pin its Sentinel's node is outside of
  FakeTopology unbound("unbound");  // matches no binding
  const std::string pw_a = "binding-a-data-pw", pw_a_sentinel = "binding-a-sentinel-pw", pw_b = "binding-b-data-pw",
                    pw_c = "binding-c-data-pw";
  files.Write("a", pw_a + "\n");
  files.Write("a-sentinel", pw_a_sentinel + "\n");
  files.Write("b", pw_b + "\n");
  files.Write("c", pw_c + "\n");
  const std::string config =
      files.Write("probe.yml",
                  "bindings:\n"
                  "  - name: a\n"
                  "    targets: ['" +
                      a.sentinel->addr() +
                      "']\n"
                      "    redis: {user: exporter, password_file: a}\n"
                      "    sentinel: {password_file: a-sentinel}\n"
                      "  - name: b\n"
                      "    targets: ['[::1]:" +
                      std::to_string(b.sentinel->port()) + "', '127.0.0.0/8:" + std::to_string(b.sentinel->port()) +
                      "']\n"
                      "    redis:\n"
                      "      master_password_files: {group-b: b}\n"
                      "  - name: c\n"
                      "    targets: ['" +
                      c.sentinel->addr() +
                      "']\n"
                      "    redis: {password_file: c}\n"
                      "    allowed_addresses: ['10.0.0.0/8']\n");
  ExporterProcess exporter(
      {"--probe.config.file=" + config, "--sentinel.password-file=" + files.Write("s", kSentinelPw)},
      {"REDIS_PASSWORD_FILE=" + files.Write("r", kDataPw)});
  for (const auto* t : {&a, &b, &c, &unbound, &a, &b}) {
    auto r = exporter.Get("/probe?target=" + t->sentinel->addr());
    REQUIRE(r.status == 200);
    CHECK(Sample(r.body, "probe_success") == 1);
    CHECK(Sample(r.body, "redis_up", {L("addr", t->node->addr())}) == 1);
  }
  CheckOnlyAuth(*a.node, {"AUTH", "exporter", pw_a});
  CheckOnlyAuth(*a.sentinel, {"AUTH", pw_a_sentinel});
  CheckOnlyAuth(*b.node, {"AUTH", pw_b});
  CHECK(b.sentinel->Auths().empty());
  CHECK(c.node->Received("INFO"));
  CHECK(c.node->Auths().empty());
  CHECK(c.sentinel->Auths().empty());
  CHECK(unbound.node->Received("INFO"));
  CHECK(unbound.node->Auths().empty());
  CHECK(unbound.sentinel->Auths().empty());
  // Connections are kept between probes of one binding: a second probe authenticates no more.
  CHECK(a.node->Auths().size() == 1);
  const std::string log = exporter.Log();
  for (const auto& secret : {pw_a, pw_a_sentinel, pw_b, pw_c, kDataPw, kSentinelPw}) {
    CHECK(log.find(secret) == std::string::npos);
  }
}
