// --web.config.file: HTTPS, client certificates and basic auth in the exporter-toolkit format,
// exercised with curl and certificates made by the test.
#include <arpa/inet.h>
#include <crypt.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "tests/support/exporter.h"
#include "tests/support/ports.h"

using namespace rse::test;

namespace {

struct WebFixture {
  std::string dir;
  WebFixture() {
    char tmpl[] = "/tmp/rse-web-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    Sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=rse-web-ca");
    Sh("printf 'subjectAltName=IP:127.0.0.1\\n' > san.cnf");
    Sh("openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=exporter");
    Sh("openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 "
       "-extfile san.cnf");
    Sh("openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=prometheus");
    Sh("openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days 2");
  }
  ~WebFixture() { Run({"rm", "-rf", dir}); }
  void Sh(const std::string& cmd) const {
    auto r = Run({"sh", "-c", "cd " + dir + " && " + cmd + " 2>&1"});
    REQUIRE_MESSAGE(r.exit_code == 0, cmd << ": " << r.out);
  }
  std::string Write(const std::string& name, const std::string& text) const {
    std::ofstream(dir + "/" + name) << text;
    return dir + "/" + name;
  }
  // curl's HTTP status for a request, or "" when no HTTP answer came back.
  std::string Curl(int port, std::vector<std::string> opts, const std::string& scheme = "https") const {
    std::vector<std::string> argv = {"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5"};
    argv.insert(argv.end(), opts.begin(), opts.end());
    argv.push_back(scheme + "://127.0.0.1:" + std::to_string(port) + "/metrics");
    auto r = Run(argv, EnvWith({}), std::chrono::seconds(10));
    return r.out == "000" ? "" : r.out;
  }
};

std::string Bcrypt(const std::string& password) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  REQUIRE(crypt_gensalt_rn("$2b$", 5, nullptr, 0, salt, sizeof(salt)) != nullptr);
  crypt_data data{};
  return crypt_r(password.c_str(), salt, &data);
}

}  // namespace

TEST_CASE("web config: HTTPS with a required client certificate and basic auth") {
  WebFixture f;
  const std::string config = f.Write("web.yml",
                                     "tls_server_config:\n"
                                     "  cert_file: server.crt\n"  // relative to the config file
                                     "  key_file: server.key\n"
                                     "  client_auth_type: RequireAndVerifyClientCert\n"
                                     "  client_ca_file: ca.crt\n"
                                     "basic_auth_users:\n"
                                     "  prometheus: '" +
                                         Bcrypt("scrape-secret") + "'\n");
  ExporterProcess exporter({"--web.config.file=" + config});
  const int port = exporter.port();
  CHECK(exporter.Log().find("tls=yes basic_auth=yes") != std::string::npos);

  const std::vector<std::string> cert = {"--cacert", f.dir + "/ca.crt",    "--cert", f.dir + "/client.crt",
                                         "--key",    f.dir + "/client.key"};
  auto with = [&](std::vector<std::string> extra) {
    auto o = cert;
    o.insert(o.end(), extra.begin(), extra.end());
    return o;
  };
  CHECK(f.Curl(port, with({"-u", "prometheus:scrape-secret"})) == "200");
  CHECK(f.Curl(port, with({"-u", "prometheus:scrape-secret"})) == "200");  // remembered, same answer
  CHECK(f.Curl(port, with({"-u", "prometheus:wrong"})) == "401");
  CHECK(f.Curl(port, with({"-u", "someone:scrape-secret"})) == "401");
  CHECK(f.Curl(port, with({})) == "401");
  // No client certificate: the handshake fails, no HTTP answer at all.
  CHECK(f.Curl(port, {"--cacert", f.dir + "/ca.crt", "-u", "prometheus:scrape-secret"}).empty());
  // Plain HTTP on the TLS port gets no HTTP answer either.
  CHECK(f.Curl(port, {"-u", "prometheus:scrape-secret"}, "http").empty());
  // And the server is still fine after all of that.
  CHECK(f.Curl(port, with({"-u", "prometheus:scrape-secret"})) == "200");
  CHECK(exporter.Running());
  CHECK(exporter.Log().find("scrape-secret") == std::string::npos);
}

TEST_CASE("web config: min_version is enforced, no client certificate asked by default") {
  WebFixture f;
  const std::string config =
      f.Write("web.yml", "tls_server_config:\n  cert_file: " + f.dir + "/server.crt\n  key_file: " + f.dir +
                             "/server.key\n  min_version: TLS13\n");
  ExporterProcess exporter({"--web.config.file=" + config});
  const int port = exporter.port();
  CHECK(f.Curl(port, {"--cacert", f.dir + "/ca.crt"}) == "200");
  CHECK(f.Curl(port, {"--cacert", f.dir + "/ca.crt", "--tls-max", "1.2"}).empty());
}

