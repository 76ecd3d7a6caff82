// Credential bindings: address patterns (pure) and --probe.config.file (YAML).
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include <doctest/doctest.h>

#include "exporter/probe_config.h"

using rse::AddressPattern;
using rse::redis::Address;

namespace {

AddressPattern P(const std::string& text) {
  std::string error;
  auto p = AddressPattern::Parse(text, error);
  INFO(text, ": ", error);
  REQUIRE(p);
  return *p;
}

std::string Error(const std::string& text) {
  std::string error;
  auto p = AddressPattern::Parse(text, error);
  CHECK_MESSAGE(!p, text);
  return error;
}

Address A(const std::string& host, int port) { return {host, static_cast<std::uint16_t>(port)}; }

// A private directory for secret files, removed at the end.
struct Dir {
  Dir() {
    char tmpl[] = "/tmp/rse-probe-config-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~Dir() {
    for (const auto& f : files) std::remove(f.c_str());
    for (auto d = dirs.rbegin(); d != dirs.rend(); ++d) rmdir(d->c_str());
    rmdir(path.c_str());
  }
  std::string Write(const std::string& name, const std::string& content) {
    files.push_back(path + "/" + name);
    std::ofstream(files.back()) << content;
    return files.back();
  }
  void Mkdir(const std::string& name) {
    dirs.push_back(path + "/" + name);
    mkdir(dirs.back().c_str(), 0700);
  }
  std::string path;
  std::vector<std::string> files;
  std::vector<std::string> dirs;
};

std::optional<rse::ProbeConfig> Parse(const std::string& yaml, const std::string& base_dir, std::string& error) {
  return rse::ParseProbeConfig(yaml, base_dir, error);
}

}  // namespace

TEST_CASE("address patterns: host:port, host globs within one label, ports") {
  CHECK(P("sentinel-0.prod:26379").Matches(A("sentinel-0.prod", 26379)));
  CHECK_FALSE(P("sentinel-0.prod:26379").Matches(A("sentinel-0.prod", 26380)));
  CHECK(P("sentinel-0.prod").Matches(A("sentinel-0.prod", 1)));
  CHECK(P("sentinel-0.prod:*").Matches(A("sentinel-0.prod", 65535)));
  CHECK(P("Sentinel-0.PROD.").Matches(A("sentinel-0.prod", 26379)));
  CHECK(P("sentinel-0.prod").Matches(A("SENTINEL-0.prod.", 26379)));

  const auto glob = P("sentinel-*.prod:26379");
  CHECK(glob.Matches(A("sentinel-0.prod", 26379)));
  CHECK(glob.Matches(A("sentinel-.prod", 26379)));
  CHECK_FALSE(glob.Matches(A("sentinel-0.evil.prod", 26379)));  // `*` never crosses a dot
  CHECK_FALSE(glob.Matches(A("sentinel-0.prod.evil", 26379)));
  CHECK_FALSE(glob.Matches(A("xsentinel-0.prod", 26379)));
  CHECK(P("*.team-a.svc").Matches(A("redis.team-a.svc", 6379)));
  CHECK_FALSE(P("*.team-a.svc").Matches(A("team-a.svc", 6379)));
  CHECK(P("redis-*-*.x").Matches(A("redis-a-b.x", 1)));
  CHECK_FALSE(P("redis-*-*.x").Matches(A("redis-ab.x", 1)));
  // A glob never matches an IP literal, however it is spelled.
  CHECK_FALSE(P("localhost").Matches(A("127.0.0.1", 1)));
}

TEST_CASE("address patterns: IP literals and CIDRs match IP literals only, as numbers") {
  const auto net = P("10.0.0.0/8");
  CHECK(net.Matches(A("10.1.2.3", 6379)));
  CHECK_FALSE(net.Matches(A("11.0.0.1", 6379)));
  CHECK_FALSE(net.Matches(A("10.evil.example", 6379)));  // a name never matches a CIDR
  CHECK(net.Matches(A("::ffff:10.9.9.9", 6379)));        // IPv4-mapped counts as IPv4
  CHECK_FALSE(net.Matches(A("fd00::1", 6379)));
  CHECK(P("10.1.2.3/8").Matches(A("10.200.0.1", 1)));  // host bits are cleared
  CHECK(P("10.0.0.0/8:26379").Matches(A("10.0.0.1", 26379)));
  CHECK_FALSE(P("10.0.0.0/8:26379").Matches(A("10.0.0.1", 6379)));
  CHECK(P("0.0.0.0/0").Matches(A("192.168.1.1", 1)));
  CHECK(P("192.168.1.128/25").Matches(A("192.168.1.200", 1)));
  CHECK_FALSE(P("192.168.1.128/25").Matches(A("192.168.1.100", 1)));

  CHECK(P("127.0.0.1:26379").Matches(A("127.0.0.1", 26379)));
  CHECK_FALSE(P("127.0.0.1:26379").Matches(A("127.0.0.2", 26379)));
  // Not canonical dotted quads: left to names, so no IPv4 pattern matches them.
  CHECK_FALSE(P("127.0.0.0/8").Matches(A("0177.0.0.1", 1)));
  CHECK_FALSE(P("127.0.0.0/8").Matches(A("2130706433", 1)));

  CHECK(P("fd00::/8").Matches(A("fd12::1", 6379)));
  CHECK(P("[fd00::/8]:6379").Matches(A("fd12::1", 6379)));
  CHECK_FALSE(P("[fd00::/8]:6379").Matches(A("fd12::1", 6380)));
  CHECK(P("[0:0::1]:26379").Matches(A("::1", 26379)));
  CHECK(P("::1").Matches(A("0::1", 1)));
  CHECK_FALSE(P("::1").Matches(A("127.0.0.1", 1)));
}

