// Flags and environment, in the habits of Prometheus exporters.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>

#include <doctest/doctest.h>

#include "exporter/config.h"
#include "exporter/exporter.h"
#include "exporter/http.h"

namespace {

rse::ParsedArgs Parse(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  args.insert(args.begin(), "redis_sentinel_exporter");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  return rse::ParseArgs(static_cast<int>(argv.size()), argv.data(),
                        [env](const char* name) -> std::optional<std::string> {
                          auto it = env.find(name);
                          if (it == env.end()) return std::nullopt;
                          return it->second;
                        });
}

std::string TempFile(const std::string& content) {
  char path[] = "/tmp/rse-config-test-XXXXXX";
  int fd = mkstemp(path);
  close(fd);
  std::ofstream(path) << content;
  return path;
}

bool Enabled(const rse::Config& c, const std::string& name) {
  return std::find(c.collectors.begin(), c.collectors.end(), name) != c.collectors.end();
}

}  // namespace

TEST_CASE("defaults") {
  auto r = Parse({});
  REQUIRE(r.action == rse::ParsedArgs::Action::kRun);
  CHECK(r.config.listen_address == ":9355");
  CHECK(r.config.telemetry_path == "/metrics");
  CHECK(r.config.timeout == std::chrono::seconds(5));
  CHECK(r.config.sentinels.empty());
  CHECK(r.config.master_names.empty());
  CHECK(r.config.redis_credentials.password.empty());
  for (const char* c : {"sentinel", "replicas", "sentinels", "ckquorum", "replication", "info"}) {
    CHECK_MESSAGE(Enabled(r.config, c), c);
  }
}

TEST_CASE("the configured topology's replies have a budget of their own, not the /probe targets'") {
  auto r = Parse({"--redis.max-reply-bytes=2097152"});
  REQUIRE(r.action == rse::ParsedArgs::Action::kRun);
  const rse::FetchOptions o = rse::FetchOptionsFrom(r.config);
  REQUIRE(o.reply_budget);
  CHECK(o.reply_budget->Take(2097152));
  CHECK_FALSE(o.reply_budget->Take(1));
  CHECK(o.reply_budget->what().find("configured topology") != std::string::npos);
  CHECK(Parse({}).config.redis_max_reply_bytes == 256u << 20);
}

TEST_CASE("the runbook's environment variables configure everything") {
  auto r = Parse({}, {{"REDIS_SENTINEL_HOSTS", "10.0.0.1:26379,10.0.0.2:26379, sentinel-3:26379"},
                      {"REDIS_SENTINEL_MASTER", "aragora-master"},
                      {"REDIS_PASSWORD", "pw-from-env"}});
  REQUIRE(r.action == rse::ParsedArgs::Action::kRun);
  REQUIRE(r.config.sentinels.size() == 3);
  CHECK(r.config.sentinels[2].ToString() == "sentinel-3:26379");
  CHECK(r.config.master_names == std::vector<std::string>{"aragora-master"});
  CHECK(r.config.redis_credentials.password == "pw-from-env");
  // The data nodes' password is never the Sentinels' too.
  CHECK(r.config.sentinel_credentials.password.empty());
}

TEST_CASE("flags win over the environment, repeatable and comma-separated lists") {
  auto r = Parse({"--sentinel.addr=a:1,b:2", "--sentinel.addr", "c:3", "--sentinel.addr=a:1",
                  "--sentinel.master-name=m1", "--sentinel.master-name=m2"},
                 {{"REDIS_SENTINEL_HOSTS", "x:9"}, {"REDIS_SENTINEL_MASTER", "other"}});
  REQUIRE(r.action == rse::ParsedArgs::Action::kRun);
  REQUIRE(r.config.sentinels.size() == 3);  // duplicates dropped
  CHECK(r.config.sentinels[0].ToString() == "a:1");
  CHECK(r.config.sentinels[2].ToString() == "c:3");
  CHECK(r.config.master_names == std::vector<std::string>{"m1", "m2"});
}

