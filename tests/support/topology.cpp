#include "tests/support/topology.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <doctest/doctest.h>

#include "tests/support/process.h"

namespace rse::test {
namespace {

const std::string kScript = std::string(RSE_SOURCE_DIR) + "/scripts/topology.sh";

std::vector<int> Ports(const std::string& list) {
  std::vector<int> out;
  std::stringstream ss(list);
  int p = 0;
  while (ss >> p) out.push_back(p);
  return out;
}

}  // namespace

LocalTopology::LocalTopology(TopologyOptions options) : options_(std::move(options)) {
  char tmpl[] = "/tmp/rse-test-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  std::vector<std::string> args = {"bash",
                                   kScript,
                                   "start",
                                   "--dir",
                                   dir_ + "/topology",
                                   "--groups",
                                   std::to_string(options_.groups),
                                   "--master-name",
                                   options_.master_name,
                                   "--down-after-ms",
                                   std::to_string(options_.down_after_ms),
                                   "--failover-timeout-ms",
                                   std::to_string(options_.failover_timeout_ms)};
  if (!options_.server_bin.empty()) args.insert(args.end(), {"--server-bin", options_.server_bin});
  if (!options_.sentinel_bin.empty()) args.insert(args.end(), {"--sentinel-bin", options_.sentinel_bin});
  if (!options_.password.empty()) {
    password_file_ = dir_ + "/password";
    std::ofstream(password_file_) << options_.password << "\n";
    args.insert(args.end(), {"--password-file", password_file_});
  }
  // Ports are chosen at random and the launcher refuses busy ones (exit 2): retry elsewhere.
  std::mt19937 rng(std::random_device{}());
  // Test ports (tests/support/ports.h), with room for every node above the base.
  std::uniform_int_distribution<int> base(kFirstTestPort, kEndTestPort - 1000);
  for (int attempt = 0; attempt < 8; ++attempt) {
    auto with_port = args;
    with_port.insert(with_port.end(), {"--base-port", std::to_string(base(rng))});
    auto r = Run(with_port);
    if (r.exit_code == 2) continue;
    if (r.exit_code != 0) {
      Run({"bash", kScript, "stop", "--dir", dir_ + "/topology"});
      throw std::runtime_error("topology.sh start failed (" + std::to_string(r.exit_code) + "): " + r.err);
    }
    std::stringstream lines(r.out);
    std::string line;
    while (std::getline(lines, line)) {
      auto eq = line.find('=');
      if (eq == std::string::npos) continue;
      std::string value = line.substr(eq + 1);
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
      env_[line.substr(0, eq)] = value;
    }
    running_ = true;
    return;
  }
  throw std::runtime_error("no free port range found for the topology");
}

LocalTopology::~LocalTopology() {
  Stop();
  Run({"rm", "-rf", dir_});
}

void LocalTopology::Stop() {
  if (!running_) return;
  Run({"bash", kScript, "stop", "--dir", dir_ + "/topology"});
  running_ = false;
}

std::string LocalTopology::Env(const std::string& key) const {
  auto it = env_.find(key);
  return it == env_.end() ? std::string() : it->second;
}

std::vector<int> LocalTopology::data_ports() const { return Ports(Env("TOPOLOGY_DATA_PORTS")); }
std::vector<int> LocalTopology::sentinel_ports() const { return Ports(Env("TOPOLOGY_SENTINEL_PORTS")); }
std::string LocalTopology::sentinel(int i) const { return "127.0.0.1:" + std::to_string(sentinel_ports().at(i)); }
std::string LocalTopology::data(int i) const { return "127.0.0.1:" + std::to_string(data_ports().at(i)); }

PausedNode::PausedNode(int pid) : pid_(pid) {
  REQUIRE(pid_ > 0);
  REQUIRE(kill(pid_, SIGSTOP) == 0);
}

void PausedNode::Resume() {
  if (pid_ > 0) kill(pid_, SIGCONT);
  pid_ = -1;
}

