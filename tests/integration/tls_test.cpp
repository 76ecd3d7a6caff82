// TLS to data nodes and Sentinels: a TLS-only master, replica and Sentinel with client
// certificates required, and certificates made by the test itself.
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <doctest/doctest.h>

#include "tests/support/exporter.h"
#include "tests/support/topology.h"

using namespace rse::test;
using namespace std::chrono_literals;

namespace {

// A CA, a server certificate for 127.0.0.1, a client certificate, and an unrelated CA.
struct Certs {
  std::string dir;
  explicit Certs(const std::string& d) : dir(d) {
    auto sh = [&](const std::string& cmd) {
      auto r = Run({"sh", "-c", "cd " + dir + " && " + cmd + " 2>&1"});
      REQUIRE_MESSAGE(r.exit_code == 0, cmd << ": " << r.out);
    };
    sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=rse-test-ca");
    sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout other-ca.key -out other-ca.crt -days 2 -subj /CN=other");
    sh("printf 'subjectAltName=IP:127.0.0.1\\n' > san.cnf");
    sh("openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=redis-server");
    sh("openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 "
       "-extfile san.cnf");
    sh("openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=exporter");
    sh("openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days 2");
  }
  std::string operator()(const std::string& name) const { return dir + "/" + name; }
};

std::string TlsConf(const Certs& c, int port) {
  std::ostringstream out;
  out << "port 0\ntls-port " << port << "\nbind 127.0.0.1\n"
      << "tls-cert-file " << c("server.crt") << "\ntls-key-file " << c("server.key") << "\n"
      << "tls-ca-cert-file " << c("ca.crt")
      << "\ntls-auth-clients yes\ntls-replication yes\n"
      // The server's own outgoing connections (replication, Sentinel) present this one.
      << "tls-client-cert-file " << c("client.crt") << "\ntls-client-key-file " << c("client.key") << "\n";
  return out.str();
}

// The shared objects a process has mapped, one path a line.
std::string MappedLibraries(int pid) {
  std::istringstream maps(ReadFile("/proc/" + std::to_string(pid) + "/maps"));
  std::string line, out;
  while (std::getline(maps, line)) {
    auto slash = line.find('/');
    if (slash == std::string::npos || line.find(".so", slash) == std::string::npos) continue;
    std::string path = line.substr(slash);
    if (out.find(path + "\n") == std::string::npos) out += path + "\n";
  }
  return out;
}

bool Maps(const std::string& libraries, const std::string& name) { return libraries.find(name) != std::string::npos; }

// The exporter's ELF file: under scripts/sanitize.sh RSE_EXPORTER_BINARY is a wrapper script and
// the binary is beside it as .real.
std::string ExporterElf() {
  const std::string binary = RSE_EXPORTER_BINARY;
  return access((binary + ".real").c_str(), X_OK) == 0 ? binary + ".real" : binary;
}

// The binary's own ELF NEEDED entries, one a line.
std::string Needed(const std::string& elf) {
  std::istringstream dump(Run({"objdump", "-p", elf}).out);
  std::string line, out;
  while (std::getline(dump, line)) {
    std::istringstream words(line);
    std::string tag, lib;
    if (words >> tag >> lib && tag == "NEEDED") out += lib + "\n";
  }
  return out;
}

}  // namespace