TEST_CASE("passwords come from files, first line, trailing newline dropped") {
  auto redis_pw = TempFile("from-file\n");
  auto sentinel_pw = TempFile("sentinel-secret\r\nignored second line\n");
  auto r = Parse({"--redis.password-file=" + redis_pw, "--redis.user=exporter",
                  "--sentinel.password-file=" + sentinel_pw, "--sentinel.user=mon"},
                 {{"REDIS_PASSWORD", "env-loses"}});
  std::remove(redis_pw.c_str());
  std::remove(sentinel_pw.c_str());
  REQUIRE(r.action == rse::ParsedArgs::Action::kRun);
  CHECK(r.config.redis_credentials.password == "from-file");
  CHECK(r.config.redis_credentials.user == "exporter");
  CHECK(r.config.sentinel_credentials.password == "sentinel-secret");
  CHECK(r.config.sentinel_credentials.user == "mon");
}

TEST_CASE("REDIS_PASSWORD_FILE names a password file and wins over REDIS_PASSWORD") {
  auto pw = TempFile("from-env-file\n");
  auto r = Parse({}, {{"REDIS_PASSWORD_FILE", pw}, {"REDIS_PASSWORD", "plain-env"}});
  std::remove(pw.c_str());
  REQUIRE(r.action == rse::ParsedArgs::Action::kRun);
  CHECK(r.config.redis_credentials.password == "from-env-file");
}

TEST_CASE("configuration errors are clear and exit 2") {
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  for (const auto& c : std::vector<Case>{
           {{"--sentinel.addr=no-port"}, "not host:port"},
           {{"--sentinel.addr=[::1]"}, "not host:port"},
           {{"--redis.timeout=soon"}, "--redis.timeout"},
           {{"--redis.timeout=0s"}, "--redis.timeout"},
           {{"--redis.password-file=/nonexistent/pw"}, "cannot read /nonexistent/pw"},
           {{"--redis.user=u"}, "needs a password"},
           {{"--log.format=xml"}, "logfmt or json"},
           {{"--log.level=verbose"}, "--log.level"},
           {{"--web.telemetry-path=metrics"}, "must start with '/'"},
           {{"--web.telemetry-path=/probe"}, "cannot be /probe"},
           {{"--no-such-flag"}, "no-such-flag"},
           {{"--redis.password=secret"}, "redis.password"},
           {{"stray"}, "unexpected argument"},
           {{"--sentinel.user=s"}, "--sentinel.user needs --sentinel.password-file"},
           {{"--redis.master-password-file=m"}, "--redis.master-password-file: 'm' is not NAME=FILE"},
           {{"--redis.master-password-file=m=/nonexistent/pw"}, "--redis.master-password-file: cannot read"},
           {{"--scrape.timeout-offset=soon"}, "--scrape.timeout-offset: not a duration"},
           {{"--web.max-requests=0"}, "--web.max-requests must be 1 to 1024"},
           {{"--web.max-requests=many"}, "failed to parse (see --help)"},
           {{"--web.max-connections=0"}, "--web.max-connections must be 1 to 1000000"},
           {{"--probe.max-connections=0"}, "--probe.max-connections must be 1 to 1000000"},
           {{"--redis.max-reply-bytes=65536"}, "--redis.max-reply-bytes must be at least 1048576"},
           {{"--web.max-header-bytes=100"}, "--web.max-header-bytes must be 1024 to 1048576"},
           {{"--web.idle-timeout=0s"}, "--web.idle-timeout: '0s' is not a positive duration"},
           {{"--web.telemetry-path=/-/ready"}, "cannot be /-/ready"},
           {{"--output=xml"}, "--output must be text or json"},
           {{"--web.config.file=/nonexistent/web.yml"}, "--web.config.file: /nonexistent/web.yml"},
           {{"--probe.config.file=/nonexistent/probe.yml"}, "--probe.config.file: cannot read"},
           {{"--redis.tls-ca-file=/nonexistent/ca.pem"}, "--redis.tls: cannot load CA file /nonexistent/ca.pem"},
           {{"--sentinel.tls-cert-file=/nonexistent/c.pem"}, "--sentinel.tls: a client certificate needs both"},
       }) {
    auto r = Parse(c.args);
    INFO(c.args[0]);
    CHECK(r.action == rse::ParsedArgs::Action::kExit);
    CHECK(r.exit_code == 3);
    CHECK(r.output.find(c.says) != std::string::npos);
  }
}

