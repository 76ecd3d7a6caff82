// The exporter against a real local topology (scripts/topology.sh): one master, two
// replicas, three Sentinels, quorum 2, a password on every data node.
#include <isa-l/igzip_lib.h>
#include <signal.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

#include <doctest/doctest.h>

#include "tests/support/exporter.h"
#include "tests/support/topology.h"

using namespace rse::test;

namespace {

const std::string kMaster = "aragora-master";

}  // namespace

TEST_CASE("one Sentinel address discovers and exports the whole topology") {
  LocalTopology topo;
  // Configured the way the runbook's deployments are: environment variables only, one Sentinel.
  ExporterProcess exporter({}, {"REDIS_SENTINEL_HOSTS=" + topo.sentinel(0), "REDIS_SENTINEL_MASTER=" + kMaster,
                                "REDIS_PASSWORD=" + topo.options().password});
  const std::string m = exporter.Metrics();
  const std::string master = topo.data(0);

  // All three Sentinels, the configured one and the two found as its peers.
  CHECK(Series(m, "redis_sentinel_up").size() == 3);
  for (int i = 0; i < 3; ++i) CHECK(Sample(m, "redis_sentinel_up", {L("sentinel", topo.sentinel(i))}) == 1);
  // All three data nodes, found through the Sentinels.
  CHECK(Series(m, "redis_up").size() == 3);
  for (int i = 0; i < 3; ++i) {
    CHECK(Sample(m, "redis_up", {L("master_name", kMaster), L("addr", topo.data(i))}) == 1);
  }
  for (int i = 0; i < 3; ++i) {
    const auto s = L("sentinel", topo.sentinel(i));
    CHECK(Sample(m, "redis_sentinel_master_info", {s, L("master_name", kMaster), L("master_address", master)}) == 1);
    CHECK(Sample(m, "redis_sentinel_master_status", {s}) == 1);
    CHECK(Sample(m, "redis_sentinel_master_slaves", {s}) == 2);
    CHECK(Sample(m, "redis_sentinel_master_ok_slaves", {s}) == 2);
    CHECK(Sample(m, "redis_sentinel_master_sentinels", {s}) == 3);
    CHECK(Sample(m, "redis_sentinel_master_ok_sentinels", {s}) == 3);
    CHECK(Sample(m, "redis_sentinel_master_quorum", {s}) == 2);
    CHECK(Sample(m, "redis_sentinel_master_ckquorum_ok", {s}) == 1);
    CHECK(Sample(m, "redis_sentinel_master_down_after_seconds", {s}) == topo.options().down_after_ms / 1000.0);
    CHECK(Sample(m, "redis_sentinel_tilt", {s}) == 0);
  }
  CHECK(Sample(m, "redis_connected_slaves", {L("addr", master)}) == 2);
  CHECK(Sample(m, "redis_instance_role", {L("addr", master), L("role", "master")}) == 1);
  CHECK(Sample(m, "redis_instance_role", {L("addr", master), L("role", "replica")}) == 0);
  for (int i = 1; i < 3; ++i) {
    CHECK(Sample(m, "redis_master_link_up", {L("addr", topo.data(i))}) == 1);
    CHECK(Sample(m, "redis_instance_role", {L("addr", topo.data(i)), L("role", "replica")}) == 1);
    CHECK(Sample(m, "redis_connected_slave_offset_bytes",
                 {L("addr", master), L("slave_ip", "127.0.0.1"),
                  L("slave_port", std::to_string(PortOf(topo.data(i))))}) >= 0);
  }
  CHECK(Sample(m, "redis_sentinel_exporter_build_info") == 1);
  for (const char* c : {"sentinel", "replicas", "sentinels", "ckquorum", "replication", "info", "commandstats",
                        "latencystats", "errorstats", "config", "slowlog", "topology", "consistency"}) {
    CHECK(Sample(m, "redis_sentinel_exporter_collector_success", {L("collector", c)}) == 1);
  }
  // The password is in the exporter's environment only: never in its output or its log.
  CHECK(m.find(topo.options().password) == std::string::npos);
  CHECK(exporter.Log().find(topo.options().password) == std::string::npos);
}