TEST_CASE("TLS: the exporter scrapes TLS-only Sentinels and data nodes with client certificates") {
  char tmpl[] = "/tmp/rse-tls-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  const std::string dir = tmpl;
  Certs certs(dir);
  const std::string pw = "tls-test-pw";
  const int master = FreePort(), replica = FreePort(), sentinel = FreePort();
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir + "/" + name) << text;
    return dir + "/" + name;
  };
  const std::string common = "save \"\"\nappendonly no\nrequirepass " + pw + "\nmasterauth " + pw + "\n";
  auto master_conf = write("master.conf", TlsConf(certs, master) + common + "dir " + dir + "\n");
  auto replica_conf = write("replica.conf", TlsConf(certs, replica) + common + "dir " + dir + "\nreplicaof 127.0.0.1 " +
                                                std::to_string(master) + "\n");
  auto sentinel_conf =
      write("sentinel.conf", TlsConf(certs, sentinel) + "dir " + dir + "\nsentinel monitor tls-master 127.0.0.1 " +
                                 std::to_string(master) + " 1\nsentinel auth-pass tls-master " + pw + "\n");
  {
    Process m({"/usr/bin/redis-server", master_conf}, EnvWith({}), dir + "/master.log");
    Process r({"/usr/bin/redis-server", replica_conf}, EnvWith({}), dir + "/replica.log");
    Process s({"/usr/bin/redis-sentinel", sentinel_conf}, EnvWith({}), dir + "/sentinel.log");
    const std::string pw_file = write("pw", pw + "\n");
    const std::vector<std::string> tls = {
        "--sentinel.tls-ca-file=" + certs("ca.crt"),      "--sentinel.tls-cert-file=" + certs("client.crt"),
        "--sentinel.tls-key-file=" + certs("client.key"), "--redis.tls-ca-file=" + certs("ca.crt"),
        "--redis.tls-cert-file=" + certs("client.crt"),   "--redis.tls-key-file=" + certs("client.key")};
    std::vector<std::string> args = {"--sentinel.addr=127.0.0.1:" + std::to_string(sentinel),
                                     "--redis.password-file=" + pw_file, "--redis.timeout=2s"};
    args.insert(args.end(), tls.begin(), tls.end());
    ExporterProcess exporter(args);
    std::string m_text;
    // The Sentinel learns the replica from the master's INFO within its first refresh.
    const bool seen = WaitFor(
        [&] {
          m_text = exporter.Metrics();
          return Sample(m_text, "redis_up", {L("addr", "127.0.0.1:" + std::to_string(replica))}) == 1 &&
                 Sample(m_text, "redis_up", {L("addr", "127.0.0.1:" + std::to_string(master))}) == 1;
        },
        30s);
    INFO(exporter.Log());
    CHECK(seen);
    CHECK(Sample(m_text, "redis_sentinel_up", {L("sentinel", "127.0.0.1:" + std::to_string(sentinel))}) == 1);
    CHECK(Sample(m_text, "redis_connected_slaves", {L("addr", "127.0.0.1:" + std::to_string(master))}) == 1);
    CHECK(Sample(m_text, "redis_sentinel_master_ckquorum_ok", {L("master_name", "tls-master")}) == 1);
    // OpenSSL came with the TLS module, from the build tree's private library directory.
    const std::string libs = MappedLibraries(exporter.pid());
    INFO(libs);
    CHECK(Maps(libs, "/lib/redis_sentinel_exporter/librse_tls.so\n"));
    CHECK(Maps(libs, "/libssl.so.3\n"));
    CHECK(Maps(libs, "/libcrypto.so.3\n"));

    // Certificates from another CA are refused, with the reason in the log.
    std::vector<std::string> wrong = {
        "--sentinel.addr=127.0.0.1:" + std::to_string(sentinel), "--sentinel.tls-ca-file=" + certs("other-ca.crt"),
        "--sentinel.tls-cert-file=" + certs("client.crt"), "--sentinel.tls-key-file=" + certs("client.key")};
    ExporterProcess untrusting(wrong);
    CHECK(Sample(untrusting.Metrics(), "redis_sentinel_up", {L("sentinel", "127.0.0.1:" + std::to_string(sentinel))}) ==
          0);
    CHECK(untrusting.Log().find("cause=tls") != std::string::npos);
    CHECK(untrusting.Log().find("certificate verification failed") != std::string::npos);

    // Plain TCP to a TLS port is a clear failure, not a hang.
    ExporterProcess plain({"--sentinel.addr=127.0.0.1:" + std::to_string(sentinel), "--redis.timeout=2s"});
    auto r2 = plain.Get("/metrics");
    CHECK(r2.status == 200);
    CHECK(r2.elapsed < 3s);
    CHECK(Sample(r2.body, "redis_sentinel_up", {L("sentinel", "127.0.0.1:" + std::to_string(sentinel))}) == 0);
  }
  Run({"rm", "-rf", dir});
}

TEST_CASE("TLS: a certificate file that cannot be loaded is a startup error") {
  auto r = Run({RSE_EXPORTER_BINARY, "--redis.tls-ca-file=/nonexistent/ca.crt"});
  CHECK(r.exit_code == 3);
  CHECK(r.err.find("--redis.tls: cannot load CA file /nonexistent/ca.crt") != std::string::npos);
}

// libcrypto.so.3 and libssl.so.3 cost an idle exporter 1.7 MB of resident memory; only TLS to
// Redis or Sentinel, or HTTPS (both through the TLS module) may bring them in.
TEST_CASE("TLS: an exporter without TLS maps no OpenSSL, neither for scrapes nor for its web server") {
  ExporterProcess exporter({"--sentinel.addr=127.0.0.1:1", "--redis.timeout=1s"});
  CHECK(exporter.Get("/metrics").status == 200);
  CHECK(exporter.Get("/").status == 200);
  const std::string libs = MappedLibraries(exporter.pid());
  const std::string needed = Needed(ExporterElf());
  INFO("mapped:\n" << libs);
  INFO("the binary's NEEDED:\n" << needed);
  REQUIRE(Maps(needed, "libc.so"));
  // Nothing of the private library directory: not the TLS module.
  CHECK_FALSE(Maps(libs, "/lib/redis_sentinel_exporter/"));
  CHECK_FALSE(Maps(needed, "libcrypto"));
  CHECK_FALSE(Maps(needed, "libssl"));
  CHECK_FALSE(Maps(libs, "libcrypto"));
  CHECK_FALSE(Maps(libs, "libssl"));
}

TEST_CASE("TLS: a missing or broken TLS module is a startup error naming it") {
  char tmpl[] = "/tmp/rse-tls-module-XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  const std::string dir = tmpl;
  // A copy of the binary without its lib/ directory.
  REQUIRE(Run({"cp", ExporterElf(), dir + "/redis_sentinel_exporter"}).exit_code == 0);
  const std::vector<std::string> args = {dir + "/redis_sentinel_exporter", "--sentinel.addr=127.0.0.1:1",
                                         "--web.listen-address=127.0.0.1:" + std::to_string(FreePort()), "--redis.tls"};

  auto missing = Run(args);
  CHECK(missing.exit_code == 3);
  CHECK(missing.err.find("--redis.tls: cannot load the TLS module librse_tls.so") != std::string::npos);
  CHECK(missing.err.find("cannot open shared object file") != std::string::npos);

  REQUIRE(Run({"mkdir", "-p", dir + "/lib/redis_sentinel_exporter"}).exit_code == 0);
  const std::string broken = dir + "/lib/redis_sentinel_exporter/librse_tls.so";
  std::ofstream(broken) << std::string(4096, '#');
  auto bad = Run(args);
  CHECK(bad.exit_code == 3);
  CHECK(bad.err.find("--redis.tls: cannot load the TLS module librse_tls.so") != std::string::npos);
  CHECK(bad.err.find(broken + ": invalid ELF header") != std::string::npos);
  Run({"rm", "-rf", dir});
}
