// librse_tls.so: the OpenSSL code behind redis/tls.h, loaded only when TLS is configured
// (redis/tls.h says why). Its entry point for the connection layer, rse_tls_module
// (redis/tls_module.h), and the session every entry point shares (redis/tls_openssl.h).
#include <arpa/inet.h>
#include <netinet/in.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <climits>

#include "redis/tls_module.h"
#include "redis/tls_openssl.h"

namespace rse::redis {

std::string OpenSslErrorText() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    out = buf;  // the last one is the most specific
  }
  return out;
}

SSL_CTX* NewSslContext(const SSL_METHOD* method, std::string& error) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(method);
  if (ctx == nullptr) error = "cannot create a TLS context: " + OpenSslErrorText();
  return ctx;
}

std::unique_ptr<OpenSslSession> NewOpenSslSession(SSL_CTX* ctx, int fd, bool server, std::string& error) {
  ERR_clear_error();
  SSL* ssl = SSL_new(ctx);  // holds a reference on ctx: a rotated server context lives on with it
  if (ssl == nullptr) {
    error = "cannot start TLS: " + OpenSslErrorText();
    return nullptr;
  }
  auto session = std::make_unique<OpenSslSession>(ssl, server);
  if (SSL_set_fd(ssl, fd) != 1) {
    error = "cannot start TLS: " + OpenSslErrorText();
    return nullptr;
  }
  return session;
}

namespace {

int Clamp(std::size_t len) { return len > INT_MAX ? INT_MAX : static_cast<int>(len); }

}  // namespace

TlsSession::Result OpenSslSession::Handshake(std::string& error) {
  ERR_clear_error();
  int r = server_ ? SSL_accept(ssl_) : SSL_connect(ssl_);
  if (r == 1) return Result::kOk;
  int err = SSL_get_error(ssl_, r);
  if (err == SSL_ERROR_WANT_READ) return Result::kWantRead;
  if (err == SSL_ERROR_WANT_WRITE) return Result::kWantWrite;
  error = OpenSslErrorText();
  long verify = SSL_get_verify_result(ssl_);
  if (verify != X509_V_OK)
    error = std::string("certificate verification failed: ") + X509_verify_cert_error_string(verify);
  if (error.empty()) {
    error = err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN
                ? (server_ ? "connection closed during the handshake"
                           : "connection closed during the handshake (not a TLS port?)")
                : "handshake failed";
  }
  return Result::kError;
}

TlsSession::Result OpenSslSession::Read(char* buf, std::size_t len, std::size_t& n, std::string& error) {
  ERR_clear_error();
  int r = SSL_read(ssl_, buf, Clamp(len));
  return Outcome(r, n, error);
}

TlsSession::Result OpenSslSession::Write(const char* data, std::size_t len, std::size_t& n, std::string& error) {
  ERR_clear_error();
  int r = SSL_write(ssl_, data, Clamp(len));
  return Outcome(r, n, error);
}

void OpenSslSession::Shutdown() {
  ERR_clear_error();
  SSL_shutdown(ssl_);
  ERR_clear_error();
}

TlsSession::Result OpenSslSession::Outcome(int r, std::size_t& n, std::string& error) {
  n = 0;
  if (r > 0) {
    n = static_cast<std::size_t>(r);
    return Result::kOk;
  }
  int err = SSL_get_error(ssl_, r);
  if (err == SSL_ERROR_WANT_READ) return Result::kWantRead;
  if (err == SSL_ERROR_WANT_WRITE) return Result::kWantWrite;
  if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)) return Result::kClosed;
  error = OpenSslErrorText();
  return Result::kError;
}

namespace {

class OpenSslContext final : public TlsContext {
 public:
  OpenSslContext(SSL_CTX* ctx, const TlsOptions& options) : TlsContext(options), ctx_(ctx) {}
  ~OpenSslContext() override { SSL_CTX_free(ctx_); }

  std::unique_ptr<TlsSession> NewSession(int fd, const std::string& name, std::string& error) const override {
    auto session = NewOpenSslSession(ctx_, fd, false, error);
    if (!session) return nullptr;
    SSL* ssl = session->ssl();
    in6_addr ip6;
    in_addr ip4;
    const bool is_ip = inet_pton(AF_INET, name.c_str(), &ip4) == 1 || inet_pton(AF_INET6, name.c_str(), &ip6) == 1;
    if (!is_ip) SSL_set_tlsext_host_name(ssl, name.c_str());
    if (!options().insecure_skip_verify) {
      // The certificate must name the node: its IP address, or the host name (or --*.tls-server-name).
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
      int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str()) : SSL_set1_host(ssl, name.c_str());
      if (ok != 1) {
        error = "cannot set the name to verify: " + OpenSslErrorText();
        return nullptr;
      }
    }
    return session;
  }

 private:
  SSL_CTX* ctx_;
};

class OpenSslModule final : public TlsModule {
 public:
  std::unique_ptr<TlsContext> NewClientContext(const TlsOptions& options, std::string& error) const override {
    SSL_CTX* ctx = NewSslContext(TLS_client_method(), error);
    if (ctx == nullptr) return nullptr;
    auto out = std::make_unique<OpenSslContext>(ctx, options);
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (!options.ca_file.empty()) {
      if (SSL_CTX_load_verify_locations(ctx, options.ca_file.c_str(), nullptr) != 1) {
        error = "cannot load CA file " + options.ca_file + ": " + OpenSslErrorText();
        return nullptr;
      }
    } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
      error = "cannot load the system's CA certificates: " + OpenSslErrorText();
      return nullptr;
    }
    if (!options.cert_file.empty() || !options.key_file.empty()) {
      if (options.cert_file.empty() || options.key_file.empty()) {
        error = "a client certificate needs both a certificate file and a key file";
        return nullptr;
      }
      if (SSL_CTX_use_certificate_chain_file(ctx, options.cert_file.c_str()) != 1) {
        error = "cannot load certificate " + options.cert_file + ": " + OpenSslErrorText();
        return nullptr;
      }
      if (SSL_CTX_use_PrivateKey_file(ctx, options.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
          SSL_CTX_check_private_key(ctx) != 1) {
        error =
            "cannot load key " + options.key_file + " (or it does not match the certificate): " + OpenSslErrorText();
        return nullptr;
      }
    }
    SSL_CTX_set_verify(ctx, options.insecure_skip_verify ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, nullptr);
    return out;
  }
};

}  // namespace
}  // namespace rse::redis

extern "C" __attribute__((visibility("default"))) const rse::redis::TlsModule* rse_tls_module(unsigned version) {
  static const rse::redis::OpenSslModule module;
  return version == rse::redis::kTlsModuleVersion ? &module : nullptr;
}
