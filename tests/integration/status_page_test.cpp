// The /status page as a browser sees it: headless Chromium loads it from the real exporter and
// its DOM is checked, against a real topology (healthy, then after a failover drill) and
// against a fake Sentinel whose names are markup.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "exporter/status_page.h"
#include "tests/support/exporter.h"
#include "tests/support/process.h"
#include "tests/support/topology.h"
#include "tests/unit/fake_server.h"

extern char** environ;

using namespace rse::test;
using namespace std::chrono_literals;

namespace {

const std::string kMaster = "aragora-master";
const std::string kCheck = "\xE2\x9C\x93";  // ✓ as Chromium serializes &#10003;
const std::string kCross = "\xE2\x9C\x97";  // ✗ (&#10007;)

std::size_t Count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
  return n;
}

// The DOM Chromium builds from `url`. Chromium forks helpers: it runs in its own process group,
// which is killed when it is done or out of time, with a fresh profile directory.
std::string DumpDom(const std::string& url, std::chrono::milliseconds timeout = 60s) {
  char dir[] = "/tmp/rse-chromium-XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  const std::vector<std::string> argv{"/usr/bin/chromium",
                                      "--headless",
                                      "--no-sandbox",
                                      "--disable-gpu",
                                      "--disable-dev-shm-usage",
                                      "--no-first-run",
                                      std::string("--user-data-dir=") + dir,
                                      "--dump-dom",
                                      url};
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int out[2];
  REQUIRE(pipe2(out, O_CLOEXEC) == 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0].c_str(), &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(out[1]);
  std::string dom;
  if (rc == 0) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{out[0], POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char buf[65536];
      ssize_t n = read(out[0], buf, sizeof buf);
      if (n <= 0) break;
      dom.append(buf, static_cast<std::size_t>(n));
    }
    kill(-pid, SIGKILL);  // the whole group: helpers included
    int status = 0;
    waitpid(pid, &status, 0);
  }
  close(out[0]);
  Run({"rm", "-rf", dir});
  REQUIRE_MESSAGE(rc == 0, "chromium did not start");
  return dom;
}

std::vector<std::string> ExporterArgs(const LocalTopology& topo) {
  return {"--sentinel.addr=" + topo.sentinel(0), "--redis.password-file=" + topo.password_file(), "--redis.timeout=2s"};
}

std::string Url(const ExporterProcess& exporter, const std::string& path = "/status") {
  return "http://127.0.0.1:" + std::to_string(exporter.port()) + path;
}

bool Healthy(const std::string& page, const std::string& master) {
  return page.find("Agreed master: <b>" + master + "</b> (named by 3 of 3 answering Sentinels; 3 known)") !=
             std::string::npos &&
         page.find("DISAGREE") == std::string::npos && Count(page, "MASTER (agreed)") == 1 &&
         Count(page, "link up</span>") == 2;
}

std::string Bulk(const std::string& s) { return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n"; }

std::string FlatArray(const std::vector<std::string>& items) {
  std::string out = "*" + std::to_string(items.size()) + "\r\n";
  for (const auto& i : items) out += Bulk(i);
  return out;
}

}  // namespace

TEST_CASE("status page: a browser shows the real topology, and the new master after a failover") {
  LocalTopology topo;
  ExporterProcess exporter(ExporterArgs(topo));
  const std::string old = topo.data(0);
  // Replicas link and Sentinels discover each other shortly after start: poll the page itself.
  std::string page;
  REQUIRE_MESSAGE(WaitFor(
                      [&] {
                        page = exporter.Get("/status").body;
                        return Healthy(page, old);
                      },
                      30s),
                  page);
  CHECK(exporter.Get("/").body.find("href=\"/status\"") != std::string::npos);

  const std::string dom = DumpDom(Url(exporter));
  CHECK(dom.find("Master group aragora-master") != std::string::npos);
  CHECK(dom.find("Agreed master: <b>" + old + "</b> (named by 3 of 3 answering Sentinels; 3 known)") !=
        std::string::npos);
  CHECK(dom.find(kCheck + " Sentinels agree") != std::string::npos);
  CHECK(dom.find("DISAGREE") == std::string::npos);
  CHECK(Count(dom, "MASTER (agreed)") == 1);           // one master
  CHECK(Count(dom, kCheck + " link up</span>") == 2);  // two linked replicas
  CHECK(Count(dom, kCheck + " agrees</span>") == 3);   // three Sentinels that agree
  CHECK(Count(dom, "names " + old + "</text>") == 3);
  CHECK(dom.find("<script") == std::string::npos);

  REQUIRE(topo.Cli(topo.sentinel_ports()[0], {"SENTINEL", "FAILOVER", kMaster}) == "OK");
  std::string now;
  const bool moved = WaitFor(
      [&] {
        page = exporter.Get("/status").body;
        for (int i = 1; i < 3; ++i) {
          if (Healthy(page, topo.data(i))) now = topo.data(i);
        }
        return !now.empty();
      },
      90s);
  REQUIRE_MESSAGE(moved, page);
  const std::string after = DumpDom(Url(exporter));
  CHECK(after.find("Agreed master: <b>" + now + "</b> (named by 3 of 3 answering Sentinels; 3 known)") !=
        std::string::npos);
  CHECK(Count(after, "names " + now + "</text>") == 3);
  CHECK(after.find("+switch-master") != std::string::npos);  // the event stream, as events
  CHECK(after.find("Last failover: none") == std::string::npos);
}