TEST_CASE("flag values are checked before the files they name are loaded, the first error is shown") {
  auto r = Parse({"--redis.tls-ca-file=/nonexistent/ca.pem", "--web.config.file=/nonexistent/web.yml",
                  "--probe.config.file=/nonexistent/probe.yml", "--web.max-requests=0"});
  CHECK(r.exit_code == 3);
  CHECK(r.output == "--web.max-requests must be 1 to 1024");
  auto files = Parse({"--redis.tls-ca-file=/nonexistent/ca.pem", "--web.config.file=/nonexistent/web.yml"});
  CHECK(files.output.find("--redis.tls: ") == 0);
}

TEST_CASE("check: usage errors exit 3, never a verdict") {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"check"}, {"check", "--sentinel.addr=a:1", "--output=xml"}, {"check", "--no-such-flag"}}) {
    auto r = Parse(args);
    INFO(args.back());
    CHECK(r.action == rse::ParsedArgs::Action::kExit);
    CHECK(r.exit_code == 3);
  }
  auto ok = Parse({"check", "--sentinel.addr=a:1", "--output=json"});
  REQUIRE(ok.action == rse::ParsedArgs::Action::kRun);
  CHECK(ok.config.mode == rse::Config::Mode::kCheck);
  CHECK(ok.config.output == "json");
}

TEST_CASE("a password file's content never appears in an error") {
  auto r = Parse({"--redis.user=u", "--sentinel.user=s"}, {{"REDIS_PASSWORD", "p4ss"}});
  CHECK(r.exit_code == 3);
  CHECK(r.output.find("p4ss") == std::string::npos);
}

TEST_CASE("--collector.NAME and --no-collector.NAME") {
  auto r = Parse({"--no-collector.info", "--no-collector.ckquorum", "--collector.replication=false"});
  REQUIRE(r.action == rse::ParsedArgs::Action::kRun);
  CHECK_FALSE(Enabled(r.config, "info"));
  CHECK_FALSE(Enabled(r.config, "ckquorum"));
  CHECK_FALSE(Enabled(r.config, "replication"));
  CHECK(Enabled(r.config, "sentinel"));
}

TEST_CASE("--collector.disable-defaults keeps only the collectors turned on by name") {
  auto r = Parse({"--collector.disable-defaults", "--collector.sentinel", "--collector.topology"});
  REQUIRE(r.action == rse::ParsedArgs::Action::kRun);
  CHECK(r.config.collectors == std::vector<std::string>{"sentinel", "topology"});
  auto none = Parse({"--collector.disable-defaults"});
  REQUIRE(none.action == rse::ParsedArgs::Action::kRun);
  CHECK(none.config.collectors.empty());
  auto off = Parse({"--collector.disable-defaults=false", "--no-collector.info"});
  REQUIRE(off.action == rse::ParsedArgs::Action::kRun);
  CHECK_FALSE(Enabled(off.config, "info"));
  CHECK(Enabled(off.config, "sentinel"));
}