TEST_CASE("every master the Sentinels monitor is watched when no master name is given") {
  LocalTopology topo({.groups = 2});
  ExporterProcess exporter({"--sentinel.addr=" + topo.sentinel(1), "--redis.password-file=" + topo.password_file()});
  const std::string m = exporter.Metrics();
  CHECK(Series(m, "redis_up").size() == 6);
  CHECK(Sample(m, "redis_up", {L("master_name", kMaster + "-1"), L("addr", topo.data(0))}) == 1);
  CHECK(Sample(m, "redis_up", {L("master_name", kMaster + "-2"), L("addr", topo.data(3))}) == 1);
  CHECK(Sample(m, "redis_sentinel_masters", {L("sentinel", topo.sentinel(0))}) == 2);
}

TEST_CASE("the metrics output passes promtool check metrics") {
  LocalTopology topo;
  ExporterProcess exporter({"--sentinel.addr=" + topo.sentinel(0), "--redis.password-file=" + topo.password_file()});
  const std::string m = exporter.Metrics();
  char path[] = "/tmp/rse-metrics-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  std::ofstream(path) << m;
  auto r = Run({"sh", "-c", std::string("promtool check metrics < ") + path});
  std::remove(path);
  INFO(r.out, r.err);
  // Lint objections (exit 3) only to redis_exporter's own names, each listed in docs/parity.md.
  const std::string parity = ReadFile(std::string(RSE_SOURCE_DIR) + "/docs/parity.md");
  const size_t section = parity.find("## Names promtool's lint objects to");
  REQUIRE(section != std::string::npos);
  const std::string allowed = parity.substr(section);
  CHECK((r.exit_code == 0 || r.exit_code == 3));
  std::stringstream problems(r.out + r.err);
  std::string line;
  while (std::getline(problems, line)) {
    if (line.empty()) continue;
    const std::string name = line.substr(0, line.find(' '));
    CHECK_MESSAGE(allowed.find("| `" + name + "` |") != std::string::npos, line);
  }
}

TEST_CASE("every metric the exporter emits is in the metrics reference") {
  LocalTopology topo;
  ExporterProcess exporter({"--sentinel.addr=" + topo.sentinel(0), "--redis.password-file=" + topo.password_file()});
  const std::string doc = ReadFile(std::string(RSE_SOURCE_DIR) + "/docs/metrics.md");
  REQUIRE_FALSE(doc.empty());
  std::string text = exporter.Metrics() + exporter.Get("/probe?target=" + topo.sentinel(0)).body;
  std::stringstream ss(text);
  std::string line;
  int families = 0;
  while (std::getline(ss, line)) {
    if (line.rfind("# TYPE ", 0) != 0) continue;
    const std::string name = line.substr(7, line.find(' ', 7) - 7);
    ++families;
    CHECK_MESSAGE(doc.find("`" + name + "`") != std::string::npos, name);
  }
  CHECK(families > 50);
}

TEST_CASE("a wrong password yields redis_up 0 and one clear log line without the password") {
  LocalTopology topo;
  const std::string wrong = "not-the-password-91c2";
  ExporterProcess exporter({"--sentinel.addr=" + topo.sentinel(0)}, {"REDIS_PASSWORD=" + wrong});
  const std::string m = exporter.Metrics();
  for (int i = 0; i < 3; ++i) CHECK(Sample(m, "redis_up", {L("addr", topo.data(i))}) == 0);
  CHECK(Sample(m, "redis_sentinel_up", {L("sentinel", topo.sentinel(0))}) == 1);  // AUTH never sent to Sentinels
  const std::string log = exporter.Log();
  CHECK(LogLine(log, {"level=warning", "data node unreachable", "addr=" + topo.data(0), "cause=auth", "WRONGPASS"}));
  CHECK(log.find(wrong) == std::string::npos);
  CHECK(m.find(wrong) == std::string::npos);
}

TEST_CASE("a SIGSTOPped replica costs at most the timeout and leaves the rest correct") {
  LocalTopology topo;
  ExporterProcess exporter(
      {"--sentinel.addr=" + topo.sentinel(0), "--redis.password-file=" + topo.password_file(), "--redis.timeout=2s"});
  REQUIRE(Sample(exporter.Metrics(), "redis_up", {L("addr", topo.data(2))}) == 1);
  auto paused = topo.Pause(topo.data_ports()[2]);
  auto r = exporter.Get("/metrics");
  paused.Resume();
  REQUIRE(r.status == 200);
  CHECK(r.elapsed.count() < 3000);  // the timeout plus one second
  CHECK(Sample(r.body, "redis_up", {L("addr", topo.data(2))}) == 0);
  CHECK(Sample(r.body, "redis_up", {L("addr", topo.data(0))}) == 1);
  CHECK(Sample(r.body, "redis_up", {L("addr", topo.data(1))}) == 1);
  CHECK(Sample(r.body, "redis_connected_slaves", {L("addr", topo.data(0))}) == 2);
  for (int i = 0; i < 3; ++i) CHECK(Sample(r.body, "redis_sentinel_up", {L("sentinel", topo.sentinel(i))}) == 1);
  CHECK(LogLine(exporter.Log(), {"addr=" + topo.data(2), "cause=timeout"}));
  // Once it resumes, the next scrape sees it again on a fresh connection.
  CHECK(WaitFor([&] { return Sample(exporter.Metrics(), "redis_up", {L("addr", topo.data(2))}) == 1; },
                std::chrono::seconds(10)));
}