TEST_CASE("status page: a browser shows a paused replica as down, and back once it resumes") {
  LocalTopology topo;
  ExporterProcess exporter(ExporterArgs(topo));
  std::string page;
  REQUIRE_MESSAGE(WaitFor(
                      [&] {
                        page = exporter.Get("/status").body;
                        return Healthy(page, topo.data(0));
                      },
                      30s),
                  page);
  auto paused = topo.Pause(topo.data_ports()[1]);
  // The stopped process still accepts connections; its INFO times out (--redis.timeout 2s).
  REQUIRE_MESSAGE(WaitFor(
                      [&] {
                        page = exporter.Get("/status").body;
                        return page.find("&#10007; down: ") != std::string::npos;
                      },
                      30s),
                  page);
  const std::string dom = DumpDom(Url(exporter));
  const std::string row = "<tr><td>" + topo.data(1) + "</td>";
  const auto at = dom.find(row);
  REQUIRE_MESSAGE(at != std::string::npos, dom);
  const std::string cells = dom.substr(at, dom.find("</tr>", at) - at);
  CHECK(cells.find(kCross + " down: ") != std::string::npos);  // in words, not colour alone
  CHECK(Count(dom, kCross + " DOWN") >= 1);                    // and in the picture
  CHECK(dom.find("Agreed master: <b>" + topo.data(0) + "</b>") != std::string::npos);

  paused.Resume();
  CHECK(WaitFor([&] { return Healthy(exporter.Get("/status").body, topo.data(0)); }, 30s));
}

// Calls of INFO the node has served so far (this call not counted).
long InfoCalls(const LocalTopology& topo, int port) {
  const std::string stats = topo.Cli(port, {"INFO", "commandstats"});
  const auto at = stats.find("cmdstat_info:calls=");
  REQUIRE(at != std::string::npos);
  return std::stol(stats.substr(at + 19));
}

TEST_CASE("status page: ten views within the reload interval cost one round of commands, a scrape asks again") {
  LocalTopology topo;
  ExporterProcess exporter(ExporterArgs(topo));
  REQUIRE(WaitFor([&] { return Healthy(exporter.Get("/status").body, topo.data(0)); }, 30s));
  const int master = topo.data_ports()[0];
  // Wait out the reuse window of the views above: the first view below fetches afresh.
  std::this_thread::sleep_for(std::chrono::seconds(rse::kStatusRefreshSeconds));
  const long before = InfoCalls(topo, master);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 10; ++i) REQUIRE(exporter.Get("/status").status == 200);
  const bool within = std::chrono::steady_clock::now() - start < std::chrono::seconds(rse::kStatusRefreshSeconds);
  const long after_views = InfoCalls(topo, master);
  if (within) CHECK(after_views - before == 1 + 1);  // one fetch for ten views, and our own INFO
  REQUIRE(exporter.Get("/metrics").status == 200);
  CHECK(InfoCalls(topo, master) - after_views == 1 + 1);  // a scrape never reuses a page's fetch
}

TEST_CASE("status page: a hostile Sentinel's names are text in the browser") {
  const std::string hostile = "<script>document.title='owned'</script>\"><img src=x onerror=alert(1)>";
  FakeServer node(FakeServer::Scripted([](const std::vector<std::string>& argv) -> std::string {
    if (argv[0] == "INFO") {
      return Bulk(
          "# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\n\r\n"
          "# Replication\r\nrole:master\r\nconnected_slaves:0\r\n");
    }
    return "+PONG\r\n";
  }));
  REQUIRE(node.ok());
  const int node_port = node.port();
  FakeServer sentinel(FakeServer::Scripted([&](const std::vector<std::string>& argv) -> std::string {
    const std::string master =
        FlatArray({"name", hostile, "ip", "127.0.0.1", "port", std::to_string(node_port), "flags", "master",
                   "num-slaves", "0", "num-other-sentinels", "0", "quorum", "1"});
    if (argv[0] == "INFO") return Bulk("# Server\r\nredis_mode:sentinel\r\n\r\n# Sentinel\r\nsentinel_masters:1\r\n");
    if (argv[0] != "SENTINEL" || argv.size() < 2) return "-ERR unknown command\r\n";
    if (argv[1] == "MYID") return Bulk(std::string(40, 'e'));
    if (argv[1] == "MASTERS") return "*1\r\n" + master;
    if (argv.size() > 2 && argv[2] != hostile) return "-ERR No such master with that name\r\n";
    if (argv[1] == "MASTER") return master;
    if (argv[1] == "GET-MASTER-ADDR-BY-NAME") return FlatArray({"127.0.0.1", std::to_string(node_port)});
    if (argv[1] == "CKQUORUM") return "+OK 1 usable Sentinels. Quorum and failover authorization can be reached\r\n";
    return "*0\r\n";
  }));
  REQUIRE(sentinel.ok());
  const std::string addr = "127.0.0.1:" + std::to_string(sentinel.port());
  ExporterProcess exporter({"--sentinel.addr=" + addr, "--probe.allowed-targets=" + addr});

  const std::string escaped = "&lt;script&gt;document.title='owned'&lt;/script&gt;";
  for (const std::string& path : {std::string("/status"), "/status?target=" + addr}) {
    CAPTURE(path);
    const std::string dom = DumpDom(Url(exporter, path));
    CHECK(dom.find("Master group " + escaped) != std::string::npos);
    CHECK(dom.find("<script") == std::string::npos);
    CHECK(dom.find("<img") == std::string::npos);
    CHECK(dom.find("owned</title>") == std::string::npos);
  }
  // /status?target= keeps to /probe's allow-list.
  auto refused = exporter.Get("/status?target=127.0.0.1:1");
  CHECK(refused.status == 403);
  CHECK(refused.body.find("--probe.allowed-targets") != std::string::npos);
}
