#pragma once

// --web.config.file: the Prometheus exporter-toolkit web configuration (YAML), so operators
// reuse the file they already have for node_exporter and friends.
//
//   tls_server_config:
//     cert_file: server.crt          # relative paths are relative to this file
//     key_file: server.key
//     client_auth_type: RequireAndVerifyClientCert   # NoClientCert (default), RequestClientCert,
//                                                    # RequireAnyClientCert, VerifyClientCertIfGiven
//     client_ca_file: clients-ca.crt
//     min_version: TLS12             # TLS10..TLS13
//     max_version: TLS13
//   basic_auth_users:
//     prometheus: $2b$10$...         # bcrypt hashes, checked with the system's crypt(3)

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "http/basic_auth.h"
#include "http/tls.h"

namespace rse::http {

struct WebConfig {
  struct Tls {
    std::string cert_file;
    std::string key_file;
    std::string client_auth_type = "NoClientCert";
    std::string client_ca_file;
    int min_version = 0;  // OpenSSL protocol version constants; 0: library default (TLS 1.2 here)
    int max_version = 0;
  };
  std::optional<Tls> tls;
  std::shared_ptr<const ServerTlsContext> tls_context;  // built from `tls`: its files are loaded
  std::map<std::string, std::string> basic_auth_users;  // user -> bcrypt hash
  // The YAML file and every file it names, watched for changes.
  std::vector<std::string> files;
};

// Parses and validates the file; unknown keys and bad values are errors naming the key.
// Returns nullopt with `error` set.
std::optional<WebConfig> LoadWebConfig(const std::string& path, std::string& error);

// The web configuration in force, re-read when the file or a certificate, key or CA file it
// names changes, so certificates rotate without a restart (as exporter-toolkit does). A new
// file that fails to load leaves the old configuration in force and is reported once.
// Thread-safe.
class WebConfigWatcher {
 public:
  // `path` empty: no file, plain HTTP without auth, nothing to watch.
  WebConfigWatcher(std::string path, WebConfig initial);

  struct Current {
    std::shared_ptr<const ServerTlsContext> tls;  // null: plain HTTP
    std::shared_ptr<BasicAuth> auth;              // null: no basic auth
  };
  Current current() const;
  enum class Change { kNone, kReloaded, kFailed };
  // Looks at the files; on a change loads them. kFailed sets `error` (the old config stays).
  Change Poll(std::string& error);

 private:
  struct Stamp {
    long long mtime_ns = 0, size = -1, inode = 0;
    bool operator==(const Stamp&) const = default;
  };
  static std::vector<Stamp> Stamps(const std::vector<std::string>& files);

  const std::string path_;
  mutable std::mutex mu_;  // guards everything below
  Current current_;
  std::vector<std::string> files_;
  std::vector<Stamp> stamps_;  // of files_ when last loaded (or last failed)
};

}  // namespace rse::http