TEST_CASE("a stopped Sentinel leaves the rest of the topology exported") {
  LocalTopology topo;
  topo.StopNode(topo.sentinel_ports()[1]);
  ExporterProcess exporter({"--sentinel.addr=" + topo.sentinel(0) + "," + topo.sentinel(1),
                            "--redis.password-file=" + topo.password_file()});
  const std::string m = exporter.Metrics();
  CHECK(Sample(m, "redis_sentinel_up", {L("sentinel", topo.sentinel(1))}) == 0);
  CHECK(Sample(m, "redis_sentinel_up", {L("sentinel", topo.sentinel(0))}) == 1);
  CHECK(Sample(m, "redis_sentinel_up", {L("sentinel", topo.sentinel(2))}) == 1);
  for (int i = 0; i < 3; ++i) CHECK(Sample(m, "redis_up", {L("addr", topo.data(i))}) == 1);
  CHECK(Sample(m, "redis_sentinel_master_ckquorum_ok", {L("sentinel", topo.sentinel(0))}) == 1);
  CHECK(LogLine(exporter.Log(), {"sentinel unreachable", "sentinel=" + topo.sentinel(1), "cause=refused"}));
}

TEST_CASE("a data node given as a Sentinel is reported, not trusted") {
  // With a password on the data node, the Sentinel connection (no AUTH) is refused: the log
  // says so and suggests the likely mistake.
  LocalTopology topo;
  ExporterProcess exporter(
      {"--sentinel.addr=" + topo.data(0) + "," + topo.sentinel(0), "--redis.password-file=" + topo.password_file()});
  const std::string m = exporter.Metrics();
  CHECK(Sample(m, "redis_sentinel_up", {L("sentinel", topo.data(0))}) == 0);
  CHECK(Sample(m, "redis_up", {L("addr", topo.data(0))}) == 1);
  CHECK(LogLine(exporter.Log(), {"sentinel=" + topo.data(0), "cause=auth", "a data node given as a Sentinel?"}));

  // Without a password, the data node answers INFO, which has no Sentinel section.
  LocalTopology open_topo({.password = ""});
  ExporterProcess open_exporter({"--sentinel.addr=" + open_topo.data(1)});
  CHECK(Sample(open_exporter.Metrics(), "redis_sentinel_up", {L("sentinel", open_topo.data(1))}) == 0);
  CHECK(LogLine(open_exporter.Log(), {"sentinel=" + open_topo.data(1), "cause=protocol", "not a Sentinel"}));
}

TEST_CASE("a scrape in steady state opens no new connection to Redis") {
  LocalTopology topo;
  ExporterProcess exporter({"--sentinel.addr=" + topo.sentinel(0), "--redis.password-file=" + topo.password_file()});
  const auto master = L("addr", topo.data(0));
  exporter.Metrics();
  const double before = Sample(exporter.Metrics(), "redis_connections_received_total", {master});
  double after = before;
  for (int i = 0; i < 5; ++i) after = Sample(exporter.Metrics(), "redis_connections_received_total", {master});
  CHECK(before > 0);
  CHECK(after == before);
}

