#include "http/web_config.h"

#include <sys/stat.h>

#include <cctype>
#include <memory>
#include <set>

#include <yaml-cpp/yaml.h>

#include "http/basic_auth.h"
#include "http/tls.h"

namespace rse::http {
namespace {

struct Invalid {
  std::string message;
};

void OnlyKeys(const YAML::Node& node, const std::string& where, const std::set<std::string>& allowed) {
  if (!node.IsMap()) throw Invalid{where + ": expected a mapping"};
  for (const auto& kv : node) {
    auto key = kv.first.as<std::string>();
    if (!allowed.count(key)) throw Invalid{where + ": unknown key '" + key + "'"};
  }
}

std::string Path(const YAML::Node& node, const std::string& key, const std::string& base_dir) {
  if (!node[key]) return "";
  auto value = node[key].as<std::string>();
  if (!value.empty() && value.front() != '/') value = base_dir + "/" + value;
  return value;
}

// TLS protocol version numbers, as OpenSSL's TLS1_*_VERSION.
int TlsVersion(const std::string& name, const std::string& key) {
  if (name == "TLS10") return 0x0301;
  if (name == "TLS11") return 0x0302;
  if (name == "TLS12") return 0x0303;
  if (name == "TLS13") return 0x0304;
  throw Invalid{"tls_server_config." + key + ": '" + name + "' is not one of TLS10, TLS11, TLS12, TLS13"};
}

ServerTlsOptions ServerOptions(const WebConfig::Tls& tls) {
  using Auth = ServerTlsOptions::ClientAuth;
  ServerTlsOptions o;
  o.cert_file = tls.cert_file;
  o.key_file = tls.key_file;
  o.client_ca_file = tls.client_ca_file;
  o.min_version = tls.min_version;
  o.max_version = tls.max_version;
  const std::string& type = tls.client_auth_type;
  o.client_auth = type == "RequestClientCert"            ? Auth::kRequest
                  : type == "RequireAnyClientCert"       ? Auth::kRequireAny
                  : type == "VerifyClientCertIfGiven"    ? Auth::kVerifyIfGiven
                  : type == "RequireAndVerifyClientCert" ? Auth::kRequireAndVerify
                                                         : Auth::kNone;
  return o;
}

// tls_server_config: every file given, relative to the configuration file's folder.
WebConfig::Tls ParseTls(const YAML::Node& tls, const std::string& base_dir) {
  OnlyKeys(tls, "tls_server_config",
           {"cert_file", "key_file", "client_auth_type", "client_ca_file", "min_version", "max_version",
            "cipher_suites", "prefer_server_cipher_suites", "curve_preferences"});
  for (const char* unsupported : {"cipher_suites", "curve_preferences"}) {
    if (tls[unsupported]) throw Invalid{std::string("tls_server_config.") + unsupported + " is not supported"};
  }
  WebConfig::Tls t;
  t.cert_file = Path(tls, "cert_file", base_dir);
  t.key_file = Path(tls, "key_file", base_dir);
  t.client_ca_file = Path(tls, "client_ca_file", base_dir);
  if (tls["client_auth_type"]) t.client_auth_type = tls["client_auth_type"].as<std::string>();
  static const std::set<std::string> kAuthTypes = {"NoClientCert", "RequestClientCert", "RequireAnyClientCert",
                                                   "VerifyClientCertIfGiven", "RequireAndVerifyClientCert"};
  if (!kAuthTypes.count(t.client_auth_type)) {
    throw Invalid{"tls_server_config.client_auth_type: '" + t.client_auth_type + "' is not a known type"};
  }
  if (t.cert_file.empty() || t.key_file.empty()) {
    throw Invalid{"tls_server_config: cert_file and key_file are both required"};
  }
  const bool verifies =
      t.client_auth_type == "VerifyClientCertIfGiven" || t.client_auth_type == "RequireAndVerifyClientCert";
  if (verifies && t.client_ca_file.empty()) {
    throw Invalid{"tls_server_config: client_auth_type " + t.client_auth_type + " needs client_ca_file"};
  }
  if (tls["min_version"]) t.min_version = TlsVersion(tls["min_version"].as<std::string>(), "min_version");
  if (tls["max_version"]) t.max_version = TlsVersion(tls["max_version"].as<std::string>(), "max_version");
  return t;
}

// basic_auth_users: user -> bcrypt hash, each checked for its form and a cost a request can afford.
void ParseUsers(const YAML::Node& users, std::map<std::string, std::string>& users_out) {
  if (!users.IsMap()) throw Invalid{"basic_auth_users: expected a mapping of user to bcrypt hash"};
  for (const auto& kv : users) {
    auto user = kv.first.as<std::string>();
    auto hash = kv.second.as<std::string>();
    if (hash.size() < 7 || hash.rfind("$2", 0) != 0 || hash[3] != '$' || hash[6] != '$' ||
        !std::isdigit(static_cast<unsigned char>(hash[4])) || !std::isdigit(static_cast<unsigned char>(hash[5]))) {
      throw Invalid{"basic_auth_users." + user + ": not a bcrypt hash"};
    }
    // Every request pays the cost: 2^cost rounds. Above 16 one check takes seconds to
    // minutes, which would let any client stall the server.
    const int cost = (hash[4] - '0') * 10 + (hash[5] - '0');
    if (cost < 4 || cost > 16) {
      throw Invalid{"basic_auth_users." + user + ": bcrypt cost " + std::to_string(cost) +
                    " is outside 4..16 (10 is usual)"};
    }
    users_out[user] = hash;
  }
}

}  // namespace

std::optional<WebConfig> LoadWebConfig(const std::string& path, std::string& error) {
  WebConfig cfg;
  const std::string base_dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
  try {
    YAML::Node root = YAML::LoadFile(path);
    if (!root || root.IsNull()) return cfg;  // an empty file: no TLS, no auth
    OnlyKeys(root, path, {"tls_server_config", "basic_auth_users", "http_server_config"});
    if (root["http_server_config"]) {
      // Accepted for compatibility; HTTP/2 and custom headers are not offered by this server.
      OnlyKeys(root["http_server_config"], "http_server_config", {"http2", "headers"});
    }
    if (auto tls = root["tls_server_config"]) cfg.tls = ParseTls(tls, base_dir);
    if (auto users = root["basic_auth_users"]) ParseUsers(users, cfg.basic_auth_users);
  } catch (const Invalid& e) {
    error = "--web.config.file: " + e.message;
    return std::nullopt;
  } catch (const YAML::Exception& e) {
    error = "--web.config.file: " + path + ": " + e.what();
    return std::nullopt;
  }
  cfg.files.push_back(path);
  if (cfg.tls) {
    // The files are loaded now, so a bad path fails here and not at the first request.
    cfg.tls_context = ServerTlsContext::Create(ServerOptions(*cfg.tls), error);
    if (!cfg.tls_context) {
      error = "--web.config.file: " + error;
      return std::nullopt;
    }
    for (const auto* f : {&cfg.tls->cert_file, &cfg.tls->key_file, &cfg.tls->client_ca_file}) {
      if (!f->empty()) cfg.files.push_back(*f);
    }
  }
  if (!cfg.basic_auth_users.empty()) {
    // Verified passwords are remembered as SHA-256 digests, from the TLS module: load it now,
    // so a missing module is a startup error rather than a bcrypt run on every request.
    std::string why;
    if (Sha256("", why).empty()) {
      error = "--web.config.file: basic_auth_users: " + why;
      return std::nullopt;
    }
  }
  return cfg;
}

WebConfigWatcher::WebConfigWatcher(std::string path, WebConfig initial) : path_(std::move(path)) {
  current_.tls = initial.tls_context;
  if (!initial.basic_auth_users.empty()) current_.auth = std::make_shared<BasicAuth>(initial.basic_auth_users);
  files_ = initial.files;
  stamps_ = Stamps(files_);
}

WebConfigWatcher::Current WebConfigWatcher::current() const {
  std::lock_guard lock(mu_);
  return current_;
}

std::vector<WebConfigWatcher::Stamp> WebConfigWatcher::Stamps(const std::vector<std::string>& files) {
  std::vector<Stamp> out;
  for (const auto& f : files) {
    Stamp s;
    struct stat st {};
    if (stat(f.c_str(), &st) == 0) {
      s.mtime_ns = static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
      s.size = static_cast<long long>(st.st_size);
      s.inode = static_cast<long long>(st.st_ino);
    }
    out.push_back(s);
  }
  return out;
}

WebConfigWatcher::Change WebConfigWatcher::Poll(std::string& error) {
  if (path_.empty()) return Change::kNone;
  std::vector<std::string> files;
  {
    std::lock_guard lock(mu_);
    files = files_;
    if (Stamps(files) == stamps_) return Change::kNone;
  }
  // A file written in place may be caught half-written; the next change (or its last write)
  // loads it again, and a failed load keeps the old configuration meanwhile.
  auto stamps = Stamps(files);
  auto loaded = LoadWebConfig(path_, error);
  std::lock_guard lock(mu_);
  if (!loaded) {
    stamps_ = std::move(stamps);  // reported once; retried when a file changes again
    return Change::kFailed;
  }
  current_.tls = loaded->tls_context;
  current_.auth = loaded->basic_auth_users.empty() ? nullptr : std::make_shared<BasicAuth>(loaded->basic_auth_users);
  files_ = loaded->files;
  stamps_ = Stamps(files_);
  return Change::kReloaded;
}

}  // namespace rse::http