// CPU seconds (user + system) a process has used, from /proc/PID/stat.
double CpuSeconds(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));  // after "(comm) "
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stol(field);
    if (i == 15) stime = std::stol(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

TEST_CASE("web config: clients that drip their TLS handshake cost the server no CPU while it waits") {
  WebFixture f;
  const std::string config =
      f.Write("web.yml", "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n");
  ExporterProcess exporter({"--web.config.file=" + config});
  const int port = exporter.port();
  // 50 clients send the header of a handshake record that promises 512 bytes, and no more.
  std::vector<int> slow;
  for (int i = 0; i < 50; ++i) {
    const int fd = ConnectLoopback(port);
    REQUIRE(fd >= 0);
    REQUIRE(send(fd, "\x16\x03\x01\x02\x00", 5, MSG_NOSIGNAL) == 5);
    slow.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  // The server waits for the rest of each record without spinning on the bytes it has seen: a
  // loop woken over and over by them would use a whole core for as long as the clients stay.
  const double before = CpuSeconds(exporter.pid());
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const double used = CpuSeconds(exporter.pid()) - before;
  INFO("exporter CPU over 2 s with 50 waiting handshakes: " << used << " s");
  CHECK(used < 0.5);
  // The rest of a record still arrives and is read: a real client meanwhile gets its answer.
  CHECK(f.Curl(port, {"--cacert", f.dir + "/ca.crt"}) == "200");
  for (int fd : slow) close(fd);
}

TEST_CASE("web config: mistakes are startup errors that name the key") {
  WebFixture f;
  struct Case {
    std::string yaml, says;
  };
  for (const auto& c : std::vector<Case>{
           {"tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth: x\n", "unknown key 'client_auth'"},
           {"tls_server_config:\n  cert_file: /nonexistent.crt\n  key_file: /nonexistent.key\n",
            "cannot load cert_file /nonexistent.crt"},
           {"tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
            "  client_auth_type: RequireAndVerifyClientCert\n",
            "needs client_ca_file"},
           {"tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: SSL3\n",
            "min_version"},
           {"basic_auth_users:\n  u: plaintext\n", "not a bcrypt hash"},
           {"basic_auth_users:\n  u: $2b$24$abcdefghijklmnopqrstuuRUtJEWkKZpt4/fW\n", "bcrypt cost 24"},
           {"basic_auth: {}\n", "unknown key 'basic_auth'"},
       }) {
    auto path = f.Write("bad.yml", c.yaml);
    auto r = Run({RSE_EXPORTER_BINARY, "--web.config.file=" + path});
    INFO(c.yaml);
    CHECK(r.exit_code == 3);
    CHECK(r.err.find(c.says) != std::string::npos);
  }
}

namespace {

// The subject of the certificate the exporter presents now, or "" when no handshake completes.
std::string PresentedSubject(const WebFixture& f, int port) {
  auto r = Run({"sh", "-c",
                "timeout 5 openssl s_client -connect 127.0.0.1:" + std::to_string(port) +
                    " </dev/null 2>/dev/null | openssl x509 -noout -subject 2>/dev/null"},
               EnvWith({}), std::chrono::seconds(10));
  (void)f;
  return r.out;
}

template <typename Pred>
bool Within(std::chrono::seconds timeout, Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return pred();
}

}  // namespace

TEST_CASE("web config: a rotated certificate is served without a restart, a broken file keeps the old one") {
  WebFixture f;
  f.Sh("cp server.crt a.crt && cp server.key a.key");
  f.Sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout b.key -out b.crt -days 2 -subj /CN=rotated");
  const std::string config = f.Write("web.yml", "tls_server_config:\n  cert_file: live.crt\n  key_file: live.key\n");
  f.Sh("cp a.crt live.crt && cp a.key live.key");
  ExporterProcess exporter({"--web.config.file=" + config});
  const int port = exporter.port();
  CHECK(PresentedSubject(f, port).find("CN = exporter") != std::string::npos);

  // Rotation as cert-manager or a deploy does it: new files under the same names.
  f.Sh("cp b.key live.key.new && cp b.crt live.crt.new && mv live.key.new live.key && mv live.crt.new live.crt");
  CHECK(Within(std::chrono::seconds(15),
               [&] { return PresentedSubject(f, port).find("CN = rotated") != std::string::npos; }));
  CHECK(exporter.Log().find("web configuration reloaded") != std::string::npos);

  // A broken file: an error in the log, and the certificate in force stays.
  f.Write("web.yml", "tls_server_config:\n  cert_file: live.crt\n  key_file: live.key\n  oops: 1\n");
  CHECK(Within(std::chrono::seconds(15),
               [&] { return exporter.Log().find("web configuration not reloaded") != std::string::npos; }));
  CHECK(exporter.Log().find("unknown key 'oops'") != std::string::npos);
  CHECK(PresentedSubject(f, port).find("CN = rotated") != std::string::npos);

  // Fixed again, now with basic auth: it takes effect too.
  f.Write("web.yml", "tls_server_config:\n  cert_file: live.crt\n  key_file: live.key\nbasic_auth_users:\n  p: '" +
                         Bcrypt("rotate-secret") + "'\n");
  CHECK(Within(std::chrono::seconds(15), [&] { return f.Curl(port, {"-k"}) == "401"; }));
  CHECK(f.Curl(port, {"-k", "-u", "p:rotate-secret"}) == "200");
  CHECK(exporter.Running());
}

TEST_CASE("HTTP: gzip for clients that ask, /-/ready after the first collection") {
  // A Sentinel that accepts and never answers: the first collection takes the whole timeout.
  int silent = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(silent >= 0);
  const int silent_port = BindTestPort(silent);
  REQUIRE(silent_port != 0);
  REQUIRE(listen(silent, 16) == 0);
  const std::string sentinel = "127.0.0.1:" + std::to_string(silent_port);

  ExporterProcess exporter({"--sentinel.addr=" + sentinel, "--redis.timeout=4s"});
  CHECK(exporter.Get("/-/ready").status == 503);
  CHECK(exporter.Get("/-/healthy").status == 200);
  CHECK(Within(std::chrono::seconds(15), [&] { return exporter.Get("/-/ready").status == 200; }));

  auto plain = exporter.Get("/metrics");
  auto zipped = exporter.Get("/metrics", {"Accept-Encoding: gzip"});
  REQUIRE(zipped.status == 200);
  CHECK(zipped.headers.find("Content-Encoding: gzip") != std::string::npos);
  CHECK(plain.headers.find("Content-Encoding") == std::string::npos);
  REQUIRE(zipped.body.size() > 2);
  CHECK(static_cast<unsigned char>(zipped.body[0]) == 0x1f);
  CHECK(static_cast<unsigned char>(zipped.body[1]) == 0x8b);
  CHECK(zipped.body.size() < plain.body.size());
  close(silent);
}

TEST_CASE("check --check.events-url over HTTPS with basic auth: the CA file, the password file, the errors") {
  WebFixture f;
  const std::string config = f.Write("web.yml",
                                     "tls_server_config:\n"
                                     "  cert_file: server.crt\n"
                                     "  key_file: server.key\n"
                                     "basic_auth_users:\n"
                                     "  ops: '" +
                                         Bcrypt("events-secret-4e1") + "'\n");
  ExporterProcess exporter({"--web.config.file=" + config});
  const std::string url = "--check.events-url=https://127.0.0.1:" + std::to_string(exporter.port()) + "/events";
  const std::string good = f.Write("pw", "events-secret-4e1\n");
  const std::string bad = f.Write("bad-pw", "not-it\n");
  // No Sentinel answers: check's verdict is critical (2) whatever happens to the events.
  auto check = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv = {RSE_EXPORTER_BINARY,  "check",         "--sentinel.addr=127.0.0.1:1",
                                     "--redis.timeout=3s", "--output=json", url};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto r = Run(argv, EnvWith({"REDIS_SENTINEL_HOSTS=", "REDIS_PASSWORD="}), std::chrono::seconds(30));
    INFO(r.out, r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.out.find("events-secret-4e1") == std::string::npos);
    CHECK(r.err.find("events-secret-4e1") == std::string::npos);
    auto doc = nlohmann::json::parse(r.out);
    CHECK(doc["exit_code"] == 2);
    return doc;
  };
  auto ok = check({"--check.events-ca-file=" + f.dir + "/ca.crt", "--check.events-user=ops",
                   "--check.events-password-file=" + good});
  CHECK(ok["events"].is_array());  // no Sentinel, so no events: but read
  CHECK(ok["events_error"].is_null());

  auto wrong = check({"--check.events-ca-file=" + f.dir + "/ca.crt", "--check.events-user=ops",
                      "--check.events-password-file=" + bad});
  CHECK(wrong["events"].is_null());
  CHECK(wrong["events_error"] == "HTTP 401 from 127.0.0.1:" + std::to_string(exporter.port()) + ": Unauthorized");

  auto untrusted = check({"--check.events-user=ops", "--check.events-password-file=" + good});  // the system's CAs
  CHECK(untrusted["events"].is_null());
  const std::string why = untrusted["events_error"].get<std::string>();
  CHECK(why.rfind("TLS handshake with 127.0.0.1:" + std::to_string(exporter.port()) + ": ", 0) == 0);
  CHECK(why.find("verif") != std::string::npos);
  CHECK(exporter.Log().find("events-secret-4e1") == std::string::npos);
}