TEST_CASE("/probe scrapes the topology behind the given Sentinel only, within the allow-list") {
  LocalTopology first;
  LocalTopology second({.master_name = "other-master"});
  // /probe's credentials come from a binding, never from --redis.password-file.
  const std::string config = second.dir() + "/probe.yml";
  std::ofstream(config) << "bindings:\n  - name: second\n    targets: ['" << second.sentinel(0)
                        << "']\n    redis: {password_file: " << second.password_file() << "}\n";
  ExporterProcess exporter({"--sentinel.addr=" + first.sentinel(0), "--redis.password-file=" + first.password_file(),
                            "--probe.allowed-targets=" + second.sentinel(0), "--probe.config.file=" + config});
  auto r = exporter.Get("/probe?target=" + second.sentinel(0) + "&master=other-master");
  REQUIRE(r.status == 200);
  CHECK(Sample(r.body, "probe_success") == 1);
  CHECK(Series(r.body, "redis_sentinel_up").size() == 3);
  for (int i = 0; i < 3; ++i) {
    CHECK(Sample(r.body, "redis_sentinel_up", {L("sentinel", second.sentinel(i))}) == 1);
    CHECK(Sample(r.body, "redis_up", {L("master_name", "other-master"), L("addr", second.data(i))}) == 1);
  }
  CHECK(r.body.find(kMaster) == std::string::npos);
  CHECK(r.body.find(first.sentinel(0)) == std::string::npos);

  // The probe's log lines name its target: the configured topology may watch the same Sentinels.
  CHECK(WaitFor(
      [&] {
        return LogLine(exporter.Log(), {"msg=\"event stream subscribed\"", "sentinel=" + second.sentinel(0) + " ",
                                        "target=" + second.sentinel(0)});
      },
      std::chrono::seconds(10)));
  CHECK(LogLine(exporter.Log(), {"msg=\"event stream subscribed\"", "sentinel=" + first.sentinel(0)}));
  CHECK_FALSE(LogLine(exporter.Log(), {"sentinel=" + first.sentinel(0), "target="}));

  auto refused = exporter.Get("/probe?target=" + first.sentinel(0));
  CHECK(refused.status == 403);
  CHECK(exporter.Get("/probe").status == 400);
  CHECK(exporter.Get("/probe?target=nonsense").status == 400);
  // The configured topology is still what the telemetry path shows, and only that: a target= there
  // (a multi-target config on the wrong path) is refused, not answered with the wrong topology.
  CHECK(Sample(exporter.Metrics(), "redis_up", {L("master_name", kMaster), L("addr", first.data(0))}) == 1);
  auto misrouted = exporter.Get("/metrics?target=" + second.sentinel(0));
  CHECK(misrouted.status == 400);
  CHECK(misrouted.body.find("/probe?target=") != std::string::npos);

  // The target Sentinel down: its peers, which the earlier probes found, still show the topology.
  second.StopNode(second.sentinel_ports()[0]);
  r = exporter.Get("/probe?target=" + second.sentinel(0) + "&master=other-master");
  REQUIRE(r.status == 200);
  CHECK(Sample(r.body, "probe_success") == 1);
  CHECK(Sample(r.body, "redis_sentinel_up", {L("sentinel", second.sentinel(0))}) == 0);
  for (int i : {1, 2}) CHECK(Sample(r.body, "redis_sentinel_up", {L("sentinel", second.sentinel(i))}) == 1);
  CHECK(Sample(r.body, "redis_up", {L("master_name", "other-master"), L("addr", second.data(0))}) == 1);
}

namespace {

// One gzip member inflated (igzip's inflate: the exporter's own library).
std::string Gunzip(const std::string& in) {
  auto state = std::make_unique<inflate_state>();
  isal_inflate_init(state.get());
  state->crc_flag = ISAL_GZIP;
  state->next_in = reinterpret_cast<std::uint8_t*>(const_cast<char*>(in.data()));
  state->avail_in = static_cast<std::uint32_t>(in.size());
  std::string out;
  for (;;) {
    std::uint8_t buf[65536];
    state->next_out = buf;
    state->avail_out = sizeof(buf);
    const int rc = isal_inflate(state.get());
    REQUIRE(rc == ISAL_DECOMP_OK);
    out.append(reinterpret_cast<char*>(buf), sizeof(buf) - state->avail_out);
    if (state->block_state == ISAL_BLOCK_FINISH) break;
    REQUIRE_MESSAGE((state->avail_in > 0 || state->avail_out == 0), "gzip member cut short");
  }
  CHECK(state->avail_in == 0);  // one member, nothing after it
  return out;
}

// Each line of the exposition without its value: what two scrapes of one topology share.
std::vector<std::string> Keys(const std::string& text) {
  std::vector<std::string> keys;
  std::stringstream ss(text);
  std::string line;
  while (std::getline(ss, line)) keys.push_back(line[0] == '#' ? line : line.substr(0, line.rfind(' ')));
  return keys;
}

}  // namespace

