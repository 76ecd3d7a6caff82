#pragma once

// Inside the TLS module only (librse_tls.so links OpenSSL; nothing else may include this): the
// session and error text every entry point of the module shares.

#include <openssl/ssl.h>

#include <cstddef>
#include <memory>
#include <string>

#include "redis/tls.h"

namespace rse::redis {

// The text of OpenSSL's error queue (its last, most specific entry), emptying it.
std::string OpenSslErrorText();

class OpenSslSession;

// A new context for `method` (TLS_client_method(), TLS_server_method()). Null with `error` set.
SSL_CTX* NewSslContext(const SSL_METHOD* method, std::string& error);

// A session on `ctx` over the connected socket `fd`: the client side, or the server side when
// `server`. Null with `error` set.
std::unique_ptr<OpenSslSession> NewOpenSslSession(SSL_CTX* ctx, int fd, bool server, std::string& error);

class OpenSslSession final : public TlsSession {
 public:
  // Takes `ssl`. `server`: the handshake answers a client (SSL_accept) instead of starting one.
  OpenSslSession(SSL* ssl, bool server) : ssl_(ssl), server_(server) {}
  ~OpenSslSession() override { SSL_free(ssl_); }
  OpenSslSession(const OpenSslSession&) = delete;
  OpenSslSession& operator=(const OpenSslSession&) = delete;

  SSL* ssl() const { return ssl_; }

  Result Handshake(std::string& error) override;
  Result Read(char* buf, std::size_t len, std::size_t& n, std::string& error) override;
  Result Write(const char* data, std::size_t len, std::size_t& n, std::string& error) override;
  void Shutdown() override;

 private:
  Result Outcome(int r, std::size_t& n, std::string& error);

  SSL* ssl_;
  const bool server_;
};

}  // namespace rse::redis
