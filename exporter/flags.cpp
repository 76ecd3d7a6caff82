#include "exporter/flags.h"

#include <sstream>

#include <cxxopts.hpp>

#include "collectors/registry.h"
#include "exporter/version.h"

namespace rse {
namespace {

constexpr const char* kCheckGroup =
    "Check command (redis_sentinel_exporter check [flags]: exit 0 healthy, 1 degraded, 2 critical)";

// ---- Define ----

std::string CollectorFlags() {
  std::string out;
  for (const auto& c : collectors::AllCollectors()) {
    out += std::string(c.name) + (c.enabled_by_default ? " (on)" : " (off)") + " ";
  }
  return out;
}

std::string CollectorGroup() { return "Collectors (" + CollectorFlags() + ")"; }

void AddTopologyFlags(cxxopts::Options& options) {
  // clang-format off
  options.add_options("Sentinel")
    ("sentinel.addr", "Sentinel host:port to discover the topology from; repeatable or comma-separated. "
                      "Default: $REDIS_SENTINEL_HOSTS.", cxxopts::value<std::vector<std::string>>())
    ("sentinel.master-name", "Master group to watch; repeatable. Default: $REDIS_SENTINEL_MASTER, else every "
                             "master the Sentinels monitor.", cxxopts::value<std::vector<std::string>>())
    ("sentinel.user", "ACL user for Sentinels that have their own requirepass/ACL.",
                      cxxopts::value<std::string>()->default_value(""))
    ("sentinel.password-file", "File holding the Sentinels' own password. Without it no AUTH is sent to "
                               "Sentinels (the data nodes' password is never sent to them).",
                               cxxopts::value<std::string>()->default_value(""))
    ("probe.allowed-targets", "Sentinel targets /probe may scrape (host:port, host glob, CIDR; see README "
                              "\"Security\"); repeatable or comma-separated. Others get HTTP 403. Empty: any target.",
                              cxxopts::value<std::vector<std::string>>())
    ("probe.config.file", "YAML file binding /probe target patterns to credential files. A target that "
                          "matches no binding is probed without AUTH: the flags' passwords never go to /probe.",
                          cxxopts::value<std::string>()->default_value(""))
    ("probe.max-connections", "Connections to Redis and Sentinel that all /probe targets together may hold "
                              "open (kept between scrapes, event subscriptions included); a node beyond it is "
                              "not connected and shows as down. A caller's Sentinel names the nodes, so this "
                              "keeps descriptors for the configured topology and the HTTP front.",
                              cxxopts::value<int>()->default_value("4096"))
    ("probe.max-reply-bytes", "Reply bytes that all /probe targets together may hold (received, and kept "
                              "until their scrape ends); a node whose reply would go over it shows as down. "
                              "A caller's Sentinel names the nodes, so this bounds the memory a hostile one "
                              "can make the exporter use.",
                              cxxopts::value<int>()->default_value("67108864"));
  options.add_options("Redis")
    ("redis.user", "ACL user for the data nodes (AUTH user password).",
                   cxxopts::value<std::string>()->default_value(""))
    ("redis.password-file", "File holding the data nodes' password. Default: $REDIS_PASSWORD_FILE, else "
                            "$REDIS_PASSWORD. Passwords are never taken from a flag value, which would show in ps.",
                            cxxopts::value<std::string>()->default_value(""))
    ("redis.master-password-file", "NAME=FILE: the data nodes of master group NAME use the password in FILE "
                                   "instead of the default; repeatable.",
                                   cxxopts::value<std::vector<std::string>>())
    ("redis.allowed-addresses", "Pin: the data nodes and peer Sentinels that replies name may receive the "
                                "configured passwords only if they match (IP, CIDR, host glob); others are asked "
                                "without AUTH. Repeatable or comma-separated. Empty: any.",
                                cxxopts::value<std::vector<std::string>>())
    ("redis.max-reply-bytes", "Reply bytes the configured topology may hold (received, and kept until the "
                              "scrape ends); a node whose reply would go over it shows as down. Bounds what "
                              "broken or hostile nodes can make the exporter hold.",
                              cxxopts::value<int>()->default_value("268435456"))
    ("redis.timeout", "Deadline for a whole scrape: connect plus commands to every node, and the rendering, for "
                      "which the previous scrape's rendering time (at most a tenth) is kept (e.g. 5s, 500ms).",
                      cxxopts::value<std::string>()->default_value("5s"))
    ("scrape.timeout-offset", "Subtracted from Prometheus' X-Prometheus-Scrape-Timeout-Seconds header; the "
                              "shorter of the two deadlines wins. When it would leave nothing, half of "
                              "Prometheus' timeout is used.",
                              cxxopts::value<std::string>()->default_value("500ms"));
  // clang-format on
}

// --redis.tls* and --sentinel.tls*: the same flags for both kinds of node.
void AddTlsFlags(cxxopts::Options& options, const std::string& group, const std::string& prefix,
                 const std::string& what) {
  // clang-format off
  options.add_options(group)
    (prefix + ".tls", "Connect to " + what + " over TLS (implied by any other " + prefix + ".tls-* flag).")
    (prefix + ".tls-ca-file", "CA certificates to verify " + what + " with (default: the system's).",
                              cxxopts::value<std::string>()->default_value(""))
    (prefix + ".tls-cert-file", "Client certificate for " + what + " that require one.",
                                cxxopts::value<std::string>()->default_value(""))
    (prefix + ".tls-key-file", "Key of the client certificate.", cxxopts::value<std::string>()->default_value(""))
    (prefix + ".tls-server-name", "Name the " + what + "' certificates must carry (default: each node's host).",
                                  cxxopts::value<std::string>()->default_value(""))
    (prefix + ".tls-insecure-skip-verify", "Do not verify " + what + "' certificates (testing only).");
  // clang-format on
}

void AddWebFlags(cxxopts::Options& options) {
  // clang-format off
  options.add_options("Web and logging")
    ("web.listen-address", "Address to listen on for HTTP: [host]:port.",
                           cxxopts::value<std::string>()->default_value(":9355"))
    ("web.config.file", "Exporter-toolkit web configuration (YAML): tls_server_config and basic_auth_users "
                        "(bcrypt). Same format as node_exporter's.", cxxopts::value<std::string>()->default_value(""))
    ("web.max-requests", "Requests handled at once (worker threads), in each of two lanes: requests that "
                         "name a target (/probe, target=) and all others, so /metrics never waits behind "
                         "/probe. Concurrent scrapes of one topology share a single collection; more wait "
                         "in the queue, taking turns by client address.",
                         cxxopts::value<int>()->default_value("16"))
    ("web.max-connections", "Open HTTP connections at most; at the cap the longest-idle connection that has "
                            "not sent a complete request is closed for a new one.",
                            cxxopts::value<int>()->default_value("1024"))
    ("web.max-header-bytes", "Largest request head (request line and headers) accepted; larger ones get 431.",
                             cxxopts::value<int>()->default_value("16384"))
    ("web.max-unsent-bytes", "Response bytes all clients together may leave unread; over it, the connection "
                             "whose client has read nothing for longest is closed.",
                             cxxopts::value<int>()->default_value("16777216"))
    ("web.read-header-timeout", "Time a client has to send a whole request head once it has started "
                                "(and for the TLS handshake); then 408 and the connection is closed.",
                                cxxopts::value<std::string>()->default_value("10s"))
    ("web.idle-timeout", "Time a kept-alive connection may wait for its next request.",
                         cxxopts::value<std::string>()->default_value("2m"))
    ("web.write-timeout", "Time to write one response to a client that reads slowly.",
                          cxxopts::value<std::string>()->default_value("1m"))
    ("web.telemetry-path", "Path under which to expose the topology's metrics.",
                           cxxopts::value<std::string>()->default_value("/metrics"))
    ("log.level", "Log level: debug, info, warn or error.", cxxopts::value<std::string>()->default_value("info"))
    ("log.format", "Log format: logfmt or json.", cxxopts::value<std::string>()->default_value("logfmt"))
    ("version", "Print the version and revision, then exit.")
    ("h,help", "Print this help, then exit.");
  // clang-format on
}

void AddCheckAndCollectorFlags(cxxopts::Options& options) {
  // clang-format off
  options.add_options(kCheckGroup)
    ("output", "check: report format, text or json.", cxxopts::value<std::string>()->default_value("text"))
    ("check.max-lag-bytes", "check: a replica further behind its master than this is degraded.",
                            cxxopts::value<double>()->default_value("1048576"))
    ("check.events-url", "check: also show a running exporter's recent Sentinel events, read from this "
                         "/events URL (http:// or https://; ?target= for a /probe target), within --redis.timeout.",
                         cxxopts::value<std::string>()->default_value(""))
    ("check.events-user", "check: basic auth user for --check.events-url.",
                          cxxopts::value<std::string>()->default_value(""))
    ("check.events-password-file", "check: file holding the basic auth password for --check.events-url.",
                                   cxxopts::value<std::string>()->default_value(""))
    ("check.events-ca-file", "check: CA certificates to verify an https --check.events-url with "
                             "(default: the system's).", cxxopts::value<std::string>()->default_value(""));
  // clang-format on
  auto group = options.add_options(CollectorGroup());
  group("collector.disable-defaults",
        "Turn every collector off but those enabled with --collector.NAME (as node_exporter's flag does).",
        cxxopts::value<bool>()->implicit_value("true")->default_value("false"));
  for (const auto& c : collectors::AllCollectors()) {
    std::string name(c.name);
    group("collector." + name,
          "Enable the " + name + " collector: " + std::string(c.help) +
              (c.enabled_by_default ? " (default: on)" : " (default: off)"),
          cxxopts::value<bool>()->implicit_value("true"));
    group("no-collector." + name, "Disable the " + name + " collector.", cxxopts::value<bool>());
  }
}

cxxopts::Options DefineFlags(bool check) {
  cxxopts::Options options(check ? "redis_sentinel_exporter check" : "redis_sentinel_exporter",
                           "Prometheus exporter for Redis Sentinel topologies: point it at one Sentinel and it\n"
                           "discovers and scrapes every master, replica and Sentinel behind it.");
  options.set_width(110);
  AddTopologyFlags(options);
  AddTlsFlags(options, "Sentinel", "sentinel", "Sentinels");
  AddTlsFlags(options, "Redis", "redis", "data nodes");
  AddWebFlags(options);
  AddCheckAndCollectorFlags(options);
  return options;
}

std::string Help(const cxxopts::Options& options) {
  return options.help({"Sentinel", "Redis", "Web and logging", kCheckGroup, CollectorGroup()});
}

// ---- Read ----

std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

Status ParseAddresses(const std::vector<std::string>& items, const std::string& what,
                      std::vector<redis::Address>& out) {
  for (const auto& item : items) {
    for (const auto& part : SplitList(item)) {
      auto addr = redis::ParseAddress(part);
      if (!addr) return Status::Error(what + ": '" + part + "' is not host:port");
      bool seen = false;
      for (const auto& a : out) seen = seen || a == *addr;
      if (!seen) out.push_back(*addr);
    }
  }
  return Status::Ok();
}

Status ReadSecret(const std::string& path, const std::string& what, std::string& secret) {
  std::string error;
  auto read = ReadSecretFile(path, what, error);
  if (!read) return Status::Error(error);
  secret = std::move(*read);
  return Status::Ok();
}

std::vector<std::string> Strings(const cxxopts::ParseResult& parsed, const std::string& flag) {
  if (!parsed.count(flag)) return {};
  return parsed[flag].as<std::vector<std::string>>();
}

// Sentinels and master names: flags, else the runbook's environment variables.
Status ReadTopology(const cxxopts::ParseResult& parsed, const Getenv& getenv, Config& cfg) {
  std::vector<std::string> sentinels = Strings(parsed, "sentinel.addr");
  if (!parsed.count("sentinel.addr")) {
    if (auto env = getenv("REDIS_SENTINEL_HOSTS")) sentinels = {*env};
  }
  if (Status st = ParseAddresses(sentinels, "--sentinel.addr", cfg.sentinels); !st.ok()) return st;
  if (parsed.count("sentinel.master-name")) {
    for (const auto& n : Strings(parsed, "sentinel.master-name")) {
      for (auto& part : SplitList(n)) cfg.master_names.push_back(part);
    }
  } else if (auto env = getenv("REDIS_SENTINEL_MASTER")) {
    cfg.master_names = SplitList(*env);
  }
  return Status::Ok();
}

// Users and passwords. Passwords come from files or the environment, never from a flag value.
Status ReadCredentials(const cxxopts::ParseResult& parsed, const Getenv& getenv, Config& cfg) {
  cfg.redis_credentials.user = parsed["redis.user"].as<std::string>();
  Status st = Status::Ok();
  if (auto file = parsed["redis.password-file"].as<std::string>(); !file.empty()) {
    st = ReadSecret(file, "--redis.password-file", cfg.redis_credentials.password);
  } else if (auto env_file = getenv("REDIS_PASSWORD_FILE"); env_file && !env_file->empty()) {
    st = ReadSecret(*env_file, "REDIS_PASSWORD_FILE", cfg.redis_credentials.password);
  } else if (auto env = getenv("REDIS_PASSWORD")) {
    cfg.redis_credentials.password = *env;
  }
  if (!st.ok()) return st;
  for (const auto& item : Strings(parsed, "redis.master-password-file")) {
    auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size()) {
      return Status::Error("--redis.master-password-file: '" + item + "' is not NAME=FILE");
    }
    redis::Credentials c{cfg.redis_credentials.user, ""};
    if (st = ReadSecret(item.substr(eq + 1), "--redis.master-password-file", c.password); !st.ok()) return st;
    cfg.group_credentials[item.substr(0, eq)] = c;
  }
  cfg.check_events_user = parsed["check.events-user"].as<std::string>();
  if (auto file = parsed["check.events-password-file"].as<std::string>(); !file.empty()) {
    if (st = ReadSecret(file, "--check.events-password-file", cfg.check_events_password); !st.ok()) return st;
  }
  cfg.sentinel_credentials.user = parsed["sentinel.user"].as<std::string>();
  if (auto file = parsed["sentinel.password-file"].as<std::string>(); !file.empty()) {
    return ReadSecret(file, "--sentinel.password-file", cfg.sentinel_credentials.password);
  }
  return Status::Ok();
}

redis::TlsOptions ReadTls(const cxxopts::ParseResult& parsed, const std::string& prefix) {
  redis::TlsOptions o;
  o.ca_file = parsed[prefix + ".tls-ca-file"].as<std::string>();
  o.cert_file = parsed[prefix + ".tls-cert-file"].as<std::string>();
  o.key_file = parsed[prefix + ".tls-key-file"].as<std::string>();
  o.server_name = parsed[prefix + ".tls-server-name"].as<std::string>();
  o.insecure_skip_verify = parsed.count(prefix + ".tls-insecure-skip-verify") > 0;
  o.enabled = parsed.count(prefix + ".tls") > 0 || !o.ca_file.empty() || !o.cert_file.empty() || !o.key_file.empty() ||
              !o.server_name.empty() || o.insecure_skip_verify;
  return o;
}

std::vector<std::string> EnabledCollectors(const cxxopts::ParseResult& parsed) {
  std::vector<std::string> out;
  const bool defaults = !parsed["collector.disable-defaults"].as<bool>();
  for (const auto& c : collectors::AllCollectors()) {
    std::string name(c.name);
    bool enabled = defaults && c.enabled_by_default;
    if (parsed.count("collector." + name)) enabled = parsed["collector." + name].as<bool>();
    if (parsed.count("no-collector." + name) && parsed["no-collector." + name].as<bool>()) enabled = false;
    if (enabled) out.push_back(name);
  }
  return out;
}

// Everything else is taken as written; Validate checks it.
void ReadPlain(const cxxopts::ParseResult& parsed, Settings& s) {
  Config& cfg = s.config;
  s.redis_tls = ReadTls(parsed, "redis");
  s.sentinel_tls = ReadTls(parsed, "sentinel");
  s.timeout = parsed["redis.timeout"].as<std::string>();
  s.timeout_offset = parsed["scrape.timeout-offset"].as<std::string>();
  cfg.listen_address = parsed["web.listen-address"].as<std::string>();
  cfg.web_config_file = parsed["web.config.file"].as<std::string>();
  cfg.web_max_requests = parsed["web.max-requests"].as<int>();
  s.web_max_connections = parsed["web.max-connections"].as<int>();
  s.web_max_header_bytes = parsed["web.max-header-bytes"].as<int>();
  s.web_max_unsent_bytes = parsed["web.max-unsent-bytes"].as<int>();
  s.web_read_header_timeout = parsed["web.read-header-timeout"].as<std::string>();
  s.web_idle_timeout = parsed["web.idle-timeout"].as<std::string>();
  s.web_write_timeout = parsed["web.write-timeout"].as<std::string>();
  cfg.telemetry_path = parsed["web.telemetry-path"].as<std::string>();
  cfg.log_level = parsed["log.level"].as<std::string>();
  cfg.log_format = parsed["log.format"].as<std::string>();
  s.probe_allowed_targets = Strings(parsed, "probe.allowed-targets");
  s.redis_allowed_addresses = Strings(parsed, "redis.allowed-addresses");
  s.probe_config_file = parsed["probe.config.file"].as<std::string>();
  s.probe_max_connections = parsed["probe.max-connections"].as<int>();
  s.probe_max_reply_bytes = parsed["probe.max-reply-bytes"].as<int>();
  s.redis_max_reply_bytes = parsed["redis.max-reply-bytes"].as<int>();
  cfg.output = parsed["output"].as<std::string>();
  cfg.max_lag_bytes = parsed["check.max-lag-bytes"].as<double>();
  cfg.check_events_url = parsed["check.events-url"].as<std::string>();
  s.check_events_ca_file = parsed["check.events-ca-file"].as<std::string>();
  cfg.collectors = EnabledCollectors(parsed);
}

Status ReadSettings(const cxxopts::ParseResult& parsed, const Getenv& getenv, Settings& s) {
  if (Status st = ReadTopology(parsed, getenv, s.config); !st.ok()) return st;
  if (Status st = ReadCredentials(parsed, getenv, s.config); !st.ok()) return st;
  ReadPlain(parsed, s);
  return Status::Ok();
}

// The one place cxxopts' exceptions are caught. Sets `exit` for --help and --version.
Status ParseCommandLine(cxxopts::Options& options, int argc, const char* const argv[], const Getenv& getenv,
                        Settings& s, std::optional<std::string>& exit) {
  try {
    // cxxopts wants a mutable argv; it does not modify the strings.
    std::vector<char*> args;
    for (int i = 0; i < argc; ++i) args.push_back(const_cast<char*>(argv[i]));
    auto parsed = options.parse(argc, args.data());
    if (!parsed.unmatched().empty()) {
      return Status::Error("unexpected argument '" + parsed.unmatched().front() + "' (see --help)");
    }
    if (parsed.count("help")) {
      exit = Help(options);
      return Status::Ok();
    }
    if (parsed.count("version")) {
      exit = std::string("redis_sentinel_exporter version ") + kVersion + " (revision " + kRevision + ")\n";
      return Status::Ok();
    }
    return ReadSettings(parsed, getenv, s);
  } catch (const cxxopts::exceptions::exception& e) {
    return Status::Error(e.what() + std::string(" (see --help)"));
  }
}

}  // namespace

Status ReadFlags(bool check, int argc, const char* const argv[], const Getenv& getenv, Settings& settings,
                 std::optional<std::string>& exit) {
  cxxopts::Options options = DefineFlags(check);
  return ParseCommandLine(options, argc, argv, getenv, settings, exit);
}

}  // namespace rse
