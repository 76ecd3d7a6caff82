#include "exporter/web_config.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <cctype>
#include <cstring>
#include <memory>
#include <set>

#include <yaml-cpp/yaml.h>

#include "redis/tls.h"

namespace rse {
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

int TlsVersion(const std::string& name, const std::string& key) {
  if (name == "TLS10") return TLS1_VERSION;
  if (name == "TLS11") return TLS1_1_VERSION;
  if (name == "TLS12") return TLS1_2_VERSION;
  if (name == "TLS13") return TLS1_3_VERSION;
  throw Invalid{"tls_server_config." + key + ": '" + name + "' is not one of TLS10, TLS11, TLS12, TLS13"};
}

std::string Sha256(const std::string& s) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(s.data(), s.size(), md, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(md), len);
}

std::string Base64Decode(const std::string& in) {
  std::string out((in.size() / 4 + 1) * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  if (n < 0) return {};
  size_t len = static_cast<size_t>(n);
  // EVP_DecodeBlock counts padding as zero bytes.
  if (in.size() >= 1 && in[in.size() - 1] == '=') --len;
  if (in.size() >= 2 && in[in.size() - 2] == '=') --len;
  out.resize(len);
  return out;
}

bool ConstantTimeEqual(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
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
    if (auto tls = root["tls_server_config"]) {
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
      const bool verifies = t.client_auth_type == "VerifyClientCertIfGiven" ||
                            t.client_auth_type == "RequireAndVerifyClientCert";
      if (verifies && t.client_ca_file.empty()) {
        throw Invalid{"tls_server_config: client_auth_type " + t.client_auth_type + " needs client_ca_file"};
      }
      if (tls["min_version"]) t.min_version = TlsVersion(tls["min_version"].as<std::string>(), "min_version");
      if (tls["max_version"]) t.max_version = TlsVersion(tls["max_version"].as<std::string>(), "max_version");
      cfg.tls = t;
    }
    if (auto users = root["basic_auth_users"]) {
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
        cfg.basic_auth_users[user] = hash;
      }
    }
  } catch (const Invalid& e) {
    error = "--web.config.file: " + e.message;
    return std::nullopt;
  } catch (const YAML::Exception& e) {
    error = "--web.config.file: " + path + ": " + e.what();
    return std::nullopt;
  }
  if (cfg.tls) {
    // Load the files once now so that a bad path fails at startup, not at the first request.
    std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
    if (!ConfigureServerTls(ctx.get(), *cfg.tls, error)) {
      error = "--web.config.file: " + error;
      return std::nullopt;
    }
  }
  return cfg;
}

bool ConfigureServerTls(void* raw, const WebConfig::Tls& tls, std::string& error) {
  auto* ctx = static_cast<SSL_CTX*>(raw);
  if (SSL_CTX_use_certificate_chain_file(ctx, tls.cert_file.c_str()) != 1) {
    error = "cannot load cert_file " + tls.cert_file + ": " + redis::OpenSslError();
    return false;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    error = "cannot load key_file " + tls.key_file + " (or it does not match cert_file): " + redis::OpenSslError();
    return false;
  }
  SSL_CTX_set_min_proto_version(ctx, tls.min_version != 0 ? tls.min_version : TLS1_2_VERSION);
  if (tls.max_version != 0) SSL_CTX_set_max_proto_version(ctx, tls.max_version);
  if (!tls.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, tls.client_ca_file.c_str(), nullptr) != 1) {
      error = "cannot load client_ca_file " + tls.client_ca_file + ": " + redis::OpenSslError();
      return false;
    }
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(tls.client_ca_file.c_str())) {
      SSL_CTX_set_client_CA_list(ctx, names);
    }
  }
  int mode = SSL_VERIFY_NONE;
  // Go's RequestClientCert and RequireAnyClientCert accept any certificate; OpenSSL cannot ask
  // for one without verifying it, so those accept an unverifiable one through the callback.
  const std::string& type = tls.client_auth_type;
  if (type == "RequestClientCert" || type == "VerifyClientCertIfGiven") mode = SSL_VERIFY_PEER;
  if (type == "RequireAnyClientCert" || type == "RequireAndVerifyClientCert") {
    mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  }
  const bool accept_any = type == "RequestClientCert" || type == "RequireAnyClientCert";
  SSL_verify_cb accept_all = [](int, X509_STORE_CTX*) { return 1; };
  SSL_CTX_set_verify(ctx, mode, accept_any ? accept_all : nullptr);
  return true;
}

bool BasicAuth::Check(const char* header) {
  if (header == nullptr) return false;
  std::string value(header);
  if (value.rfind("Basic ", 0) != 0) return false;
  std::string decoded = Base64Decode(value.substr(6));
  auto colon = decoded.find(':');
  if (colon == std::string::npos) return false;
  std::string user = decoded.substr(0, colon);
  std::string password = decoded.substr(colon + 1);
  auto it = users_.find(user);
  if (it == users_.end()) {
    // Spend the same effort as for a known user, so timing does not reveal user names.
    auto data = std::make_unique<crypt_data>();
    crypt_r(password.c_str(), "$2b$10$abcdefghijklmnopqrstuu", data.get());
    return false;
  }
  const std::string digest = Sha256(password);
  {
    std::lock_guard lock(mu_);
    auto v = verified_.find(user);
    if (v != verified_.end() && ConstantTimeEqual(v->second, digest)) return true;
  }
  auto data = std::make_unique<crypt_data>();
  const char* out = crypt_r(password.c_str(), it->second.c_str(), data.get());
  const bool ok = out != nullptr && out[0] != '*' && ConstantTimeEqual(out, it->second);
  OPENSSL_cleanse(password.data(), password.size());
  if (ok) {
    std::lock_guard lock(mu_);
    verified_[user] = digest;
  }
  return ok;
}

}  // namespace rse