int LocalTopology::Pid(int port) const {
  std::ifstream in(dir_ + "/topology/node-" + std::to_string(port) + "/redis.pid");
  int pid = -1;
  in >> pid;
  return pid;
}

std::string LocalTopology::Cli(int port, const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {"redis-cli", "-h", "127.0.0.1", "-p", std::to_string(port)};
  argv.insert(argv.end(), args.begin(), args.end());
  bool sentinel = false;
  for (int p : sentinel_ports()) sentinel = sentinel || p == port;
  std::vector<std::string> env = {"REDISCLI_AUTH="};
  if (!sentinel && !options_.password.empty()) env = {"REDISCLI_AUTH=" + options_.password};
  auto r = Run(argv, EnvWith(env), std::chrono::seconds(20));
  std::string out = r.out;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r' || out.back() == ' ')) out.pop_back();
  return out;
}

bool LocalTopology::SetReplicaPriority(const std::vector<int>& ports, int priority) const {
  for (int port : ports) {
    if (Cli(port, {"CONFIG", "SET", "replica-priority", std::to_string(priority)}) != "OK") return false;
  }
  return true;
}

bool LocalTopology::SentinelsReportPriority(const std::vector<int>& ports, int priority,
                                            const std::string& master) const {
  const std::string value = std::to_string(priority);
  // redis-cli prints SENTINEL REPLICAS flat, one line per element: each replica's fields as
  // key and value lines, starting with "name".
  auto reports = [&](int sentinel_port) {
    std::map<std::string, std::string> priority_of;  // replica name -> slave-priority
    std::istringstream lines(
        Cli(sentinel_port, {"SENTINEL", "REPLICAS", master.empty() ? options_.master_name : master}));
    std::string key, val, name;
    while (std::getline(lines, key) && std::getline(lines, val)) {
      if (key == "name") name = val;
      if (key == "slave-priority") priority_of[name] = val;
    }
    for (int port : ports) {
      if (priority_of["127.0.0.1:" + std::to_string(port)] != value) return false;
    }
    return true;
  };
  return WaitFor(
      [&] {
        for (int s : sentinel_ports()) {
          if (!reports(s)) {
            std::this_thread::sleep_for(std::chrono::milliseconds(200));  // each check runs three redis-cli
            return false;
          }
        }
        return true;
      },
      std::chrono::seconds(25));
}

void LocalTopology::Script(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"bash", kScript};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = Run(argv);
  if (r.exit_code != 0) throw std::runtime_error("topology.sh " + args[0] + " failed: " + r.err);
}

void LocalTopology::StopNode(int port) {
  Script({"stop-node", "--dir", dir_ + "/topology", "--port", std::to_string(port)});
}
void LocalTopology::StartNode(int port) {
  Script({"start-node", "--dir", dir_ + "/topology", "--port", std::to_string(port)});
}

TopologyOptions ValkeyOptions(std::string* version) {
  const char* bin = std::getenv("RSE_VALKEY_BIN");
  const std::string server = bin != nullptr ? bin : "";
  REQUIRE_MESSAGE(!server.empty(),
                  "RSE_VALKEY_BIN is not set: scripts/test.sh sets it, or run "
                  "RSE_VALKEY_BIN=$(scripts/valkey.sh) ctest ...");
  // "Valkey server v=8.1.1 sha=..."
  auto r = Run({server, "--version"});
  const auto pos = r.out.find("v=");
  REQUIRE_MESSAGE((r.exit_code == 0 && pos != std::string::npos),
                  server << " does not run: scripts/valkey.sh builds it");
  if (version) *version = r.out.substr(pos + 2, r.out.find(' ', pos) - pos - 2);
  TopologyOptions o;
  o.server_bin = server;
  o.sentinel_bin = server.substr(0, server.rfind('/') + 1) + "valkey-sentinel";
  return o;
}

}  // namespace rse::test