TEST_CASE("a body gzipped as it is rendered is the plain body's series, each family once") {
  LocalTopology topo;
  ExporterProcess exporter({"--sentinel.addr=" + topo.sentinel(0), "--redis.password-file=" + topo.password_file()});
  for (const std::string& path : {std::string("/metrics"), "/probe?target=" + topo.sentinel(0)}) {
    CAPTURE(path);
    // Between two plain scrapes with the same series (a /probe target's event subscriptions
    // come up after its first scrape), a gzip scrape has them too, line for line.
    std::string text;
    std::vector<std::string> keys, plain_keys;
    for (int attempt = 0; attempt < 10; ++attempt) {
      const auto before = exporter.Get(path);
      const auto zipped = exporter.Get(path, {"Accept-Encoding: gzip"});
      const auto after = exporter.Get(path);
      REQUIRE(before.status == 200);
      REQUIRE(zipped.status == 200);
      CHECK(before.headers.find("Content-Encoding") == std::string::npos);
      REQUIRE(zipped.headers.find("Content-Encoding: gzip") != std::string::npos);
      text = Gunzip(zipped.body);
      keys = Keys(text);
      plain_keys = Keys(before.body);
      if (plain_keys == Keys(after.body)) break;
    }
    CHECK(keys.size() == plain_keys.size());
    for (size_t i = 0; i < keys.size() && i < plain_keys.size(); ++i) {
      if (keys[i] != plain_keys[i]) {
        FAIL_CHECK("line " << i << ": " << keys[i] << " against " << plain_keys[i]);
        break;
      }
    }
    std::set<std::string> families;
    for (const auto& key : Keys(text)) {
      if (key.rfind("# TYPE ", 0) == 0) CHECK_MESSAGE(families.insert(key).second, key << " twice");
    }
    CHECK(families.size() > (path == "/metrics" ? 100u : 40u));  // /probe: no password for the data nodes
    CHECK(text.find("redis_sentinel_exporter_collector_success{collector=\"info\"} 1\n") != std::string::npos);
  }
}

TEST_CASE("HTTP endpoints: landing page, health, unknown paths") {
  ExporterProcess exporter({});
  auto landing = exporter.Get("/");
  CHECK(landing.status == 200);
  CHECK(landing.body.find("/metrics") != std::string::npos);
  CHECK(exporter.Get("/-/healthy").status == 200);
  CHECK(exporter.Get("/nope").status == 404);
  // Without a Sentinel configured the telemetry path still answers, with the exporter's own metrics.
  auto m = exporter.Get("/metrics");
  CHECK(m.status == 200);
  CHECK(Sample(m.body, "redis_sentinel_exporter_build_info") == 1);
  CHECK(Series(m.body, "redis_up").empty());
  // HEAD: the same status and headers, no body (clients and proxies check endpoints this way).
  for (const char* path : {"/metrics", "/-/healthy", "/nope"}) {
    CAPTURE(path);
    auto head = rse::test::HttpRequest(exporter.port(), "HEAD", path);
    CHECK(head.status == exporter.Get(path).status);
    CHECK(head.headers.find("Content-Length: ") != std::string::npos);
    CHECK(head.body.empty());
  }
  CHECK(rse::test::HttpRequest(exporter.port(), "POST", "/metrics").status == 405);
}

TEST_CASE("command line: --version, --help, bad flags, busy port") {
  auto version = Run({RSE_EXPORTER_BINARY, "--version"});
  CHECK(version.exit_code == 0);
  CHECK(version.out.find("redis_sentinel_exporter version ") == 0);
  CHECK(version.out.find("revision") != std::string::npos);
  auto help = Run({RSE_EXPORTER_BINARY, "--help"});
  CHECK(help.exit_code == 0);
  for (const char* flag :
       {"--sentinel.addr", "--sentinel.master-name", "--redis.password-file", "--redis.timeout", "--web.listen-address",
        "--web.telemetry-path", "--log.format", "--collector.info", "--no-collector.info", "--probe.allowed-targets"}) {
    CHECK_MESSAGE(help.out.find(flag) != std::string::npos, flag);
  }
  auto bad = Run({RSE_EXPORTER_BINARY, "--sentinel.addr=nohost"});
  CHECK(bad.exit_code == 3);
  CHECK(bad.err.find("not host:port") != std::string::npos);
  // A password given on the command line is refused: it would show in ps.
  CHECK(Run({RSE_EXPORTER_BINARY, "--redis.password=x"}).exit_code == 3);

  ExporterProcess first({});
  auto busy = Run({RSE_EXPORTER_BINARY, "--web.listen-address=127.0.0.1:" + std::to_string(first.port())}, EnvWith({}),
                  std::chrono::seconds(10));
  CHECK(busy.exit_code == 1);
  CHECK(busy.err.find("cannot listen") != std::string::npos);
}
