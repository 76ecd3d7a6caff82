// The HTTP front's part of librse_tls.so (http/tls_module.h): server contexts for HTTPS and the
// SHA-256 of basic auth, through the OpenSSL the module links.
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "http/tls_module.h"
#include "redis/tls_openssl.h"

namespace rse::http {
namespace {

using redis::NewSslContext;
using redis::OpenSslErrorText;

class OpenSslServerContext final : public ServerTlsContext {
 public:
  explicit OpenSslServerContext(SSL_CTX* ctx) : ctx_(ctx) {}
  ~OpenSslServerContext() override { SSL_CTX_free(ctx_); }
  OpenSslServerContext(const OpenSslServerContext&) = delete;
  OpenSslServerContext& operator=(const OpenSslServerContext&) = delete;

  std::unique_ptr<redis::TlsSession> NewSession(int fd, std::string& error) const override {
    return redis::NewOpenSslSession(ctx_, fd, true, error);
  }

 private:
  SSL_CTX* ctx_;
};

class OpenSslServerModule final : public ServerTlsModule {
 public:
  std::unique_ptr<ServerTlsContext> NewServerContext(const ServerTlsOptions& tls, std::string& error) const override {
    SSL_CTX* ctx = NewSslContext(TLS_server_method(), error);
    if (ctx == nullptr) return nullptr;
    auto out = std::make_unique<OpenSslServerContext>(ctx);
    // Idle connections keep no read or write buffers: a thousand idle HTTPS clients must cost
    // kilobytes each, not the 34 KiB OpenSSL keeps per session otherwise.
    SSL_CTX_set_mode(ctx,
                     SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_use_certificate_chain_file(ctx, tls.cert_file.c_str()) != 1) {
      error = "cannot load cert_file " + tls.cert_file + ": " + OpenSslErrorText();
      return nullptr;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
      error = "cannot load key_file " + tls.key_file + " (or it does not match cert_file): " + OpenSslErrorText();
      return nullptr;
    }
    if (SSL_CTX_set_min_proto_version(ctx, tls.min_version != 0 ? tls.min_version : TLS1_2_VERSION) != 1 ||
        (tls.max_version != 0 && SSL_CTX_set_max_proto_version(ctx, tls.max_version) != 1)) {
      error = "cannot set the TLS protocol versions: " + OpenSslErrorText();
      return nullptr;
    }
    if (!tls.client_ca_file.empty()) {
      if (SSL_CTX_load_verify_locations(ctx, tls.client_ca_file.c_str(), nullptr) != 1) {
        error = "cannot load client_ca_file " + tls.client_ca_file + ": " + OpenSslErrorText();
        return nullptr;
      }
      if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(tls.client_ca_file.c_str())) {
        SSL_CTX_set_client_CA_list(ctx, names);
      }
    }
    using Auth = ServerTlsOptions::ClientAuth;
    int mode = SSL_VERIFY_NONE;
    if (tls.client_auth == Auth::kRequest || tls.client_auth == Auth::kVerifyIfGiven) mode = SSL_VERIFY_PEER;
    if (tls.client_auth == Auth::kRequireAny || tls.client_auth == Auth::kRequireAndVerify) {
      mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    }
    // Go's RequestClientCert and RequireAnyClientCert accept any certificate; OpenSSL cannot ask
    // for one without verifying it, so those accept an unverifiable one through the callback.
    const bool accept_any = tls.client_auth == Auth::kRequest || tls.client_auth == Auth::kRequireAny;
    SSL_verify_cb accept_all = [](int, X509_STORE_CTX*) { return 1; };
    SSL_CTX_set_verify(ctx, mode, accept_any ? accept_all : nullptr);
    // Session resumption would need a context id shared across rotations; every handshake is full.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 0);
    return out;
  }

  std::string LastError() const override { return OpenSslErrorText(); }

  std::string Sha256(std::string_view data) const override {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1) return {};
    return std::string(reinterpret_cast<const char*>(md), len);
  }
};

}  // namespace
}  // namespace rse::http

extern "C" __attribute__((visibility("default"))) const rse::http::ServerTlsModule* rse_server_tls_module(
    unsigned version) {
  static const rse::http::OpenSslServerModule module;
  return version == rse::http::kServerTlsModuleVersion ? &module : nullptr;
}