TEST_CASE("durations") {
  CHECK(rse::ParseDuration("5s") == std::chrono::milliseconds(5000));
  CHECK(rse::ParseDuration("250ms") == std::chrono::milliseconds(250));
  CHECK(rse::ParseDuration("1.5s") == std::chrono::milliseconds(1500));
  CHECK(rse::ParseDuration("2m") == std::chrono::milliseconds(120000));
  CHECK(rse::ParseDuration("3") == std::chrono::milliseconds(3000));
  CHECK_FALSE(rse::ParseDuration("").has_value());
  CHECK_FALSE(rse::ParseDuration("5h").has_value());
  CHECK_FALSE(rse::ParseDuration("-1s").has_value());
  CHECK_FALSE(rse::ParseDuration("fast").has_value());
}

TEST_CASE("--help and --version exit 0 with their text") {
  auto help = Parse({"--help"});
  CHECK(help.action == rse::ParsedArgs::Action::kExit);
  CHECK(help.exit_code == 0);
  CHECK(help.output.find("--sentinel.addr") != std::string::npos);
  CHECK(help.output.find("REDIS_SENTINEL_HOSTS") != std::string::npos);
  auto version = Parse({"--version"});
  CHECK(version.exit_code == 0);
  CHECK(version.output.find("version") != std::string::npos);
}

TEST_CASE("credential bindings: --probe.config.file, --probe.allowed-targets and --redis.allowed-addresses") {
  const std::string secret = TempFile("probe-secret\n");
  const std::string config =
      TempFile("bindings:\n  - name: a\n    targets: ['*.a.svc:26379']\n    redis: {password_file: " + secret + "}\n");
  auto ok = Parse({"--probe.config.file=" + config, "--probe.allowed-targets=10.0.0.0/8, *.a.svc:26379",
                   "--redis.allowed-addresses=10.0.0.0/8", "--redis.allowed-addresses=[fd00::/8]:6379"});
  REQUIRE(ok.action == rse::ParsedArgs::Action::kRun);
  REQUIRE(ok.config.probe.bindings.size() == 1);
  CHECK(ok.config.probe.bindings[0].redis_credentials.password == "probe-secret");
  CHECK(ok.config.probe_allowed_targets.size() == 2);
  CHECK(ok.config.redis_allowed_addresses.size() == 2);

  auto bad_pattern = Parse({"--redis.allowed-addresses=10.0.0.*"});
  CHECK(bad_pattern.exit_code == 3);
  CHECK(bad_pattern.output.find("--redis.allowed-addresses: '10.0.0.*'") == 0);
  auto bad_target = Parse({"--probe.allowed-targets=host:0"});
  CHECK(bad_target.exit_code == 3);
  CHECK(bad_target.output.find("--probe.allowed-targets: 'host:0'") == 0);
  const std::string broken = TempFile("bindings:\n  - name: a\n    targets: [a.b]\n    redis: {pasword_file: x}\n");
  auto bad_file = Parse({"--probe.config.file=" + broken});
  CHECK(bad_file.exit_code == 3);
  CHECK(bad_file.output == "--probe.config.file: " + broken + ": bindings.a.redis: unknown key 'pasword_file'");
  for (const auto& f : {secret, config, broken}) std::remove(f.c_str());
}

TEST_CASE("scrape timeout: Prometheus' timeout less the offset when shorter, never past Prometheus' own") {
  using std::chrono::milliseconds;
  const milliseconds configured(5000), offset(500);
  auto timeout = [&](const char* header) {
    const std::string value = header;
    return rse::ScrapeTimeout(&value, configured, offset).count();
  };
  CHECK(rse::ScrapeTimeout(nullptr, configured, offset).count() == 5000);
  CHECK(timeout("10") == 5000);  // --redis.timeout is shorter
  CHECK(timeout("2") == 1500);
  CHECK(timeout("1.25") == 750);
  // The offset would leave nothing: half of Prometheus' timeout, not --redis.timeout.
  CHECK(timeout("0.5") == 250);
  CHECK(timeout("0.4") == 200);
  CHECK(timeout("0.0001") == 1);
  for (const char* ignored : {"", "abc", "0", "-1", "nan", "inf", "1e9", "86400"}) {
    CAPTURE(ignored);
    CHECK(timeout(ignored) == 5000);
  }
}