TEST_CASE("address patterns: malformed ones are rejected with a reason") {
  CHECK(Error("").find("empty") != std::string::npos);
  CHECK(Error("host:").find("empty port") != std::string::npos);
  CHECK(Error("host:0").find("port") != std::string::npos);
  CHECK(Error("host:70000").find("port") != std::string::npos);
  CHECK(Error(":6379").find("empty host") != std::string::npos);
  CHECK(Error("10.0.0.0/33").find("prefix length") != std::string::npos);
  CHECK(Error("fd00::/129").find("prefix length") != std::string::npos);
  CHECK(Error("10.0.0.*").find("CIDR") != std::string::npos);
  CHECK(Error("*").find("CIDR") != std::string::npos);
  CHECK(Error("host/8").find("CIDR") != std::string::npos);
  CHECK(Error("[host]:1").find("brackets") != std::string::npos);
  CHECK(Error("[::1").find("']'") != std::string::npos);
  CHECK(Error("[::1]6379").find("':PORT'") != std::string::npos);
  CHECK(Error("a..b").find("empty label") != std::string::npos);
  CHECK(Error("a b").find("host name may hold") != std::string::npos);
  CHECK(Error("::ffff:10.0.0.1").find("IPv4") != std::string::npos);
  CHECK(Error("bad!").find("'bad!'") == 0);  // the error names the pattern

  std::string error;
  auto list = rse::ParsePatterns({"10.0.0.0/8, a.b:1", "c.d"}, "--flag", error);
  REQUIRE(list);
  CHECK(list->size() == 3);
  CHECK(rse::MatchesAny(*list, A("c.d", 9)));
  CHECK_FALSE(rse::MatchesAny(*list, A("a.b", 2)));
  CHECK_FALSE(rse::ParsePatterns({"ok.host", "10.0.0.*"}, "--flag", error));
  CHECK(error.find("--flag: '10.0.0.*'") == 0);
}

TEST_CASE("probe config: bindings, first match wins, secrets read from files relative to the config") {
  Dir dir;
  dir.Write("a-redis", "secret-a\n");
  dir.Write("a-cache", "secret-a-cache\r\n");
  dir.Write("a-sentinel", "secret-a-sentinel");
  dir.Write("b-redis", "secret-b\n");
  const std::string yaml =
      "bindings:\n"
      "  - name: a\n"
      "    targets: ['sentinel-*.a.svc:26379', '10.1.0.0/16:26379']\n"
      "    redis:\n"
      "      user: exporter\n"
      "      password_file: a-redis\n"
      "      master_password_files:\n"
      "        cache: a-cache\n"
      "    sentinel:\n"
      "      password_file: " +
      dir.path +
      "/a-sentinel\n"
      "    allowed_addresses: ['10.1.0.0/16', '*.a.svc']\n"
      "  - name: b\n"
      "    targets: ['10.0.0.0/8']\n"
      "    redis: {password_file: b-redis}\n"
      "  - name: open\n"
      "    targets: ['*.open.svc']\n";
  std::string error;
  auto cfg = Parse(yaml, dir.path, error);
  REQUIRE_MESSAGE(cfg, error);
  REQUIRE(cfg->bindings.size() == 3);
  const auto& a = cfg->bindings[0];
  CHECK(a.redis_credentials == rse::redis::Credentials{"exporter", "secret-a"});
  CHECK(a.group_credentials.at("cache") == rse::redis::Credentials{"exporter", "secret-a-cache"});
  CHECK(a.sentinel_credentials == rse::redis::Credentials{"", "secret-a-sentinel"});
  CHECK(a.allowed_addresses.size() == 2);
  CHECK(cfg->bindings[1].allowed_addresses.empty());
  CHECK(cfg->bindings[2].redis_credentials.password.empty());

  CHECK(cfg->Match(A("sentinel-0.a.svc", 26379)) == &cfg->bindings[0]);
  CHECK(cfg->Match(A("10.1.2.3", 26379)) == &cfg->bindings[0]);  // also in b's 10.0.0.0/8: first wins
  CHECK(cfg->Match(A("10.1.2.3", 26380)) == &cfg->bindings[1]);
  CHECK(cfg->Match(A("x.open.svc", 1)) == &cfg->bindings[2]);
  CHECK(cfg->Match(A("sentinel-0.evil.a.svc", 26379)) == nullptr);
  CHECK(cfg->Match(A("evil", 26379)) == nullptr);

  CHECK(Parse("", dir.path, error)->bindings.empty());
  CHECK(Parse("bindings: []\n", dir.path, error)->bindings.empty());
}

TEST_CASE("probe config: every mistake is an error naming its key") {
  Dir dir;
  dir.Write("pw", "x\n");
  dir.Write("empty", "");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"nonsense: 1\n", "top level: unknown key 'nonsense'"},
      {"bindings: {a: 1}\n", "bindings: expected a list"},
      {"bindings:\n  - targets: [a.b]\n", "bindings[0]: name is required"},
      {"bindings:\n  - name: a\n", "bindings.a: targets is required"},
      {"bindings:\n  - name: a\n    targets: []\n", "bindings.a.targets: at least one"},
      {"bindings:\n  - name: a\n    targets: a.b\n", "bindings.a.targets: expected a list"},
      {"bindings:\n  - name: a\n    targets: ['10.0.0.*']\n", "bindings.a.targets[0]: '10.0.0.*'"},
      {"bindings:\n  - name: a\n    targets: [a.b]\n    extra: 1\n", "bindings[0]: unknown key 'extra'"},
      {"bindings:\n  - name: a\n    targets: [a.b]\n  - name: a\n    targets: [c.d]\n",
       "bindings[1].name: 'a' is used twice"},
      {"bindings:\n  - name: a\n    targets: [a.b]\n    redis: {password: x}\n",
       "bindings.a.redis: unknown key 'password'"},
      {"bindings:\n  - name: a\n    targets: [a.b]\n    redis: {password_file: missing}\n",
       "bindings.a.redis.password_file: cannot read"},
      {"bindings:\n  - name: a\n    targets: [a.b]\n    redis: {password_file: empty}\n",
       "bindings.a.redis.password_file: " + dir.path + "/empty is empty"},
      {"bindings:\n  - name: a\n    targets: [a.b]\n    redis: {user: u}\n", "bindings.a.redis.user needs"},
      {"bindings:\n  - name: a\n    targets: [a.b]\n    sentinel: {user: u}\n", "bindings.a.sentinel.user needs"},
      {"bindings:\n  - name: a\n    targets: [a.b]\n    sentinel: {master_password_files: {m: pw}}\n",
       "bindings.a.sentinel: unknown key 'master_password_files'"},
      {"bindings:\n  - name: a\n    targets: [a.b]\n    redis: {master_password_files: [pw]}\n",
       "bindings.a.redis.master_password_files: expected a mapping"},
      {"bindings:\n  - name: a\n    targets: [a.b]\n    allowed_addresses: []\n",
       "bindings.a.allowed_addresses: an empty"},
      {"bindings:\n  - name: a\n    targets: [a.b]\n    allowed_addresses: ['x:y']\n",
       "bindings.a.allowed_addresses[0]: 'x:y'"},
      {"bindings: [\n", "end of"},
  };
  for (const auto& [yaml, want] : cases) {
    std::string error;
    const auto& text = yaml;  // clang 14 cannot capture a structured binding in CAPTURE's lambda
    CAPTURE(text);
    CHECK_FALSE(Parse(yaml, dir.path, error));
    CHECK_MESSAGE(error.find(want) != std::string::npos, error);
  }
  // A secret's content never appears in an error.
  dir.Write("secret", "hunter2-never-shown\n");
  std::string error;
  CHECK_FALSE(
      Parse("bindings:\n  - name: a\n    targets: [a.b]\n    redis: {password_file: secret, x: 1}\n", dir.path, error));
  CHECK(error.find("hunter2") == std::string::npos);

  auto missing = rse::LoadProbeConfig(dir.path + "/nope.yml", error);
  CHECK_FALSE(missing);
  CHECK(error == "--probe.config.file: cannot read " + dir.path + "/nope.yml");
}

TEST_CASE("probe config: the example in deploy/ is valid") {
  Dir dir;
  dir.Mkdir("secrets");
  for (const char* f : {"team-a-redis", "team-a-sessions", "team-b-redis", "team-b-sentinel"}) {
    dir.Write(std::string("secrets/") + f, std::string(f) + "-pw\n");
  }
  std::ifstream in(std::string(RSE_FIXTURES_DIR) + "/../../deploy/probe-config.example.yml");
  REQUIRE(in);
  std::stringstream text;
  text << in.rdbuf();
  std::string error;
  auto cfg = Parse(text.str(), dir.path, error);
  REQUIRE_MESSAGE(cfg, error);
  REQUIRE(cfg->bindings.size() == 3);
  CHECK(cfg->Match(A("10.1.4.5", 26379))->name == "team-a");
  CHECK(cfg->Match(A("sentinel-2.team-b.svc", 26379))->sentinel_credentials.password == "team-b-sentinel-pw");
  CHECK(cfg->Match(A("x.sandbox.svc", 26379))->redis_credentials.password.empty());
}
